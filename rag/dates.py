"""Resolve relative dates ("on Thursday", "next week") against a passage's publication
date, in code: the 1.5B model cannot do calendar arithmetic, but it copies a date that is
written next to the word. Only the prompt sees the annotations; quotes stay verbatim."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from rag.text import content_terms

# Where no article is dated, "Oct. 27" is placed in a common year: a day count is then right
# unless it crosses a Feb. 29 (a count across a new year is refused).
COMMON_YEAR = dt.date(2001, 1, 1)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DAY_NAMES = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_WEEKDAY = re.compile(rf"\b({_DAY_NAMES})\b")
_FUTURE = re.compile(
    r"\b(will|shall|is expected|are expected|scheduled|to be held|next|upcoming|is set to|due to)\b", re.I
)
_PAST = re.compile(
    r"\b(said|says|told|announced|confirmed|reported|added|signalled|stressed|expressed|"
    r"warned|was|were|had|did|earlier|last|ago)\b",
    re.I,
)
_RELATIVE = {
    "next week": 7,
    "last week": -7,
    "this week": 0,
    "today": 0,
    "yesterday": -1,
    "tomorrow": 1,
}


def format_day(day: dt.date) -> str:
    """ "Oct 30, 2025": how a resolved date is written beside the words that meant it."""
    return f"{day.strftime('%b')} {day.day}, {day.year}"


def resolve_weekday(weekday: str, published: dt.date, future: bool) -> dt.date:
    """The occurrence of `weekday` nearest the publication date: the coming one for
    future-tense sentences, else the latest on or before publication."""
    target = _WEEKDAYS.index(weekday.lower())
    delta = (target - published.weekday()) % 7
    if future:
        return published + dt.timedelta(days=delta or 7) if delta else published
    return published - dt.timedelta(days=(published.weekday() - target) % 7)


def _annotator(note: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{m.group(0)} ({note})"


def _weekday_date(sentence: str, m: re.Match[str], published: dt.date) -> dt.date:
    """The date of the weekday `m` found in `sentence`. Tense comes from the words just
    before it, not the whole sentence: "announced on Wednesday that they will meet" has
    both."""
    window = sentence[max(0, m.start() - 45) : m.start()]
    past = _PAST.search(window)
    future = _FUTURE.search(window)
    is_future = future is not None and (past is None or future.start() > past.start())
    return resolve_weekday(m.group(1), published, is_future)


def annotate_relative_dates(sentence: str, published: dt.date | None) -> str:
    if published is None:
        return sentence

    def weekday(m: re.Match[str]) -> str:
        return f"{m.group(1)} ({format_day(_weekday_date(sentence, m, published))})"

    out = _WEEKDAY.sub(weekday, sentence)
    for phrase, days in _RELATIVE.items():
        pattern = re.compile(rf"\b{phrase}\b", re.I)
        if phrase.endswith("week"):
            start = published + dt.timedelta(days=days - published.weekday())
            note = f"the week of {format_day(start)}"
        else:
            note = format_day(published + dt.timedelta(days=days))
        out = pattern.sub(_annotator(note), out)
    return out


_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_ABSOLUTE = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2})\b"
    r"|\b(\d{1,2})\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\b"
)


def _absolute_date(m: re.Match[str], published: dt.date) -> dt.date | None:
    """The date an `_ABSOLUTE` match names, in the publication's year (a date more than
    half a year before it is taken as next year's); None for no such day ("Feb 30")."""
    month_name, day_text = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    try:
        day = dt.date(published.year, _MONTHS.index(month_name[:3].lower()) + 1, int(day_text))
    except ValueError:
        return None
    return day.replace(year=day.year + 1) if (published - day).days > 183 else day


def annotate_weekdays(sentence: str, published: dt.date | None) -> str:
    """"Oct. 31" → "Oct. 31 (Friday)", in the publication's year (a date more than half a
    year before it is taken as next year's): for questions that ask for a day of the
    week, which the small model cannot work out from a date."""
    if published is None:
        return sentence

    def note(m: re.Match[str]) -> str:
        day = _absolute_date(m, published)
        return f"{m.group(0)} ({day.strftime('%A')})" if day else m.group(0)

    # Only outside parentheses: "(Oct 30, 2025)" is already an annotation.
    pieces = re.split(r"(\([^)]*\))", sentence)
    return "".join(piece if i % 2 else _ABSOLUTE.sub(note, piece) for i, piece in enumerate(pieces))


def dates_written(text: str, published: dt.date | None) -> list[tuple[str, dt.date]]:
    """Each date a text names, as written ("Sunday", "Oct. 30"), with the day it means:
    a weekday resolved against `published` by the tense around it (as the prompt shows
    it), a month-day placed in its year. None for an undated text."""
    if published is None:
        return []
    written = [(m.group(1), _weekday_date(text, m, published)) for m in _WEEKDAY.finditer(text)]
    written += [(m.group(0), day) for m in _ABSOLUTE.finditer(text) if (day := _absolute_date(m, published))]
    return written


def weekdays_named(text: str) -> list[str]:
    """ "Saturday" in "after landing on Saturday"."""
    return [m.group(1) for m in _WEEKDAY.finditer(text)]


# A month named alone, "in September", "since early May": not a day ("September 5").
_MONTH_ALONE = re.compile(
    r"\b(?:in|during|since|by|until|before|after|of)\s+(?:early\s+|mid-?\s*|late\s+)?"
    r"(January|February|March|April|May|June|July|August|September|October|November|December)\b(?!\s+\d)"
)


def months_named(text: str) -> list[tuple[str, int]]:
    """Each month a text names alone, with its number: [("September", 9)]."""
    return [(m.group(1), _MONTHS.index(m.group(1)[:3].lower()) + 1) for m in _MONTH_ALONE.finditer(text)]


def dates_in(text: str, published: dt.date | None) -> set[dt.date]:
    """The calendar dates a text names ("Oct. 30", "30 October", and the "(Oct 30, 2025)"
    annotations), placed in a year as `annotate_weekdays` does; none for an undated text
    (no year to place them in)."""
    if published is None:
        return set()
    return {day for _, day in _absolute_dates(text, published)}


def _absolute_dates(text: str, year_from: dt.date) -> list[tuple[int, dt.date]]:
    """Where each month-day in `text` sits, and its date in `year_from`'s year."""
    return [(m.start(), day) for m in _ABSOLUTE.finditer(text) if (day := _absolute_date(m, year_from))]


_RANGE_JOIN = re.compile(r"(?:,?\s*\d{4}\)?)?\s*(?:to|through|until|till|and|-|–|—)\s*", re.I)
_OPENS = re.compile(r"\b(open\w*|start\w*|begin\w*|kick\w*|first day|launch\w*)\b", re.I)
_CLOSES = re.compile(r"\b(clos\w*|end|ends|ending|conclu\w*|last day|finish\w*|wrap\w*)\b", re.I)


def point_dates(event: str, text: str, dated: list[tuple[int, dt.date]]) -> list[tuple[int, dt.date]]:
    """The dates of `dated` that can date a single moment such as "the meeting". The ends
    of a range ("the forum, from Oct 31 to Nov 1") belong to something that lasts: its
    first day dates only an event that names an opening or start, its last only one that
    names a close or end, and neither dates anything else: "they meet alongside the forum,
    held from Oct 31 to Nov 1" does not date the meeting."""
    starts: set[int] = set()
    ends: set[int] = set()
    for (at, day), (next_at, next_day) in zip(dated, dated[1:], strict=False):
        m = _ABSOLUTE.match(text, at)
        if m and day < next_day and _RANGE_JOIN.fullmatch(text, m.end(), next_at):
            starts.add(at)
            ends.add(next_at)
    dropped = (set() if _OPENS.search(event) else starts) | (set() if _CLOSES.search(event) else ends)
    return [(at, day) for at, day in dated if at not in dropped]


def dated_positions(
    text: str, published: dt.date | None, year_from: dt.date | None = None
) -> tuple[str, list[tuple[int, dt.date]]]:
    """The text with its relative dates resolved (as the prompt shows it), and where in
    that text each date it names sits: which of several dates belongs to which event. An
    undated article's absolute dates ("on Oct. 27") are placed in `year_from`'s year (a
    dated article about the same events); its relative ones cannot be resolved."""
    if published is None:
        return text, _absolute_dates(text, year_from) if year_from else []
    annotated = annotate_relative_dates(text, published)
    return annotated, _absolute_dates(annotated, published)


def dates_meant(text: str, published: dt.date | None) -> set[dt.date]:
    """`dates_in`, relative dates included ("on Thursday", "tomorrow"), resolved against
    the publication date as the prompt shows them."""
    return dates_in(annotate_relative_dates(text, published), published)


_DAY_COUNT = re.compile(
    r"\bhow many\s+(?:more\s+|full\s+|calendar\s+)?days\b|\bhow long\s+(?:after|before|until|till|from)\b",
    re.I,
)
# "How many days does the summit run?" counts both ends (Oct. 31 to Nov. 1: two days).
_SPAN = re.compile(r"\b(run|runs|last|lasts|span|spans|take place over|is held over)\b", re.I)


_VERB = r"(?:was|were|is|are|does|did|do|will|would|has|had)"
# The events a day-count question counts between, in the forms readers ask it: "between
# X and Y", "separate X from Y", "from X, how many days (was it) until Y", "how many days
# from X to Y", "how many days after X is Y", "how many days before X is Y"; one event for
# "how many days does X run". `_FILLER`: the words readers put between "how many days" and
# "until"/"from" ("was it until", "will have passed from").
_FILLER = (
    r"(?:was|is|were|are|will|would|did|does|it|be|there|have|has|had|pass|passed|elapse|elapsed|go|went|by)\s+"
)
_EVENTS = [
    re.compile(p, re.I)
    for p in (
        r"\bbetween (?P<a>.+?) and (?P<b>.+?)[?.]?$",
        r"\bseparates? (?P<a>.+?) from (?P<b>.+?)[?.]?$",
        rf"\bfrom (?P<a>.+?),? how many (?:\w+ )?days (?:{_FILLER}){{0,3}}"
        r"(?:until|till|before|to) (?P<b>.+?)[?.]?$",
        rf"\bhow many (?:\w+ )?days (?:{_FILLER}){{0,3}}from (?P<a>.+?),? (?:until|till|to) (?P<b>.+?)[?.]?$",
        rf"\bhow many (?:\w+ )?days (?:after|since|following) (?P<a>.+?) {_VERB} (?P<b>.+?)[?.]?$",
        rf"\bhow many (?:\w+ )?days (?:before|ahead of|prior to|until) (?P<a>.+?) {_VERB} (?P<b>.+?)[?.]?$",
        rf"\bhow many (?:\w+ )?days {_VERB} (?P<a>.+?) (?:run|last|span)\b",
    )
]


def day_count_events(question: str) -> list[str]:
    """The one or two events a day-count question is about ("the minister's arrival in
    Lisbon", "her meeting with the mayor"), so each can be dated from its own source
    sentence; empty when the question is not in a form we can split."""
    if not asks_day_count(question):
        return []
    for pattern in _EVENTS:
        m = pattern.search(question.strip())
        if m:
            return [e.strip(" ,") for e in m.groupdict().values() if e and e.strip(" ,")]
    return []


# "When did Ana Costa arrive in Lisbon?", "On what date was the deal signed?": the date of
# one event. Not "what day" (often a weekday), "which year" or "which month" (coarser than a
# date, and answered as such).
_WHEN = re.compile(
    r"^\W*(?:and\s+|so\s+|but\s+)?(?:on\s+|by\s+)?(?:"
    # "What was the date when X?", "What date was it when X?", "What is the date on which X?"
    r"what\s+(?:was|is|will\s+be)\s+the\s+(?:calendar\s+)?date\s+(?:when|on\s+which|that)"
    r"|what\s+(?:calendar\s+)?date\s+(?:was|is)\s+it\s+when"
    r"|(?:when|(?:what|which)\s+(?:calendar\s+)?date)\s+(?:did|does|do|was|were|is|are|will|would|had|has|have)"
    r")\s+(?P<event>[^?]+?)[\s?.!]*$",
    re.I,
)


def names_a_day(text: str) -> bool:
    """Whether a text names a day in any form: a weekday, a month-day, "tomorrow", "next
    week" (whether or not its article's date lets us resolve it)."""
    relative = any(re.search(rf"\b{phrase}\b", text, re.I) for phrase in _RELATIVE)
    return bool(_WEEKDAY.search(text) or _ABSOLUTE.search(text) or relative)


def asked_date_event(question: str) -> str | None:
    """The event a question asks the date of ("Ana Costa arrive in Lisbon"), or None: not a
    question about one event's date (a day count is about two)."""
    if asks_day_count(question):
        return None
    m = _WHEN.match(question.strip())
    return m["event"].strip(" ,") if m else None


# Words that only say when: a clause of nothing else ("On Thursday,") belongs to the next.
_DAY_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday earlier later also then "
    "today tomorrow yesterday week month year morning evening night".split()
)
# Where a sentence's clauses part: a comma outside parentheses, or a word opening a clause.
_CLAUSE_BREAK = re.compile(r",\s+|\s+(?:that|when|while|after|before|as|and|but|where)\s+")


def clause_date(event: str, annotated: str, dated: list[tuple[int, dt.date]]) -> dt.date | None:
    """The date `annotated` gives `event`: the one date in the clause sharing most of the
    event's words. In "Rui Lopes will visit Lisbon next week, the ministry confirmed on
    Thursday" the visit is next week and the confirming Thursday. None when two clauses
    share as many words, or the best one holds two dates."""
    if not dated:
        return None
    masked = re.sub(r"\([^)]*\)", lambda m: " " * len(m.group(0)), annotated)  # "(Oct 30, 2025)"
    bounds = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(masked)), len(annotated) + 1]
    wanted = set(content_terms(event))

    def words_of(i: int) -> set[str]:
        return set(content_terms(masked[bounds[i] : bounds[i + 1]]))

    by_clause: dict[int, set[dt.date]] = {}
    for at, day in dated:
        clause = max(i for i, start in enumerate(bounds) if start <= at)
        if not words_of(clause) - _DAY_WORDS and clause + 2 < len(bounds):
            clause += 1  # "On Thursday, the ministry said …": the date opens the next clause
        by_clause.setdefault(clause, set()).add(day)
    scored = sorted(
        ((len(wanted & words_of(i)), i) for i in by_clause),
        reverse=True,
    )
    (top, clause), *rest = scored
    if top == 0 or (rest and rest[0][0] == top) or len(by_clause[clause]) != 1:
        return None
    return next(iter(by_clause[clause]))


def asks_day_count(question: str) -> bool:
    """"How many days after X was Y?", "How many days does the summit run?"."""
    return _DAY_COUNT.search(question) is not None


# "How many years have passed since they last met?", "How many years between that visit
# and this one?": the years from a past event to the reports' own. Not "For how many years
# does the plan run?", which asks a span the sources state.
_YEAR_COUNT = re.compile(r"\bhow many (?:full\s+)?years\b", re.I)
_SINCE_THEN = re.compile(
    r"\b(?:since|ago|passed|elapsed|gone by)\b|\band (?:this|the current|the latest|now|today)\b", re.I
)


def asks_year_count(question: str) -> bool:
    """"How many years have passed since X?": the gap from a past year to the present one."""
    return bool(_YEAR_COUNT.search(question) and _SINCE_THEN.search(question))


def day_count(question: str, days: set[dt.date]) -> int | None:
    """The number of days a day-count question asks for, from the two dates an answer
    gives (the small model finds the dates but miscounts between them); None unless
    exactly two. Inclusive for how long one event runs, else the gap: a question between
    two events is a gap even where a word of it looks like a span ("from the meeting to
    the day the truce runs out", "since they last met")."""
    if len(days) != 2:
        return None
    first, last = sorted(days)
    gap = (last - first).days
    one_event = len(day_count_events(question)) < 2
    return gap + 1 if one_event and _SPAN.search(question) else gap


# Not one already followed by its date: "Thursday (Oct 30, 2025)", "Thursday, Oct. 30".
_BARE_WEEKDAY = re.compile(rf"\b({_DAY_NAMES})\b(?!\s*\(|,?\s+[A-Z][a-z]{{2,8}}\.?\s+\d)")


def date_weekdays(sentence: str, sources: list[tuple[str, dt.date | None]]) -> str:
    """A weekday in an answer sentence ("made public on Thursday") with the calendar date
    its sources give it ("Thursday (Oct 23, 2025)"): read today, a bare weekday says
    nothing. Only when the cited passages resolve that weekday to one date; a weekday
    already followed by a date is left alone."""
    resolved: dict[str, set[dt.date]] = {}
    for text, published in sources:
        if published is not None:
            for m in _WEEKDAY.finditer(text):
                resolved.setdefault(m.group(1), set()).add(_weekday_date(text, m, published))

    def note(m: re.Match[str]) -> str:
        days = resolved.get(m.group(1), set())
        return f"{m.group(1)} ({format_day(next(iter(days)))})" if len(days) == 1 else m.group(0)

    return _BARE_WEEKDAY.sub(note, sentence)
