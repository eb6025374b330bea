"""rag.corpus on the real seeds and on every file shape and failure it accepts or refuses."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import random
import time
import unicodedata
from pathlib import Path

import pytest
from support.pipelines import SEED_IDS

from rag.chunking import Chunker
from rag.config import Settings
from rag.corpus import articles_from_bytes, decode_bytes, load_paths, parse_article
from rag.types import Article

BOILERPLATE = [
    "READ NEXT:",
    "Image via Shutterstock",
    "Disclaimer:",
    "3 min read",
    "Getty Images",
    "Source – Middle east monitor",
    "contributed to this report",
    "(File photo)",
    "auto-generated from a syndicated feed",
    "Home / World News",
]


@pytest.fixture(scope="module")
def seed_articles() -> dict[str, Article]:
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    articles, problems = load_paths([seeds], 10_000_000)
    assert problems == []
    return {a.id: a for a in articles}


def _nfc(path: Path) -> str:
    return unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))


# --- the seeds ---------------------------------------------------------------------------


def test_every_seed_parses(seed_articles: dict[str, Article]) -> None:
    assert sorted(seed_articles) == SEED_IDS
    for article in seed_articles.values():
        assert article.body.strip()
        assert article.title.strip()
        assert article.file_name == f"{article.id}.txt"
        assert len(article.content_hash) == 64


def test_seed_metadata(seed_articles: dict[str, Article]) -> None:
    a001 = seed_articles["001_5f7e776c0ce82901"]
    assert a001.source == "Middle East Monitor"
    assert a001.title.startswith("Trump to meet China’s Xi")
    assert not a001.title_is_derived
    assert a001.notes.get("contributor") == "CNBC’s Evelyn Cheng"

    assert seed_articles["002_a70022376a9dca2a"].source == "Benzinga"
    assert seed_articles["003_2910c2332927eb84"].date == dt.date(2025, 10, 24)

    a004 = seed_articles["004_36119deba365cd7b"]
    assert a004.date == dt.date(2025, 10, 29)
    assert a004.source == "Business Standard"
    assert a004.title == "Trump, Xi to meet in South Korea to discuss long-term strategic ties"
    assert not a004.title_is_derived

    # Undated, unattributed text stays that way rather than getting an invented value.
    a000 = seed_articles["000_602e51685fe81370"]
    assert a000.date is None and a000.source is None
    assert a000.title_is_derived


def test_date_header_is_not_in_the_body(seed_articles: dict[str, Article]) -> None:
    for article_id in ("003_2910c2332927eb84", "004_36119deba365cd7b"):
        body = seed_articles[article_id].body
        assert "date 2025-" not in body
    assert seed_articles["003_2910c2332927eb84"].body.startswith("Beijing: China on Friday confirmed")


def test_boilerplate_removed_and_kept_aside(seed_articles: dict[str, Article]) -> None:
    all_removed = "\n".join(line for a in seed_articles.values() for line in a.removed)
    for marker in BOILERPLATE:
        assert marker in all_removed, marker
        for article in seed_articles.values():
            assert marker not in article.body, (marker, article.id)
    removed_002 = seed_articles["002_a70022376a9dca2a"].removed
    assert "READ NEXT:" in removed_002
    assert "Image via Shutterstock" in removed_002
    assert any(line.startswith("Disclaimer:") for line in removed_002)
    assert any("Getty Images" in line for line in seed_articles["001_5f7e776c0ce82901"].removed)
    assert any("3 min read" in line for line in seed_articles["004_36119deba365cd7b"].removed)


def test_reporting_survives_cleaning(seed_articles: dict[str, Article]) -> None:
    # Facts the gold set asks about must not be mistaken for furniture.
    assert "Wi Sung-lac" in seed_articles["001_5f7e776c0ce82901"].body
    assert "Busan" in seed_articles["003_2910c2332927eb84"].body
    assert "Gyeongju" in seed_articles["000_602e51685fe81370"].body
    assert "fentanyl" in seed_articles["002_a70022376a9dca2a"].body


def test_every_body_line_is_verbatim_from_the_file(
    seed_articles: dict[str, Article], seeds_dir: Path
) -> None:
    for article in seed_articles.values():
        raw = _nfc(seeds_dir / f"{article.id}.txt")
        for line in article.body.split("\n"):
            if line:
                assert line in raw, (article.id, line)
        for line in article.removed:
            assert line in raw, (article.id, line)


def test_content_hash_is_stable(seeds_dir: Path, tmp_path: Path) -> None:
    first, _ = load_paths([seeds_dir], 10_000_000)
    second, _ = load_paths([seeds_dir], 10_000_000)
    assert [a.content_hash for a in first] == [a.content_hash for a in second]
    assert len({a.content_hash for a in first}) == len(first)

    # The same text under another name hashes the same; one more sentence does not.
    src = seeds_dir / f"{SEED_IDS[2]}.txt"
    (tmp_path / "copy.txt").write_bytes(src.read_bytes())
    (tmp_path / "edited.txt").write_bytes(src.read_bytes() + b"\nOne more sentence was added.\n")
    by_id = {a.id: a for a in load_paths([tmp_path / "copy.txt", tmp_path / "edited.txt"], 10_000_000)[0]}
    assert by_id["copy"].content_hash == first[2].content_hash
    assert by_id["edited"].content_hash != first[2].content_hash


def test_crlf_and_trailing_spaces_do_not_change_the_hash(seeds_dir: Path) -> None:
    data = (seeds_dir / f"{SEED_IDS[0]}.txt").read_bytes()
    lf = articles_from_bytes(data, "a.txt")[0]
    crlf = articles_from_bytes(data.replace(b"\n", b"  \r\n"), "a.txt")[0]
    assert crlf.body == lf.body
    assert crlf.content_hash == lf.content_hash


# --- other formats -----------------------------------------------------------------------

HTML = """<!doctype html><html><head><title>Page title | Example</title>
<meta property="og:title" content="Xi and Trump meet in Busan">
<meta property="article:published_time" content="2025-10-30T09:00:00Z">
<meta property="og:site_name" content="Example News">
<meta property="og:url" content="https://example.com/busan">
<script>var tracking = "SCRIPT TEXT MUST NOT APPEAR";</script>
<style>.x { color: red }</style></head>
<body><nav>Home | World | Politics</nav>
<h1>Xi and Trump meet in Busan</h1>
<p>The two leaders met on Thursday &amp; talked trade for almost two hours.</p>
<p>They agreed to pause new tariffs for a year.</p>
<footer>Copyright 2025 Example News</footer></body></html>
"""


def test_html_meta_and_visible_text() -> None:
    [article] = articles_from_bytes(HTML.encode(), "busan.html")
    assert article.id == "busan"
    assert article.title == "Xi and Trump meet in Busan"
    assert not article.title_is_derived
    assert article.date == dt.date(2025, 10, 30)
    assert article.source == "Example News"
    assert article.url == "https://example.com/busan"
    assert "talked trade for almost two hours" in article.body
    assert "&" in article.body and "&amp;" not in article.body
    assert "pause new tariffs" in article.body
    for junk in ("SCRIPT TEXT", "tracking", "color: red", "Home | World", "Copyright", "<p>"):
        assert junk not in article.body, junk
    # The <h1> repeating the title is not part of the body.
    assert not article.body.startswith("Xi and Trump meet in Busan")


def test_html_without_meta_uses_title_tag() -> None:
    page = (
        "<html><head><title>Tariff truce extended by a year</title></head>"
        "<body><p>Officials said so.</p></body></html>"
    )
    [article] = articles_from_bytes(page.encode(), "plain.htm")
    assert article.title == "Tariff truce extended by a year"
    assert article.body == "Officials said so."


def test_json_record() -> None:
    record = {
        "id": "story 1/a",
        "title": "Rare earth controls paused",
        "date": "2025-10-31",
        "source": "Wire Service",
        "url": "https://example.com/rare-earths",
        "text": "China paused its rare earth export controls for one year.\nSoybean purchases resume.",
    }
    [article] = articles_from_bytes(json.dumps(record).encode(), "record.json")
    assert article.id == "story-1-a"  # made safe for chunk ids
    assert article.title == "Rare earth controls paused"
    assert article.date == dt.date(2025, 10, 31)
    assert article.source == "Wire Service"
    assert article.url == "https://example.com/rare-earths"
    assert article.body == record["text"]


def test_json_list_gets_one_id_per_record() -> None:
    records = [{"text": "First story about trade talks."}, {"body": "Second story about tariffs."}]
    articles = articles_from_bytes(json.dumps(records).encode(), "batch.json")
    assert [a.id for a in articles] == ["batch-0", "batch-1"]
    assert [a.body for a in articles] == ["First story about trade talks.", "Second story about tariffs."]


def test_jsonl_records() -> None:
    lines = [
        json.dumps({"id": "a1", "title": "Leaders meet in Busan", "date": "2025-10-30", "text": "They met."}),
        "",
        json.dumps({"text": "A record without an id or title.", "source": "Agency"}),
    ]
    articles = articles_from_bytes("\n".join(lines).encode(), "feed.jsonl")
    assert [a.id for a in articles] == ["a1", "feed-2"]
    assert articles[0].title == "Leaders meet in Busan"
    assert articles[0].date == dt.date(2025, 10, 30)
    assert articles[1].source == "Agency"
    assert articles[1].title_is_derived


def test_markdown_with_a_headline_line() -> None:
    text = "Trump and Xi meet in Busan\n\nThe two leaders met on Thursday in Busan.\n\nThey agreed a truce."
    [article] = articles_from_bytes(text.encode(), "story.md")
    assert article.title == "Trump and Xi meet in Busan"
    assert article.body == "The two leaders met on Thursday in Busan.\n\nThey agreed a truce."


def test_markdown_atx_heading_is_the_title() -> None:
    text = "# Trump and Xi meet in Busan\n\nThe two leaders met on **Thursday** in Busan.\n"
    [article] = articles_from_bytes(text.encode(), "story.md")
    assert article.title == "Trump and Xi meet in Busan"
    assert not article.body.startswith("#")


def test_explicit_metadata_wins_over_text() -> None:
    text = "date 2025-01-01 Some report about the summit that took place.\nSource – Other outlet"
    article = parse_article(
        text, article_id="x", title="Given title here", published=dt.date(2025, 10, 30), source="Given"
    )
    assert article.date == dt.date(2025, 10, 30)
    assert article.source == "Given"
    assert article.title == "Given title here"


# --- bad input ---------------------------------------------------------------------------


def _reasons(problems: list) -> dict[str, str]:
    return {Path(p.path).name: p.reason for p in problems}


def test_missing_path_is_reported(tmp_path: Path) -> None:
    articles, problems = load_paths([tmp_path / "nope.txt", tmp_path / "nodir"], 1000)
    assert articles == []
    assert _reasons(problems) == {"nope.txt": "no such file or folder", "nodir": "no such file or folder"}


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\n\t\n", "empty file"),
        ("nul.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file"),
        ("controls.txt", bytes([1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16]) * 50 + b"\xff", "binary file"),
        ("undecodable.txt", b"caf\xe9 \x81\x8d\x8f", "not UTF-8 or Windows-1252"),
        ("furniture.txt", b"READ NEXT:\nImage via Shutterstock\n", "no article text left"),
        ("broken.json", b'{"text": "unterminated', "invalid JSON"),
        ("notext.json", b'{"title": "A title only"}', "no non-empty 'text'"),
        ("scalar.json", b"[1, 2]", "not a JSON object"),
        ("broken.jsonl", b'{"text": "fine"}\n{"text": oops}\n', "invalid JSON on line 2"),
        ("report.pdf", b"%PDF-1.7 ...", "unsupported file type .pdf"),
        ("README", b"no suffix at all", "unsupported file type (none)"),
    ],
)
def test_bad_files_have_clear_reasons(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(data)
    articles, problems = load_paths([tmp_path / name], 10_000_000)
    assert articles == []
    assert len(problems) == 1
    assert problems[0].path == str(tmp_path / name)
    assert reason in problems[0].reason


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_unicode_files_with_a_bom_decode(tmp_path: Path, encoding: str) -> None:
    """A "Unicode" text file saved on Windows (UTF-16 with its BOM) is text, not binary."""
    text = "Trump und Xi trafen sich am Donnerstag in Gyeongju, sagte das Präsidialamt — 100 %."
    data = f"A headline\n\n{text}\n".encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    (tmp_path / "article.txt").write_bytes(data)
    [article], problems = load_paths([tmp_path / "article.txt"], 10_000)
    assert problems == [] and text in article.body


def test_cp1252_file_decodes(tmp_path: Path) -> None:
    text = "Trump’s “big deal” with Xi — worth €1bn, café owners said. Trade resumes."
    (tmp_path / "legacy.txt").write_bytes(text.encode("cp1252"))
    [article], problems = load_paths([tmp_path / "legacy.txt"], 10_000)
    assert problems == []
    assert article.body == text


def test_utf8_bom_is_dropped() -> None:
    assert decode_bytes("\ufeffHello there.".encode()) == "Hello there."


def test_file_over_the_limit_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("The summit went ahead as planned. " * 60)  # ~2 KB
    (tmp_path / "small.txt").write_text("A short report about the summit.")
    articles, problems = load_paths([tmp_path], max_file_bytes=1000)
    assert [a.id for a in articles] == ["small"]
    assert _reasons(problems)["big.txt"].startswith("too large (")
    assert "limit 1,000" in _reasons(problems)["big.txt"]


def test_real_50mb_file_is_refused_quickly_with_default_limit(tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    chunk = b"word " * 200_000  # 1 MB
    with big.open("wb") as f:
        for _ in range(50):
            f.write(chunk)
    started = time.perf_counter()
    articles, problems = load_paths([big], Settings().max_file_bytes)
    assert time.perf_counter() - started < 2
    assert articles == []
    assert "too large (50,000,000 bytes" in problems[0].reason


def test_two_megabyte_line_without_punctuation_loads_and_chunks(tmp_path: Path) -> None:
    # Random (seeded) words: text that repeats with a short period makes chunk offsets
    # ambiguous (see test_chunking), which is not what this test is about.
    rng = random.Random(1234)
    words = ["alpha", "beta", "gamma", "delta", "tariff", "summit", "trade", "talks"]
    line = " ".join(rng.choice(words) for _ in range(330_000))[:2_000_000].strip()
    (tmp_path / "oneline.txt").write_text(line)
    started = time.perf_counter()
    [article], problems = load_paths([tmp_path / "oneline.txt"], 10_000_000)
    assert problems == []
    assert len(article.body) == len(line.strip())
    chunker = Chunker(Settings(data_dir=tmp_path))
    chunks = chunker.chunk(article)
    assert time.perf_counter() - started < 30
    assert len(chunks) > 100
    assert all(article.body[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(article.body)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    # Consecutive chunks touch or overlap: no text falls between them.
    assert all(b.start <= a.end + 1 for a, b in zip(chunks, chunks[1:], strict=False))


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    (tmp_path / "story.txt").write_text("First version of the story about the summit.")
    (tmp_path / "story.md").write_text("Second file with the same stem about tariffs.")
    articles, problems = load_paths([tmp_path], 10_000)
    assert len(articles) == 1
    assert "duplicate article id 'story'" in problems[0].reason


def test_problems_are_named_and_the_rest_loads(tmp_path: Path, seeds_dir: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for seed in seeds_dir.iterdir():
        (mixed / seed.name).write_bytes(seed.read_bytes())
    (mixed / "empty.txt").write_bytes(b"")
    (mixed / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (mixed / "bad.json").write_text("{nope")
    (mixed / ".hidden.txt").write_text("Hidden files are ignored entirely.")
    articles, problems = load_paths([mixed, tmp_path / "missing"], 10_000_000)
    assert sorted(a.id for a in articles) == SEED_IDS
    reasons = _reasons(problems)
    assert set(reasons) == {"empty.txt", "binary.txt", "bad.json", "missing"}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "invalid JSON" in reasons["bad.json"]
