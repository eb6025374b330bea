from __future__ import annotations

import datetime as dt

import pytest

from rag.dates import (
    annotate_relative_dates,
    annotate_weekdays,
    date_weekdays,
    dated_positions,
    dates_in,
    day_count,
    months_named,
    point_dates,
    resolve_weekday,
    weekdays_named,
)

WED = dt.date(2025, 10, 29)
FRI = dt.date(2025, 10, 24)


def test_future_weekday_resolves_forward() -> None:
    assert resolve_weekday("Thursday", WED, future=True) == dt.date(2025, 10, 30)


def test_past_weekday_resolves_backward_and_same_day_is_today() -> None:
    assert resolve_weekday("Tuesday", WED, future=False) == dt.date(2025, 10, 28)
    assert resolve_weekday("Wednesday", WED, future=False) == WED


def test_annotation_uses_local_tense() -> None:
    text = "They will meet on Thursday, the ministry announced on Wednesday."
    assert annotate_relative_dates(text, WED) == (
        "They will meet on Thursday (Oct 30, 2025), the ministry announced on Wednesday (Oct 29, 2025)."
    )
    assert "Oct 22" in annotate_relative_dates("Trump said on Wednesday he hoped for a deal.", FRI)
    assert "week of Oct 27" in annotate_relative_dates("They meet next week.", FRI)


def test_undated_text_is_unchanged() -> None:
    assert annotate_relative_dates("on Thursday", None) == "on Thursday"


def test_weekdays_of_absolute_dates_in_the_publication_year_outside_annotations() -> None:
    published = dt.date(2025, 10, 24)
    text = "The summit runs from Oct. 31 to 1 November (Oct 30, 2025) since May 2019."
    assert annotate_weekdays(text, published) == (
        "The summit runs from Oct. 31 (Friday) to 1 November (Saturday) (Oct 30, 2025) since May 2019."
    )
    assert annotate_weekdays("on Jan. 5", dt.date(2025, 12, 20)) == "on Jan. 5 (Monday)"  # next year's
    assert annotate_weekdays("on Oct. 31", None) == "on Oct. 31"


def test_dates_in_places_month_days_in_the_publication_year() -> None:
    published = dt.date(2025, 10, 24)
    text = "Talks on Oct. 30 (Thursday) and 1 November; the truce ends Nov 10, 2025. Brokered in May."
    assert dates_in(text, published) == {dt.date(2025, 10, 30), dt.date(2025, 11, 1), dt.date(2025, 11, 10)}
    assert dates_in("A deal by Jan 15.", dt.date(2025, 12, 20)) == {dt.date(2026, 1, 15)}
    assert dates_in("Talks on Oct. 30.", None) == set()
    assert dates_in("On Feb 30 nothing happened.", published) == set()


def test_an_answers_weekday_gets_the_date_its_sources_give_it() -> None:
    """Read a year later, "on Thursday" says nothing: the answer gets the date the cited
    passage's own publication date resolves it to, and only one that is unambiguous."""
    sources = [("China unveiled its plan on Thursday.", dt.date(2025, 10, 24))]
    assert date_weekdays("The plan was made public on Thursday [1].", sources) == (
        "The plan was made public on Thursday (Oct 23, 2025) [1]."
    )
    dated = "The plan was made public on Thursday, Oct. 23 [1]."
    assert date_weekdays(dated, sources) == dated
    assert date_weekdays("They met on Friday [1].", sources) == "They met on Friday [1]."
    two_thursdays = [*sources, ("Xi will visit on Thursday.", dt.date(2025, 10, 24))]
    assert date_weekdays("On Thursday it began.", two_thursdays) == "On Thursday it began."


def test_the_ends_of_a_range_date_only_an_opening_or_a_close() -> None:
    """"The forum, held from Oct 31 to Nov 1" dates the forum's first and last days, not a
    meeting held alongside it; a date of its own in the same sentence still dates it."""
    sentence = "They meet on Oct. 30, alongside the forum held from Oct. 31 to Nov. 1."
    text, dated = dated_positions(sentence, dt.date(2025, 10, 24))
    assert [d for _, d in point_dates("the meeting", text, dated)] == [dt.date(2025, 10, 30)]
    assert [d for _, d in point_dates("the forum's opening", text, dated)] == [
        dt.date(2025, 10, 30),
        dt.date(2025, 10, 31),
    ]
    assert [d for _, d in point_dates("the end of the forum", text, dated)] == [
        dt.date(2025, 10, 30),
        dt.date(2025, 11, 1),
    ]
    # An annotated weekday ("Friday (Oct 31, 2025) to …") is a range end too.
    text, dated = dated_positions("It runs Friday to Nov. 2.", dt.date(2025, 10, 27))
    assert len(dated) == 2 and point_dates("the talks", text, dated) == []
    # Two dates that are not a range both stay.
    text, dated = dated_positions("Set on Oct. 1, it lapses on Nov. 10.", dt.date(2025, 10, 24))
    assert len(point_dates("the truce", text, dated)) == 2


def test_the_weekdays_and_lone_months_a_question_names() -> None:
    assert weekdays_named("What did she say after landing on Saturday?") == ["Saturday"]
    assert months_named("Since the truce ran out in early September, what came back?") == [("September", 9)]
    assert months_named("What happened on September 5?") == []  # a day, not a month


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # How long one event runs counts both ends.
        ("How many days does the Lisbon fair run?", 3),
        ("How many days will the Porto summit last?", 3),
        # A gap between two events, whatever words it uses.
        ("How many days separate the Lisbon fair from the date the Porto lease runs out?", 2),
        ("How many days are there between the day Ana Costa last met Rui Lopes and the fair?", 2),
    ],
)
def test_day_count_is_inclusive_only_for_one_event(question: str, expected: int) -> None:
    assert day_count(question, {dt.date(2025, 10, 30), dt.date(2025, 11, 1)}) == expected
