"""rag.chunking: sentence boundaries in news text, exact offsets, bounded size, stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.chunking import Chunker, count_tokens, sentence_spans, split_sentences
from rag.config import Settings
from rag.corpus import load_paths, parse_article
from rag.types import Article

SLACK_TOKENS = 4


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    loaded, problems = load_paths([seeds], 10_000_000)
    assert not problems
    return loaded


def _chunker(tmp_path: Path, **overrides: int) -> Chunker:
    return Chunker(Settings(data_dir=tmp_path, **overrides))


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


# --- sentences ---------------------------------------------------------------------------


def test_abbreviations_and_dates_do_not_end_sentences() -> None:
    text = (
        "U.S. President Donald Trump will meet Xi on Oct. 30 in Busan. "
        "The APEC summit runs from Oct. 31 to Nov. 1. "
        "Mr. Trump said the U.S. and China are close. "
        "Donald J. Trump flies home afterwards!"
    )
    assert _sentences(text) == [
        "U.S. President Donald Trump will meet Xi on Oct. 30 in Busan.",
        "The APEC summit runs from Oct. 31 to Nov. 1.",
        "Mr. Trump said the U.S. and China are close.",
        "Donald J. Trump flies home afterwards!",
    ]


def test_quotes_questions_and_lines() -> None:
    text = "“We have a long meeting scheduled.” Trump said so. Will it work? Maybe.\nA new line is a new one"
    assert _sentences(text) == [
        "“We have a long meeting scheduled.”",
        "Trump said so.",
        "Will it work?",
        "Maybe.",
        "A new line is a new one",
    ]


def test_decimal_numbers_and_lowercase_continuations_stay_whole() -> None:
    text = "Tariffs rose 2.5 per cent. e.g. soybeans were hit. It fell to 10.3 on Nov. 1."
    assert _sentences(text) == [
        "Tariffs rose 2.5 per cent. e.g. soybeans were hit.",
        "It fell to 10.3 on Nov. 1.",
    ]


def test_spans_point_into_the_text(articles: list[Article]) -> None:
    for article in articles:
        body = article.body
        spans = sentence_spans(body)
        assert spans
        previous_end = 0
        for start, end in spans:
            piece = body[start:end]
            assert piece == piece.strip() and piece
            assert start >= previous_end
            previous_end = end
        # Nothing but whitespace lies outside the sentences.
        outside = list(body)
        for start, end in spans:
            outside[start:end] = [""] * (end - start)
        assert "".join(outside).strip() == ""


def test_split_sentences_rejoins_exactly(articles: list[Article]) -> None:
    for article in articles:
        assert "".join(split_sentences(article.body)) == article.body
    assert split_sentences("") == []
    assert split_sentences("   ") == ["   "]


# --- chunks ------------------------------------------------------------------------------


@pytest.mark.parametrize(("chunk_size", "chunk_overlap"), [(160, 32), (64, 8), (512, 0)])
def test_chunks_are_exact_slices_within_budget(
    tmp_path: Path, articles: list[Article], chunk_size: int, chunk_overlap: int
) -> None:
    chunker = _chunker(tmp_path, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    for article in articles:
        chunks = chunker.chunk(article)
        assert chunks
        assert [c.index for c in chunks] == list(range(len(chunks)))
        for c in chunks:
            assert article.body[c.start : c.end] == c.text
            assert c.text.strip() == c.text or c.text.strip()
            assert count_tokens(c.text) <= chunk_size + SLACK_TOKENS, (c.id, count_tokens(c.text))
            assert c.n_chunks == len(chunks)
            assert c.article_id == article.id
            assert (c.title, c.date, c.source, c.file_name) == (
                article.title,
                article.date,
                article.source,
                article.file_name,
            )
        assert chunks[0].start == 0
        assert chunks[-1].end == len(article.body)


def test_every_sentence_lands_in_a_chunk(tmp_path: Path, articles: list[Article]) -> None:
    chunker = _chunker(tmp_path)
    for article in articles:
        chunks = chunker.chunk(article)
        for start, end in sentence_spans(article.body):
            assert any(c.start <= start and end <= c.end for c in chunks), article.body[start:end]


def test_chunks_break_at_sentence_ends(tmp_path: Path, articles: list[Article]) -> None:
    # Every seed sentence fits in 160 tokens, so no chunk needs to cut one in half.
    chunker = _chunker(tmp_path, chunk_size=160, chunk_overlap=0)
    ends = {e for a in articles for _, e in sentence_spans(a.body)}
    for article in articles:
        for c in chunker.chunk(article)[:-1]:
            stripped_end = c.start + len(c.text.rstrip())
            assert stripped_end in ends, c.text[-60:]


def test_ids_are_deterministic(tmp_path: Path, articles: list[Article]) -> None:
    first = [c.id for a in articles for c in _chunker(tmp_path).chunk(a)]
    second = [c.id for a in articles for c in _chunker(tmp_path).chunk(a)]
    assert first == second
    assert len(set(first)) == len(first)
    article = articles[0]
    version = _chunker(tmp_path).version(article)
    assert first[0] == f"{article.id}#{version}-0000"


def test_chunk_settings_change_ids(tmp_path: Path, articles: list[Article]) -> None:
    article = articles[1]
    base = {c.id for c in _chunker(tmp_path).chunk(article)}
    other_size = {c.id for c in _chunker(tmp_path, chunk_size=200).chunk(article)}
    other_overlap = {c.id for c in _chunker(tmp_path, chunk_overlap=16).chunk(article)}
    assert base.isdisjoint(other_size)
    assert base.isdisjoint(other_overlap)


def test_content_change_changes_version(tmp_path: Path, articles: list[Article]) -> None:
    chunker = _chunker(tmp_path)
    article = articles[2]
    edited = parse_article(article.body + "\nOne more sentence was added.", article_id=article.id)
    assert chunker.version(edited) != chunker.version(article)
    same = parse_article(article.body, article_id=article.id, title=article.title, source=article.source)
    assert chunker.version(same) == chunker.version(article)


def test_overlap_must_be_smaller_than_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        Settings(data_dir=tmp_path, chunk_size=64, chunk_overlap=64)


def test_one_long_sentence_is_split_within_budget(tmp_path: Path) -> None:
    body = "The delegation discussed " + ", ".join(f"item number {i} on the agenda" for i in range(400)) + "."
    article = parse_article(body, article_id="long")
    chunks = _chunker(tmp_path).chunk(article)
    assert len(chunks) > 5
    assert all(article.body[c.start : c.end] == c.text for c in chunks)
    assert all(count_tokens(c.text) <= 160 + SLACK_TOKENS for c in chunks)
    assert chunks[-1].end == len(article.body)
