"""The prompt is a pure function of the passages and the question: nothing in it depends
on the day it is built, so a greedy answer (and every test and gate on it) is the same
whatever the calendar says."""

from __future__ import annotations

import datetime as dt
import re

from rag.prompts import DATES_FOR_COUNT, INSIST, build_messages
from rag.types import Context, Passage, Span, Turn


def _context(date: dt.date | None) -> Context:
    text = "White House press secretary Karoline Leavitt told reporters Thursday that Trump will meet Xi."
    passage = Passage(
        n=1,
        article_id="a",
        title="t",
        date=date,
        source="Outlet",
        text=text,
        start=0,
        end=len(text),
        relevance=0.8,
        sentences=[Span(start=0, end=len(text), text=text)],
    )
    return Context(question="Who confirmed the meeting?", passages=[passage], best_relevance=0.8)


def _prompt_text(context: Context, history: list[Turn] | None = None) -> str:
    return "\n".join(m["content"] for m in build_messages(context, history))


def test_undated_sources_give_a_prompt_without_any_date() -> None:
    text = _prompt_text(_context(None))
    assert not re.search(r"\b(19|20)\d\d\b", text), text
    assert str(dt.date.today().year) not in text


def test_only_the_article_date_appears_and_relative_days_are_resolved_against_it() -> None:
    text = _prompt_text(_context(dt.date(2025, 10, 24)))
    years = set(re.findall(r"\b(?:19|20)\d\d\b", text))
    assert years == {"2025"}, text
    assert "Thursday (Oct 23, 2025)" in text


def test_same_inputs_same_prompt() -> None:
    history = [
        Turn(role="user", content="Where will they meet?"),
        Turn(role="assistant", content="Busan [1]."),
    ]
    assert build_messages(_context(None), history) == build_messages(_context(None), history)


def test_earlier_question_only_when_the_follow_up_needed_it() -> None:
    history = [
        Turn(role="user", content="Where will they meet?"),
        Turn(role="assistant", content="Busan [1]."),
    ]
    standalone = _context(None).model_copy(
        update={
            "question": "And when?",
            "standalone_question": "And when? (follow-up to: Where will they meet?)",
        }
    )
    text = _prompt_text(standalone, history)
    assert "Earlier question (context only, already answered): Where will they meet?" in text
    assert text.rstrip().endswith("Question: And when?\nAnswer:")
    self_contained = _context(None).model_copy(update={"standalone_question": "Who confirmed the meeting?"})
    assert "Where will they meet" not in _prompt_text(self_contained, history)


def test_weekdays_shown_only_when_the_question_asks_for_one() -> None:
    text = "The summit is scheduled for October 31 to November 1."
    context = _context(dt.date(2025, 10, 24))
    passage = context.passages[0].model_copy(
        update={"text": text, "sentences": [Span(start=0, end=len(text), text=text)]}
    )
    asks = context.model_copy(
        update={"passages": [passage], "question": "On what day of the week does it open?"}
    )
    assert "October 31 (Friday)" in _prompt_text(asks)
    plain = asks.model_copy(update={"question": "When does it open?"})
    assert "(Friday)" not in _prompt_text(plain)


def test_insisting_and_counting_days_only_add_words_after_the_question() -> None:
    """Both notes go after the question, so a second ask shares the first's prompt up to
    there (a local runtime's prompt cache keeps it), and other questions get neither."""
    plain = _context(dt.date(2025, 10, 24))
    asked, again = (build_messages(plain, insist=i)[1]["content"] for i in (False, True))
    assert INSIST not in asked and DATES_FOR_COUNT not in asked
    assert again.startswith(asked.removesuffix("Answer:")) and again.endswith(f"{INSIST}\nAnswer:")
    counting = plain.model_copy(update={"question": "How many days after the briefing is the meeting?"})
    assert f"{counting.question}\n{DATES_FOR_COUNT}\nAnswer:" in build_messages(counting)[1]["content"]
