"""The context stage: which sentences reach the prompt, with the real ONNX embedder."""

from __future__ import annotations

import datetime as dt

import pytest
from support.chunks import hit

from rag.chunking import count_tokens
from rag.config import Settings
from rag.context import ContextBuilder, sub_questions
from rag.embedding import CachedEmbedder, build_embedder
from rag.text import content_terms, lexical_tokens


@pytest.fixture(scope="module")
def builder() -> ContextBuilder:
    settings = Settings(llm_backend="extractive")
    return ContextBuilder(settings, CachedEmbedder(build_embedder(settings)))


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "Who confirmed the meeting, and when will the leaders meet?",
            ["Who confirmed the meeting", "when will the leaders meet"],
        ),
        # A day count: one part per event, asked as "when" so that dated sentences score up.
        (
            "How many days separate the tariff deadline from the leaders' meeting?",
            ["When was the tariff deadline?", "When was the leaders' meeting?"],
        ),
        ("Where will the leaders meet?", []),
    ],
)
def test_sub_questions(question: str, parts: list[str]) -> None:
    assert sub_questions(question) == parts


def test_each_event_of_a_day_count_brings_its_dated_sentence(builder: ContextBuilder) -> None:
    """Both events must be dated in the prompt, however the pool ranks them for the
    question as a whole."""
    hits = [
        hit(
            "a",
            "The leaders' meeting drew attention from markets. Analysts expect the meeting to be long.",
            0,
        ),
        hit("b", "The leaders will hold their meeting in Porto on Oct. 30.", 1),
        hit("c", "The tariff deadline is set for Nov. 1, the White House said.", 2),
    ]
    context = builder.build("How many days separate the tariff deadline from the leaders' meeting?", hits, 64)
    text = " ".join(p.text for p in context.passages)
    assert "Oct. 30" in text and "Nov. 1" in text


def test_the_context_records_the_latest_date_retrieval_read(builder: ContextBuilder) -> None:
    """An undated passage's "since 2019" counts to the newest article retrieval read."""
    older = hit("a", "The two mayors last met in 2019 in Porto.", 0)
    newer = hit("b", "Ana Costa opened the Lisbon fair.", 1)
    newer = newer.model_copy(update={"chunk": newer.chunk.model_copy(update={"date": dt.date(2025, 11, 3)})})
    undated = older.model_copy(update={"chunk": older.chunk.model_copy(update={"date": None})})
    context = builder.build("When did the two mayors last meet?", [undated, newer])
    assert context.reported_on == dt.date(2025, 11, 3)
    assert builder.build("When did the two mayors last meet?", [undated]).reported_on is None


def test_a_part_pointing_back_is_read_with_the_names_the_part_before_it_finds(builder: ContextBuilder) -> None:
    """ "… and what did that official say?": "that official" is whoever the first part's
    best sentence names, so the sentence quoting her ("Costa called …") answers the second
    part, not the one that only shares its words ("the levy was trying to curb …")."""
    hits = [
        hit("a", "Finance Minister Ana Costa will meet Spain's trade minister in Porto this week to prepare the summit.", 0),
        hit("b", "Officials in Lisbon said the levy on Spanish wine was meant to protect local producers.", 1),
        hit("c", "Costa called the move an attempt to squeeze Portuguese farms out of the market.", 2),
        hit("d", "The levy was trying to curb imports, trade groups in Braga said on Monday.", 3),
    ]
    question = (
        "Which Portuguese official is meeting Spain's trade minister in Porto, "
        "and what did that official say the levy was trying to do?"
    )
    sentences = [s.text for p in builder.build(question, hits, 45).passages for s in p.sentences]
    assert any(s.startswith("Costa called") for s in sentences)
    assert not any(s.startswith("The levy was trying") for s in sentences)


def test_a_rival_that_repeats_a_chosen_sentence_is_not_added_twice(builder: ContextBuilder) -> None:
    """The other side of a disagreement comes in past the budget, but told twice by one
    outlet (headline and body) it is one side: the tokens go to evidence, not repeats."""
    hits = [
        hit("a", "The APEC summit takes place in the city of Porto on Oct. 31.", 0),
        hit(
            "b",
            "The APEC summit takes place in the city of Lisbon. "
            "The APEC summit takes place in the city of Lisbon, officials said.",
            1,
        ),
    ]
    context = builder.build("Which city hosts the APEC summit on Oct. 31?", hits, 10)  # room for one sentence
    sentences = [s.text for p in context.passages for s in p.sentences]
    assert any("Porto" in s for s in sentences)
    assert sum("Lisbon" in s for s in sentences) == 1


def test_the_context_keeps_what_retrieval_read_of_each_article(builder: ContextBuilder) -> None:
    """Past the budget's few sentences, each article's other pooled sentences stay on the
    context (in order) for the conflict check: "in Portugal" in one sentence and "in Porto"
    in another of one article is a country and its city."""
    hits = [
        hit("a", "The envoys meet in Porto on Oct. 31. Portugal hosts the talks for the first time.", 0),
        hit("b", "The envoys meet in Lisbon, officials said.", 1),
    ]
    context = builder.build("Where do the envoys meet?", hits, 10)  # room for one sentence
    assert len([s for p in context.passages for s in p.sentences]) < 3
    assert context.article_texts == {
        "a": "The envoys meet in Porto on Oct. 31. Portugal hosts the talks for the first time.",
        "b": "The envoys meet in Lisbon, officials said.",
    }


def test_a_day_count_seeds_a_different_dated_sentence_for_each_event(builder: ContextBuilder) -> None:
    """Each event gets a sentence of its own, and one that names a day: the sentence that
    matches "when is she meeting the mayor" best names none, and with it in the prompt
    instead the meeting cannot be dated."""
    hits = [
        hit(
            "a",
            "Officials on Friday confirmed the envoy's trip to Porto, during which she is expected to meet "
            "the mayor to discuss the harbour, the fishing quotas and the new bridge.",
            0,
        ),
        hit("b", "When she is meeting the mayor, the envoy will raise the harbour.", 1),
        hit("c", "The council set Oct. 30 for talks with him.", 5),
    ]
    question = "How many days after officials confirmed the envoy's trip is she meeting the mayor?"
    first = builder.build(question, hits, 64).passages[0].text
    context = builder.build(question, hits, count_tokens(first) + 14)
    text = " ".join(p.text for p in context.passages)
    assert "Friday" in text and "Oct. 30" in text


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("expires Nov. 10", "expires November 10"),
        ("met in Sept. last year", "met in September last year"),
        ("a 20 per cent levy", "a 20% levy"),
        ("a 20 percent levy", "a 20% levy"),
    ],
)
def test_one_thing_written_two_ways_is_one_set_of_words(one: str, other: str) -> None:
    """Sentence scores and BM25 read words through the same spelling: a question with
    "November" matches a sentence with "Nov." as well as one with "November"."""
    assert content_terms(one) == content_terms(other)
    assert list(lexical_tokens([one]).vocab) == list(lexical_tokens([other]).vocab)


def test_a_name_like_a_month_abbreviation_stays_a_name() -> None:
    assert "jan" in content_terms("Jan Kowalski said so")
    assert content_terms("3.5 per cent") == content_terms("3.5%")


def test_a_city_question_brings_a_sentence_naming_a_city(builder: ContextBuilder) -> None:
    """The sentence matching "which city will the ministers hold their talks in?" best
    says only "in Portugal"; the ones naming the city come in even past the budget, and
    the place where a report was given ("told reporters in Madrid") is no answer."""
    hits = [
        hit(
            "a",
            "The two ministers will hold their talks in Portugal next week, officials confirmed. "
            "Lopes told reporters in Madrid that the talks would be long.",
            0,
        ),
        hit("b", "The ministers hold their talks in the coastal city of Porto, before the summit in Braga.", 1),
    ]
    question = "Which city will the two ministers hold their talks in?"
    first = builder.build(question, hits[:1], 64).passages[0].sentences[0].text
    assert "Portugal" in first
    context = builder.build(question, hits, count_tokens(first))  # room for that one sentence
    text = " ".join(p.text for p in context.passages)
    assert "Porto" in text and "Madrid" not in text
    # Asked where, not which city, the country answers: nothing is added.
    context = builder.build("Where will the two ministers hold their talks?", hits, count_tokens(first))
    assert "Porto" not in " ".join(p.text for p in context.passages)
