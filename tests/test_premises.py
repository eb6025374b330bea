"""A question that presupposes an event the sources never report ("Why did she cancel …?")
is corrected with what the sources say happened, and only then."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.citations import Verifier
from rag.config import Settings
from rag.embedding import CachedEmbedder, build_embedder
from rag.premises import EVIDENCE_MIN_SCORE, date_premise, event_premise, reason_only
from rag.types import Context, Passage, Span

VISIT = "Ana Costa will visit Lisbon on Friday for the port talks, her office said."
SUMMIT = "The Porto summit opens on Monday as planned, with Rui Lopes in the chair."


def _passage(n: int, *sentences: str, score: float = 0.8) -> Passage:
    text = " ".join(sentences)
    spans, at = [], 0
    for sentence in sentences:
        spans.append(Span(start=at, end=at + len(sentence), text=sentence, score=score))
        at += len(sentence) + 1
    return Passage(
        n=n, article_id=f"a{n}", title="T", text=text, start=0, end=len(text), relevance=0.7, sentences=spans
    )


@pytest.mark.parametrize(
    ("question", "correction"),
    [
        (
            "Why did Ana Costa cancel her visit to Lisbon?",
            f"Ana Costa did not cancel her visit to Lisbon, as far as the articles report: {VISIT}",
        ),
        (
            "Why is Ana Costa skipping the Lisbon port talks?",
            f"Ana Costa is not skipping the Lisbon port talks, as far as the articles report: {VISIT}",
        ),
        (
            "Why was the Porto summit postponed?",
            f"The Porto summit was not postponed, as far as the articles report: {SUMMIT}",
        ),
        (
            "Why did Portugal's prime minister turn down the invitation to Lisbon?",
            None,  # the sentence never makes her Portugal's anything: not about the same things
        ),
    ],
)
def test_a_presupposed_undoing_is_corrected_with_what_happened(question: str, correction: str | None) -> None:
    found = event_premise(question, [_passage(1, VISIT), _passage(2, SUMMIT)])
    assert (found.description if found else None) == correction
    if found:
        assert found.citations == [1 if "Costa" in question else 2]


def test_an_undoing_the_sources_report_in_other_words_is_left_to_the_model() -> None:
    """'called off' may be the cancellation asked about: the premise may be true."""
    threatened = _passage(2, "Ana Costa had threatened to call off the Lisbon visit over the strike.")
    asked = "Why did Ana Costa cancel her visit to Lisbon?"
    assert event_premise(asked, [_passage(1, VISIT), threatened]) is None
    # Also when that sentence is only in the rest of the article, not among the passages.
    assert event_premise(asked, [_passage(1, VISIT)], {"a2": threatened.text}) is None
    # "She" is who the sentence before names.
    hinted = {"a2": "Ana Costa criticised the port union. She even hinted at calling off the visit."}
    assert event_premise(asked, [_passage(1, VISIT)], hinted) is None
    # A denial is another kind of event: it says nothing about staying away.
    denied = _passage(2, "Ana Costa denied reports about the Lisbon port talks.")
    assert event_premise("Why is Ana Costa skipping the Lisbon port talks?", [_passage(1, VISIT), denied])


@pytest.mark.parametrize(
    "question",
    [
        "Why did Ana Costa cancel her trip to Madrid?",  # no sentence names Madrid: not covered
        "Why did Ana Costa visit Lisbon?",  # presupposes nothing undone
        "Why didn't Ana Costa visit Lisbon?",  # a negated question is another shape
    ],
)
def test_questions_the_sources_do_not_cover_or_that_presuppose_no_undoing(question: str) -> None:
    assert event_premise(question, [_passage(1, VISIT)]) is None


def test_a_sentence_with_a_negation_of_its_own_or_a_weak_match_is_no_evidence() -> None:
    unsure = _passage(1, "Ana Costa may not visit Lisbon for the port talks on Friday.")
    assert event_premise("Why did Ana Costa cancel her visit to Lisbon?", [unsure]) is None
    weak = _passage(1, VISIT, score=EVIDENCE_MIN_SCORE - 0.01)
    assert event_premise("Why did Ana Costa cancel her visit to Lisbon?", [weak]) is None


@pytest.mark.parametrize(
    ("question", "correction"),
    [
        ("Did Ana Costa cancel her visit to Lisbon?", "No, Ana Costa did not cancel her visit to Lisbon, as far"),
        ("Is it true that the Porto summit was postponed?", "No, the Porto summit was not postponed, as far"),
        ("Has the Porto summit been postponed?", "No, the Porto summit has not been postponed, as far"),
        (
            "Is it true that Ana Costa called off her visit to Lisbon?",
            "No, the articles don't report that Ana Costa called off her visit to Lisbon; they say: Ana",
        ),
        # A clause as subject: what someone said about an undoing, not the undoing.
        ("Why did Rui Lopes say the Porto summit was postponed?", None),
        ("Was it postponed?", None),  # nothing to find it by
    ],
)
def test_asked_whether_an_undoing_happened(question: str, correction: str | None) -> None:
    found = event_premise(question, [_passage(1, VISIT), _passage(2, SUMMIT)])
    assert (found.description[: len(correction)] if found else None) == correction


def test_the_verifier_puts_the_correction_first_and_drops_drafts_repeating_the_premise() -> None:
    verifier = Verifier(CachedEmbedder(build_embedder(Settings(llm_backend="extractive"))))
    context = Context(
        question="Why did Ana Costa cancel her visit to Lisbon?",
        passages=[_passage(1, VISIT), _passage(2, SUMMIT)],
        best_relevance=0.7,
    )
    abstained = verifier.verify("I don't know based on the provided sources.", context)
    assert abstained.text.startswith("Ana Costa did not cancel her visit to Lisbon, as far as the articles")
    assert abstained.text.endswith("her office said [1].")
    repeated = verifier.verify("Ana Costa cancelled her visit to Lisbon because of the strike [1].", context)
    assert "because of the strike" not in repeated.text
    assert repeated.text == abstained.text


def test_an_undoing_of_another_named_thing_does_not_count() -> None:
    """Skipping the Porto summit in 2019 is not skipping the Lisbon summit now; nor is the
    best evidence a sentence about some of the question's words only."""
    passages = [
        _passage(1, "Ana Costa skipped the Porto summit in 2019.", "Rui Lopes will chair the Lisbon summit."),
        _passage(2, "Ana Costa will attend the Lisbon summit on Friday, Rui Lopes said.", score=0.65),
    ]
    found = event_premise("Why is Ana Costa skipping the Lisbon summit?", passages)
    assert found is not None and found.citations == [2]
    assert found.description.endswith("report: Ana Costa will attend the Lisbon summit on Friday, Rui Lopes said.")


def test_a_capital_names_its_country() -> None:
    """News writes a government by its capital: "Lisbon's invitation" is Portugal's."""
    invited = _passage(1, "At the invitation of Portugal's prime minister, Rui Lopes will attend the Porto summit.")
    found = event_premise("Did Rui Lopes turn down Lisbon's invitation to the summit?", [invited])
    assert found is not None and found.description.startswith("No, Rui Lopes did not turn down Lisbon's")
    # A capital is still no other country's.
    assert event_premise("Did Rui Lopes turn down Madrid's invitation to the summit?", [invited]) is None


def test_a_restraint_near_what_was_asked_may_be_the_undoing() -> None:
    """"Restrictions on exports of cork" may be the halt asked about; "tech curbs" in a
    sentence that also names the visit are not its cancellation."""
    restricted = _passage(1, "Lisbon in May widened its restrictions on exports of cork and wine.")
    exported = _passage(2, "Lisbon exported more cork to Porto in June than a year before.")
    assert event_premise("Why did Lisbon halt cork exports?", [exported]) is not None
    assert event_premise("Why did Lisbon halt cork exports?", [restricted, exported]) is None
    curbs = _passage(2, "Ana Costa's visit to Lisbon comes as Madrid weighs easing tech curbs on Porto.")
    found = event_premise("Why did Ana Costa cancel her visit to Lisbon?", [_passage(1, VISIT), curbs])
    assert found is not None and found.citations == [1]


def test_pronouns_are_not_what_a_question_is_about() -> None:
    """"her stop in Lisbon" and "her meeting with the union" share only "her"."""
    stop = _passage(1, "Ana Costa will stop in Lisbon on Friday on her way to the port talks.")
    union = _passage(2, "Ana Costa cancelled her meeting with the dockers' union last week.")
    found = event_premise("Why did Ana Costa cancel her stop in Lisbon?", [stop, union])
    assert found is not None and found.citations == [1]


# --- a date the sources give otherwise ----------------------------------------------------------
LANDING = "Ana Costa will arrive in Lisbon on Sunday for the port talks, her office said."


def _dated(n: int, *sentences: str, score: float = 0.8) -> Passage:
    """Published on Wednesday, June 4, 2025: "on Sunday" ahead is June 8."""
    return _passage(n, *sentences, score=score).model_copy(update={"date": dt.date(2025, 6, 4)})


def test_a_weekday_the_sources_date_otherwise_is_corrected() -> None:
    asked = "What did Ana Costa say after arriving in Lisbon on Saturday?"
    found = date_premise(asked, [_dated(1, LANDING)])
    assert found is not None
    assert found.description == "Correction: Sunday (Jun 8, 2025), not Saturday."
    assert found.citations == [1]


@pytest.mark.parametrize(
    "other",
    [
        "Rui Lopes met the mayor of Porto on Saturday.",  # the weekday is named: the question may mean it
        "Ana Costa will arrive in Lisbon on June 7, her office said.",  # a Saturday, for the same event
    ],
)
def test_a_weekday_the_sources_give_is_not_corrected(other: str) -> None:
    asked = "What did Ana Costa say after arriving in Lisbon on Saturday?"
    assert date_premise(asked, [_dated(1, LANDING), _dated(2, other)]) is None


def test_a_date_of_another_event_on_that_weekday_does_not_count() -> None:
    """June 7 is a Saturday, but it dates a fair, not her arrival: the arrival is still Sunday."""
    fair = "The Porto book fair closes on June 7."
    asked = "What did Ana Costa say after arriving in Lisbon on Saturday?"
    found = date_premise(asked, [_dated(1, LANDING), _dated(2, fair)])
    assert found is not None and found.values == ["Saturday", "Sunday (Jun 8, 2025)"]


def test_a_month_the_sources_date_otherwise_is_corrected_unless_they_name_it() -> None:
    ends = "Ana Costa's visit to Lisbon ends on Aug. 20, her office said."
    asked = "Since Ana Costa's visit to Lisbon ended in March, who replaced her?"
    found = date_premise(asked, [_dated(1, ends)])
    assert found is not None and found.description == "Correction: Aug. 20, not March."
    # An article published in March, or a date in March anywhere, gives that month.
    assert date_premise(asked, [_dated(1, ends), _dated(2, "Rui Lopes took office on March 3.")]) is None
    # A month the question only dates a day by ("March 5") is not a month premise.
    assert date_premise("What did Ana Costa say on March 5 in Lisbon?", [_dated(1, ends)]) is None


def test_a_date_premise_needs_a_sentence_about_the_same_event() -> None:
    asked = "What did Ana Costa say after arriving in Lisbon on Saturday?"
    # Another person's arrival, a weak match, or an undated article: no correction.
    assert date_premise(asked, [_dated(1, "Rui Lopes will arrive in Porto on Sunday.")]) is None
    assert date_premise(asked, [_dated(1, LANDING, score=EVIDENCE_MIN_SCORE - 0.1)]) is None
    assert date_premise(asked, [_passage(1, LANDING)]) is None
    # A question naming nobody needs two words of the event around the date.
    unnamed = "What happened after the visitors arrived on Saturday?"
    assert date_premise(unnamed, [_dated(1, "The delegates will arrive on Sunday, officials said.")]) is None
    both = "What did the delegates say after they arrived for the port talks on Saturday?"
    found = date_premise(both, [_dated(1, "The delegates will arrive for the port talks on Sunday.")])
    assert found is not None and found.values[1] == "Sunday (Jun 8, 2025)"


def test_the_verifier_puts_a_date_correction_first() -> None:
    verifier = Verifier(CachedEmbedder(build_embedder(Settings(llm_backend="extractive"))))
    context = Context(
        question="What did Ana Costa say after arriving in Lisbon on Saturday?",
        passages=[_dated(1, LANDING)],
        best_relevance=0.7,
    )
    answer = verifier.verify("I don't know based on the provided sources.", context)
    assert answer.text == "Correction: Sunday (Jun 8, 2025), not Saturday [1]."


def test_an_event_told_in_another_tense_or_named_first_is_the_same_event() -> None:
    """"left" and "leave" are one verb to the reader, and a sentence may open with the name."""
    leaving = "Costa will leave Lisbon on Friday for the port talks, her office said."
    asked = "When Costa left Lisbon on Saturday, where was she heading first?"
    found = date_premise(asked, [_dated(1, leaving)])
    assert found is not None and found.values == ["Saturday", "Friday (Jun 6, 2025)"]


def test_a_month_a_source_names_alone_corrects_a_month_premise() -> None:
    spoke = "Ana Costa and Rui Lopes last spoke by phone in September, when they discussed the port."
    found = date_premise("What did Ana Costa and Rui Lopes discuss on their phone call in August?", [_dated(1, spoke)])
    assert found is not None and found.description == "Correction: September, not August."


# --- an answer to "why" without the question restated ------------------------------------------
@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        (  # the question restated, then the reason
            "Why did Ana Costa cancel the visit to Porto?",
            "Ana Costa cancelled the visit to Porto because talks had stalled.",
            "Because talks had stalled.",
        ),
        (  # a false premise restated as fact, then the sources' words against it
            "Why did Ana Costa sound so gloomy about the Porto talks?",
            "Ana Costa sounded gloomy about the Porto talks because she voiced optimism about a deal.",
            "Because she voiced optimism about a deal.",
        ),
        (  # the role asked by, named: one new word
            "Why did Portugal's foreign minister fly to Porto?",
            "Rui Lopes flew to Porto in order to open the summit.",
            "In order to open the summit.",
        ),
        (  # another name in the question's name's place: a correction, kept
            "Why did the two leaders pick Lisbon for their talks?",
            "The two leaders picked Porto for their talks because the summit is held there.",
            None,
        ),
        (
            "Why is Ana Costa hosting the summit in Porto?",
            "Rui Lopes is hosting the summit in Porto because he chairs it this year.",
            None,
        ),
        (  # a number of its own corrects the question's
            "Why did Lisbon impose a 50% levy on imports?",
            "Lisbon imposed a 20% levy on imports because of a budget gap.",
            None,
        ),
        (  # a negation of its own
            "Why did Ana Costa cancel the visit to Porto?",
            "Ana Costa did not cancel the visit to Porto because it went ahead.",
            None,
        ),
        (  # more than an echo: what happened before the reason is news
            "Why did Ana Costa cancel the visit to Porto?",
            "Ana Costa cancelled the visit to Porto after a row with her cabinet because talks had stalled.",
            None,
        ),
        (  # pointing at the sources is no reason
            "Why did Ana Costa cancel the visit to Porto?",
            "Ana Costa cancelled the visit to Porto based on the sources provided.",
            None,
        ),
        (  # not asked why
            "What did Ana Costa cancel?",
            "Ana Costa cancelled the visit to Porto because talks had stalled.",
            None,
        ),
        (  # no reason given
            "Why did Ana Costa cancel the visit to Porto?",
            "Ana Costa cancelled the visit to Porto on Friday.",
            None,
        ),
    ],
)
def test_an_answer_to_why_gives_the_reason_without_restating_the_question(
    question: str, sentence: str, answer: str | None
) -> None:
    assert reason_only(sentence, question) == (answer or sentence)


def test_the_verifier_answers_why_with_the_reason_and_never_the_premise() -> None:
    """No source brings a minister along: the restated premise goes, the reason stays."""
    verifier = Verifier(CachedEmbedder(build_embedder(Settings(llm_backend="extractive"))))
    context = Context(
        question="Why did Ana Costa bring her trade minister to the Lisbon port talks?",
        passages=[_passage(1, VISIT), _passage(2, SUMMIT)],
        best_relevance=0.7,
    )
    draft = "Ana Costa brought her trade minister to the Lisbon port talks because she will visit Lisbon on Friday [1]."
    answer = verifier.verify(draft, context)
    assert answer.text == "Because she will visit Lisbon on Friday [1]."
