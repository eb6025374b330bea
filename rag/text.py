"""Text helpers shared by several stages: content words, numbers, citation markers, and
the clean-up of an answer sentence once its markers are taken out.

They live here, not in the first stage that needed them, so retrieval, context selection,
generation and verification agree on what a "content word" or a "number" is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import Any, Literal

from rag.roles import country_key


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


STEMMER = _stemmer()


# One thing written two ways, which the stemmer keeps apart: a month's abbreviation and
# its name ("Nov. 10" / "November 10"), "per cent" / "percent" / "%". An answer that
# spells out the month its source abbreviates shared one word fewer with it. (Digits stay
# as they are: "3" read as "three" would match "the two leaders" to every "Nov. 2".)
_MONTH_NAMES = {
    "Jan": "January",
    "Feb": "February",
    "Mar": "March",
    "Apr": "April",
    "Jun": "June",
    "Jul": "July",
    "Aug": "August",
    "Sep": "September",
    "Sept": "September",
    "Oct": "October",
    "Nov": "November",
    "Dec": "December",
}
# A month's or a weekday's name, whole or cut short ("Oct.", "Thursday"): capitalised, but
# nobody's name and no place.
CALENDAR_WORD = re.compile(
    r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?$"
)
# Only with its full stop or before a day: "Jan" alone may be a name.
_MONTH_ABBREVIATION = re.compile(r"\b(" + "|".join(_MONTH_NAMES) + r")(?:\.|(?=\s+\d))")
_PERCENT_SIGN = re.compile(r"\s*%|\bper\s+cent\b", re.I)


def spelled_out(text: str) -> str:
    """`text` with each of those written one way, for word matching only (BM25 and
    overlap scores read it; nobody sees it)."""
    text = _MONTH_ABBREVIATION.sub(lambda m: _MONTH_NAMES[m.group(1)], text)
    return _PERCENT_SIGN.sub(" percent", text)


def lexical_tokens(texts: Sequence[str], *, return_ids: bool = True) -> Any:
    """bm25s tokens (stemmed, English stopwords out) of `texts` spelled out: one
    definition of a word for the BM25 index, its queries and every overlap score."""
    import bm25s

    return bm25s.tokenize(
        [spelled_out(t) for t in texts],
        stopwords="en",
        stemmer=STEMMER,
        show_progress=False,
        return_ids=return_ids,
    )


@lru_cache(maxsize=16384)
def content_terms(text: str) -> tuple[str, ...]:
    """Lower-cased stemmed words without stopwords: shared by BM25 and overlap scores.
    Cached: context selection and verification ask for the same sentences' terms again
    and again (every claim against every passage)."""
    tokens = lexical_tokens([text], return_ids=False)
    return tuple(tokens[0]) if tokens else ()


# Words a question is phrased with rather than what it is about (bm25s's English stopword
# list keeps them).
_ASKING_WORDS = frozenset(
    "what who whom whose which when where why how about did does do is are was were will would "
    "could can should and but so also tell me know".split()
)


def topic_terms(text: str) -> tuple[str, ...]:
    """The content words that say what a question is about."""
    return tuple(t for t in content_terms(text) if t not in _ASKING_WORDS)


def lexical_overlap(question_terms: Sequence[str], text: str) -> float:
    """Share of the question's content words the text contains."""
    if not question_terms:
        return 0.0
    have = set(content_terms(text))
    wanted = set(question_terms)
    return len(wanted & have) / len(wanted)


# How much the words a sentence shares with a question count beside embedding similarity:
# MiniLM alone ranks a paraphrase's topic above the sentence holding the asked-for fact.
OVERLAP_WEIGHT = 0.35


def match_score(cosine: float, question_terms: Sequence[str], text: str) -> float:
    """How well a sentence answers a question (or matches an event): cosine similarity
    plus `OVERLAP_WEIGHT` × the share of the question's content words it contains. One
    scale for choosing context sentences and for the sentences the verifier dates an event
    or finds a rate by."""
    return cosine + OVERLAP_WEIGHT * lexical_overlap(question_terms, text)


# --- what a question asks for ---------------------------------------------------------------
AnswerKind = Literal["number", "date", "place", "name"]
# The words between "which"/"what" and the noun it asks about ("which US city", "what
# Chinese official"); never a verb: "What did the president say?" asks for no name.
_MODIFIERS = (
    r"(?:(?!(?:did|does|do|is|was|were|are|has|have|had|will|would|could|should|can|might|may)\b)"
    r"[\w-]+\s+){0,3}?"
)
# "What is the total value / cost / price of …?": an amount, asked as "how much" asks it.
_ASKS_SUM = (
    r"\bwhat(?:['’]s|\s+is|\s+was|\s+were|\s+will\s+be)\s+the\s+(?:[\w-]+\s+){0,2}?"
    r"(?:value|amount|worth|cost|price|sum)\b"
)
_ASKS: list[tuple[AnswerKind, re.Pattern[str]]] = [
    (
        "number",
        re.compile(
            r"\bhow (many|much|long|often|big|large)\b|\bwhat (percent|percentage|share|number|rate)\b|"
            + _ASKS_SUM,
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            r"^\s*when\b|\b(what|which) (date|day|year|month)\b|\bon what day\b|\b(?:until|till|by) when\b|"
            # "What deadline did she set?", "What is the expiry date of the truce?"
            r"\b(?:what|which)\s+(?:[\w-]+\s+){0,2}?deadline\b|"
            r"\b(?:what|which) (?:is|was|will be) the\s+(?:[\w-]+\s+){0,2}?(?:date|deadline)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"^\s*(?:(?:in|at|from|to)\s+)?where\b|"
            rf"\b(which|what)\s+{_MODIFIERS}(city|country|town|place|venue)\b|"
            # "Name the city where …", "What is the venue city for …?"
            r"\bname the\s+(?:[\w-]+\s+){0,2}?(?:city|town|country|place|venue)\b|"
            r"\b(?:what|which) (?:is|was|will be) the\s+(?:[\w-]+\s+){0,2}?(?:city|town|venue|location)\b"
            r"(?=\s*\?|\s+(?:for|of|where|that|hosting|chosen)\b)",
            re.I,
        ),
    ),
    (
        "name",
        re.compile(
            r"^\s*(?:(?:by|with|for|from|to)\s+)?(who|whom|whose)\b|\bname of\b|\bwho\s+(?:is|was)\b|"
            r"\b(?:sur|first |last |family )name\b|"
            r"\b(?:write|writes|spell|spells|spelled|spelt)\b[^?]{0,40}\bname\b|\bname\b[^?]{0,20}\b(?:spelled|spelt|written)\b|"
            rf"\b(which|what)\s+{_MODIFIERS}(person|official|minister|company|companies|firm|outlet|"
            r"newspaper|paper|analyst|spokesperson|spokesman|spokeswoman|leader|president|app)\b",
            re.I,
        ),
    ),
]
_HOLDS: dict[AnswerKind, re.Pattern[str]] = {
    "number": re.compile(
        r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|thousand|"
        r"million|billion|once|twice|half|double|triple|dozen|several|few)\b",
        re.I,
    ),
    "date": re.compile(
        r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|"
        r"July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
        r"today|tomorrow|yesterday|week|month|year)\b|\b(19|20)\d\d\b",
        re.I,
    ),
}
# "in Porto", "at the Town Hall", "city of Lisbon", "aboard the Royal Yacht"; "on" only
# straight before the name ("on Board Ship", not "on Thursday"); "of" not before "the"
# ("leaders of Spain", not "the sidelines of the European Council summit"); "is X" that
# ends a clause ("the host city is Lisbon.").
_PLACE = re.compile(
    r"\b(?:(?:in|at|aboard|inside)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?|on\s+(?:board\s+)?(?:the\s+)?|of\s+(?!the\b)|"
    r"(?:is|was)\s+(?=[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s*(?:[.,;]|\[|$)))"
    r"(?!(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|June|"
    r"July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b)"
    r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
)
_NAME = re.compile(r"\b[A-Z][A-Za-z’'.-]*[A-Za-z]")


# A sentence that leans on the one before for who or what it is about ("He even hinted at
# calling it off", "The official said …").
ANAPHORA = re.compile(
    r"^[\"“‘']?(He|She|It|They|This|That|These|Those|His|Her|Its|Their|"
    r"The (official|president|minister|spokesperson|two))\b"
)
_LEAD_CLAUSE = re.compile(r"^\s*when\s+(?:asked|questioned|pressed|speaking)\b[^?]*?,\s*", re.I)


_DATELINE = re.compile(r"^[A-Z][A-Za-z]+(?:[ -][A-Z][A-Za-z]+){0,2}(?: \([^)]{1,40}\))?\s*(?::|—|–)\s+(?=\S)")


def without_dateline(sentence: str) -> str:
    """An article's first sentence without its dateline ("Lisbon: Portugal on Friday
    confirmed …", "MADRID (Reuters) — …"): the dateline says where it was filed, not what
    happened there, so "her visit to Lisbon" is not the visit that sentence reports."""
    return _DATELINE.sub("", sentence, count=1)


def answer_kind(question: str) -> AnswerKind | None:
    """The kind of thing a question asks for, when its wording says so plainly ("When
    asked about X, what did he say?" asks for no date)."""
    question = _LEAD_CLAUSE.sub("", question)
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


def gives_kind(text: str, kind: AnswerKind, question: str, *, destinations: bool = False) -> bool:
    """Whether `text` holds something of that kind that the question did not already say:
    a number, a date, a place after "in"/"at"/"city of" (or, with `destinations`, where
    someone goes: "his visit to Porto"), a capitalised name."""
    text = strip_markers(text)
    asked = words_in(question)

    def new(word: str) -> bool:  # "Serbia" is not new to a question about a "Serbian" city
        return not name_among(name_key(word), asked)

    if kind == "place":
        if asks_locality(question):
            return any(new(place.split()[-1]) for place in localities_in(text, destinations=destinations))
        return any(new(m.group(1).split()[-1]) for m in _PLACE.finditer(text))
    if kind == "name":
        return any(new(w) and content_terms(name_key(w)) for w in _NAME.findall(text))
    if kind == "number":
        return _gives_count(text, question)
    if kind == "date":
        return _gives_date(text, question)
    return _HOLDS[kind].search(text) is not None


# A question for a day ("on which day", "what date"), which a month or a year alone leaves
# open: "On which day in September did they talk?" is not answered by "in September".
_ASKS_DAY = re.compile(
    r"\b(?:what|which)\s+(?:exact\s+|precise\s+|particular\s+|specific\s+)?(?:date|day)\b|\bon what day\b",
    re.I,
)
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
# Every month's name and abbreviation, longest first ("Sept" before "Sep").
_MONTH = "|".join(sorted({*_MONTH_NAMES.values(), "May", *_MONTH_NAMES}, key=len, reverse=True))
_DATE_VALUE = re.compile(
    rf"\b(?P<month_day>(?:{_MONTH})\.?\s+\d{{1,2}})(?!\d)|"
    rf"\b(?P<day_month>\d{{1,2}}\s+(?:{_MONTH}))\b|"
    r"\b(?P<iso>(?:19|20)\d\d-\d\d-\d\d)\b|"
    rf"\b(?P<weekday>{_WEEKDAYS}|today|tomorrow|yesterday)\b|"
    rf"\b(?P<month>{_MONTH})\b|"
    r"\b(?P<year>(?:19|20)\d\d)\b|"
    r"\b(?P<relative>week|month|year)s?\b",
    re.I,
)


def _date_values(text: str) -> set[tuple[str, str]]:
    """(granularity, value) of every date word in `text`, one spelling per value: "Oct. 30"
    and "30 October" are ("day", "october 30"); "Sept." and "September" one month."""
    values = set()
    for m in _DATE_VALUE.finditer(spelled_out(text)):
        grain = m.lastgroup or ""
        value = " ".join(m.group(0).lower().replace(".", "").split())
        if grain == "day_month":
            day, month = value.split()
            grain, value = "month_day", f"{month} {day}"
        values.add(("day" if grain in ("month_day", "iso", "weekday") else grain, value))
    return values


def _gives_date(text: str, question: str) -> bool:
    """A date the question did not already give (unless it offers a choice: "Thursday or
    Friday?"), down to the day when it asks for a day."""
    found = _date_values(text)
    if not re.search(r"\bor\b", question, re.I):
        found -= _date_values(question)
    if _ASKS_DAY.search(question):
        return any(grain == "day" for grain, _ in found)
    return bool(found)


# A question asking for a place below a country ("which city", "what town", "where in
# Portugal", "where exactly"): a country's name does not answer it.
_ASKS_LOCALITY = re.compile(
    r"\b(?:city|cities|town|towns|village)\b|\bwhere\s+(?:exactly|precisely|in)\b", re.I
)
# A place straight after "in"/"at" ("in Porto", "at Braga"), named a city or town ("the
# coastal city of Porto", "Porto city"), or ending a clause after "is" ("the venue is
# Porto,"). Stricter than `_PLACE`, which lets words between "in" and the name ("in 2019
# during Costa's term" is no place).
_LOCALITY = re.compile(
    r"\b(?:in|at)\s+(?:the\s+)?([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)(?![’'\w])|"
    r"\b(?:city|town|village)\s+of\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)|"
    r"\b([A-Z][a-z]+)\s+(?:city|town)\b|"
    r"\b(?:is|was)\s+([A-Z][a-z]+)(?=\s*(?:[.,;]|\[|$))"  # "the host city is Porto."
)
# Where someone goes: "during his visit to Porto", "flies to Braga", "a trip to Faro". An
# answer naming one gives a place, but it is not where an event is held (a leader visits
# the capital and meets in another city), so it does not choose the context's place seeds.
_DESTINATION = re.compile(
    r"\b(?:visits?|visiting|trips?|travel(?:s|led|ling)?|fl(?:y|ies|ew|ying)|head(?:s|ed|ing)?|return(?:s|ed|ing)?)"
    r"\s+to\s+(?:the\s+)?([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)(?![’'\w])"
)


# A question about how an event turned out: "What did they agree at the talks?", "What was
# the outcome of …?", "How did the talks go?", "Did they reach a deal?". Not one about what
# someone said, hoped or expected would come of it ("what did she say they would agree?").
_NOT_REPORTED_SPEECH = (
    r"(?![^?]*\b(?:say|said|tell|told|hope|hoped|expect|expected|want|wanted|"
    r"think|thought|consider|considered|predict|predicted|plan|planned|would)\b)"
)
_ASKS_OUTCOME = re.compile(
    r"^\W*(?:and\s+|so\s+|but\s+)?(?:"
    rf"what\s+(?:did|was|were)\b{_NOT_REPORTED_SPEECH}"
    r"[^?]*\b(?:agree|agreed|decide|decided|sign|signed|settle|settled|conclude|concluded|achieve|achieved|"
    r"outcome|result|results)\b"
    rf"|(?:did|have|has)\b{_NOT_REPORTED_SPEECH}[^?]*\b(?:reach|reached|sign|signed|strike|struck|seal|sealed|"
    r"agree|agreed|settle|settled|conclude|concluded)\b"
    r"|how\s+did\s+[^?]+\s+go\b)",
    re.I,
)
# A sentence reporting how something turned out, and one only announcing it.
_OUTCOME_WORD = re.compile(
    r"\b(?:agree\w*|decid\w*|decision|signed|signing|settle\w*|conclu\w*|achiev\w*|outcome|results?)\b", re.I
)
_ANNOUNCING = re.compile(
    r"\b(?:will|would|scheduled|set to|expected to|plans? to|planned|upcoming|ahead of|"
    r"later this week|next week)\b",
    re.I,
)


def asks_outcome(question: str) -> bool:
    return _ASKS_OUTCOME.search(question) is not None


def only_announces(sentence: str) -> bool:
    """Whether a sentence tells of an event to come and of no outcome ("the ministers will
    meet in Porto on Friday to prepare the summit")."""
    return _ANNOUNCING.search(sentence) is not None and _OUTCOME_WORD.search(sentence) is None


# "Which hotel …?", "Which senators …?", "Under which law …?": a question asking for a
# particular building, law or holder of an elected or diplomatic office is answered only
# from a sentence that names one; "the talks take place in Porto" names no room. Each
# entry: the words a question asks with, and the words a source sentence answering it must
# use (a hall for a room will do). Offices a reader names loosely ("the finance minister"
# for a treasury secretary, "the official") are left out, and so is "venue", which a city
# answers.
_PARTICULAR: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (
        re.compile(rf"\b(?:which|what)\s+{_MODIFIERS}(?:{asked})\b", re.I),
        re.compile(rf"\b(?:{named})\b", re.I),
    )
    for asked, named in (
        (
            r"rooms?|halls?|hotels?|buildings?|palaces?|stadiums?|airports?|restaurants?|suites?|residences?",
            r"rooms?|halls?|hotels?|buildings?|palaces?|stadiums?|airports?|restaurants?|suites?|residences?"
            # Not "house": in news it is the White House or a chamber of Congress.
            r"|chambers?|villas?|museums?|cent(?:er|re)s?|venues?|resorts?|complex",
        ),
        (
            r"laws?|statutes?|treat(?:y|ies)|bills?|legislation",
            r"laws?|statutes?|treat(?:y|ies)|bills?|legislation|act|section",
        ),
        (r"senators?", r"senators?|sen\."),
        (r"governors?", r"governors?|gov\."),
        (r"mayors?", r"mayors?"),
        (r"ambassadors?|envoys?", r"ambassadors?|envoys?"),
        (
            r"lawmakers?|legislators?|congress(?:man|men|woman|women)",
            r"lawmakers?|legislators?|congress\w*|senators?",
        ),
    )
)


def particular_asked(question: str) -> re.Pattern[str] | None:
    """The words a sentence must use to name the particular building or office holder the
    question asks for ("which hotel", "what senators"), or None."""
    return next((named for asks, named in _PARTICULAR if asks.search(question)), None)


def asks_locality(question: str) -> bool:
    return answer_kind(question) == "place" and _ASKS_LOCALITY.search(question) is not None


# Where something was said, not where the event is: "told a briefing in Madrid", "said
# in Porto on Monday".
_SAID_AT = re.compile(
    r"\b(?:told|said|says|briefing|reporters|journalists|conference|statement|interview)\b"
    r"(?:\s+(?:a|an|the|media|news|press|reporters|journalists))*\s*$",
    re.I,
)


def localities_in(text: str, *, destinations: bool = False) -> list[str]:
    """The places below a country a text names: no country (by name or adjective), month
    or weekday, nor the place where a report was given; with `destinations`, also where
    someone goes ("his visit to Porto")."""
    found = []
    matches = [*_LOCALITY.finditer(text), *(_DESTINATION.finditer(text) if destinations else ())]
    for m in matches:
        if _SAID_AT.search(text[: m.start()]):
            continue
        place = next(g for g in m.groups() if g)
        words = place.split()
        if country_key(place.lower()) or country_key(words[-1].lower()) or country_key(words[0].lower()):
            continue
        if _HOLDS["date"].fullmatch(words[0]):
            continue
        found.append(place)
    return found


_HOW_MANY = re.compile(r"\bhow many\s+(?:[a-z-]+\s+){0,2}?([a-z]{3,})\b", re.I)
_HOW_LONG = re.compile(r"\bhow long\b", re.I)
_ASKS_COUNT = re.compile(r"\bhow (?:many|often)\b|\bnumber of\b", re.I)


def names_counted(question: str) -> bool:
    """Whether the question asks how many of a named thing ("how many phone calls")."""
    return _HOW_MANY.search(question) is not None


def asks_count(question: str) -> bool:
    """Whether a number question asks how many times or things, not how long or how much."""
    return _ASKS_COUNT.search(question) is not None


# "How much are the fees?", "How much did exports fall?": an amount, which a number only
# gives with its unit ("$2 million", "20 per cent", "12 million tonnes") or as a proportion
# ("by half", "doubled"); not "how much longer" or "how much time", which ask a duration.
# "What is the total value of …?" (`_ASKS_SUM`) asks for an amount the same way.
_HOW_MUCH = re.compile(r"\bhow much\b(?!\s+(?:longer|time|later|earlier|sooner)\b)|" + _ASKS_SUM, re.I)
# Number words spelled out here, not `NUMBER_WORDS`: an amount is written "twelve million
# tonnes", and that table (what the verifier reads as a stated number) stops at ten.
_AMOUNT = re.compile(
    r"\b(?:half|halved|doubled|tripled|quadrupled)\b|[$€£¥]\s?\d|\d[\d.,]*\s?(?:%|per\s*cent|percent|points?\b)|"
    r"\b(?:\d[\d.,]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|hundred)\s+(?:(?:thousand|million|billion|trillion)\s+)?"
    r"(?:(?:US\s+)?dollars?|yuan|renminbi|euros?|won|yen|pounds?|tonnes?|tons?|barrels?|bushels?)\b",
    re.I,
)


def _gives_count(text: str, question: str) -> bool:
    """A number the question did not state — and for "how many X", one counting X: "the
    two leaders" is no answer to "How many member economies …?"; for "how much", an
    amount with its unit ("the two powers levy hefty fees" gives none)."""
    if _HOW_MUCH.search(question) and not _HOW_MANY.search(question):
        return any(
            not (numbers_in(m.group(0)) and numbers_in(m.group(0)) <= numbers_in(question))
            for m in _AMOUNT.finditer(text)
        )
    counted = _HOW_MANY.search(question)
    units: AbstractSet[str] | None = None
    if counted:
        stem = counted.group(1).lower().removesuffix("s")[:4]  # "days" → "day", "countries" → "coun"
        units = _UNIT_SYNONYMS.get(stem, {stem})
        if stem == "time":
            # "How many times did they talk by phone?" is answered by "two phone calls".
            units = units | {w[:4] for w in re.findall(r"[a-z]+", question.lower()) if w[:4] in _OCCASIONS}
    elif _HOW_LONG.search(question):
        units = TIME_UNITS  # a duration: "two phone calls" is no answer to "how long did it last?"
    # With a unit asked for, a number the question states counts only if it counts that
    # unit: "the two leaders" in "How many calls have the two leaders had?" does not make
    # "two calls" an answer it already gave.
    asked = numbers_in(question) if units is None else _counting(question, units)
    # Hyphens split: "a three-nation tour" counts nations, "a two-day summit" days.
    tokens = re.findall(r"[\w%.]+", text)
    for i, token in enumerate(tokens):
        if not _is_number(token):
            continue
        if numbers_in(token) and numbers_in(token) <= asked:
            continue
        if units is TIME_UNITS and token.lower() in _OTHER_COUNTS:
            continue  # "twice last month" counts times
        if i and CALENDAR_WORD.match(tokens[i - 1]) and units is not None:
            continue  # "Oct. 27 for a meeting" dates the meeting, it does not count them
        if units is None or _counts_in(tokens[i + 1 : i + 4], units):
            return True
    return False


def _is_number(token: str) -> bool:
    return bool(_HOLDS["number"].fullmatch(token) or re.fullmatch(r"\d[\d.,%]*", token))


def _counting(text: str, units: AbstractSet[str]) -> set[str]:
    """The numbers of `text` that count one of `units`."""
    tokens = re.findall(r"[\w%.]+", text)
    return {
        n
        for i, token in enumerate(tokens)
        if _is_number(token) and _counts_in(tokens[i + 1 : i + 4], units)
        for n in numbers_in(token)
    }


def _counts_in(following: Sequence[str], units: AbstractSet[str]) -> bool:
    """Whether the words after a number name what it counts: one of `units` within three
    words, before anything else is counted ("three times this year" counts times, not
    years, so it is no answer to "how long")."""
    for word in following:
        word = word.lower()
        if word.startswith(tuple(units)):
            return True
        if word in _OTHER_COUNTS:
            return False
    return False


_OTHER_COUNTS = frozenset({"time", "times", "occasions", "occasion", "once", "twice", "thrice"})


# Things that happen a number of times: a question counting "times" of one of them ("how
# many times … by phone") is answered by a count of it ("at least two phone calls").
_OCCASIONS = frozenset({"call", "phon", "meet", "talk", "conv", "visi", "trip", "summ"})
# Count nouns that name the same thing ("how many countries" → "a three-nation trip").
_UNIT_SYNONYMS = {
    "coun": {"coun", "nati", "stat"},
    "nati": {"nati", "coun", "stat"},
    "peop": {"peop", "pers"},
    "pers": {"pers", "peop"},
}


CUE_WEIGHT = 0.05


_ASKS_REASON = re.compile(r"^\W*(?:and\s+|so\s+|but\s+)?why\b|\bwhat (?:is|was) the reason\b", re.I)


def asks_reason(question: str) -> bool:
    return bool(_ASKS_REASON.search(question))
_GIVES_REASON = re.compile(
    r"\b(because|since|due to|owing to|in order to|so that|as a result|aimed at|in a bid to|"
    r"amid|in exchange|in return)\b",
    re.I,
)


# "Which paper / outlet / news agency reported …": the asked name is whoever a sentence
# attributes a report to, not any name it holds (nearly every sentence names someone).
_ASKS_OUTLET = re.compile(
    rf"\b(?:which|what)\s+{_MODIFIERS}(?:newspaper|paper|outlet|publication|daily|broadcaster|"
    r"news\s+(?:agency|organi[sz]ation|site|network)|wire\s+service|media\s+outlet)s?\b",
    re.I,
)
_GIVES_OUTLET = re.compile(
    r"\b(?:reported|reports|reporting|according to|citing|cited by|told|quoted|broke the news)\b",
    re.I,
)


def cue_bonus(question: str, sentence: str) -> float:
    """A small push toward sentences holding the kind of thing asked for (a number not
    already in the question for "how many", a date for "when", a new name for "who", a
    reported name for "which paper", a cause for "why"). A cause is only a cue, not a kind
    an answer must show (`answer_kind`): "to ease tensions" gives one without a telltale
    word."""
    if asks_reason(question):
        return CUE_WEIGHT if _GIVES_REASON.search(sentence) else 0.0
    if _ASKS_OUTLET.search(question):
        gives = _GIVES_OUTLET.search(sentence) and gives_kind(sentence, "name", question)
        return CUE_WEIGHT if gives else 0.0
    kind = answer_kind(question)
    return CUE_WEIGHT if kind and gives_kind(sentence, kind, question) else 0.0


def is_heading(text: str) -> bool:
    stripped = text.strip()
    ends_like_sentence = stripped.endswith((".", "!", "?", '"', "”", "’"))
    return len(stripped) < 25 or (len(stripped) < 80 and not ends_like_sentence)


# --- numbers ------------------------------------------------------------------------------
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "twenty": "20",
    "hundred": "100",
}


def numbers_in(text: str) -> set[str]:
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in NUMBER_WORDS:
            found.add(NUMBER_WORDS[word])
    return found


_QUANTITY = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)*|" + "|".join(NUMBER_WORDS) + r")(?:\s*-\s*|\s*)"
    r"(%|per\s*cent|percentage|[a-z]{3,})",
    re.I,
)


def _unit(word: str) -> str:
    """"%", "per cent", "percentage (points)" → "percent"; "days"/"day" → "day"."""
    word = word.lower()
    if word == "%" or word.startswith("per"):
        return "percent"
    return word.removesuffix("s")[:4]


def _value(number: str) -> float:
    return float(NUMBER_WORDS.get(number.lower(), number).replace(",", ""))


def rates_in(text: str) -> dict[str, str]:
    """The rates a text gives, as written → their value: "a 1,000% levy" → {"1,000%": "1000"},
    "twenty per cent" → {"twenty per cent": "20"}. Not "percentage points", which measure a
    change of a rate."""
    return {
        m.group(0): written_number(_value(m.group(1)))
        for m in _QUANTITY.finditer(text)
        # "per cent" as a whole word: "percentage (points)" is read as "percent" + "age".
        if _unit(m.group(2)) == "percent" and not text[m.end() : m.end() + 1].isalpha()
    }


def written_number(value: float) -> str:
    """10.0 → "10", 2.5 → "2.5": how a worked-out number is written and compared."""
    return str(int(value)) if value == int(value) else f"{value:g}"


def quantities(text: str) -> set[tuple[str, str]]:
    """(number, unit) pairs: "20 per cent" → ("20", "percent"), "a three-day trip" →
    ("3", "day")."""
    return {(written_number(_value(m.group(1))), _unit(m.group(2))) for m in _QUANTITY.finditer(text)}


def derived_quantities(text: str, days: Iterable[dt.date] = ()) -> set[tuple[str, str]]:
    """What one step of arithmetic on a text's quantities gives, so an answer that works
    it out ("halving the 20 per cent tariff" → "10 per cent"; "Oct. 27" and "Oct. 30" →
    "3 days") is not taken for an invented number: half and double of each quantity, sum
    and difference of two in the same unit, and the days between two dates (counted both
    ways: "Oct. 31 to Nov. 1" is one day later, a two-day summit)."""
    by_unit: dict[str, set[float]] = {}
    for number, unit in quantities(text):
        by_unit.setdefault(unit, set()).add(_value(number))
    derived: set[tuple[str, str]] = set()
    for unit, values in by_unit.items():
        for a in values:
            derived |= {(written_number(a / 2), unit), (written_number(a * 2), unit)}
            for b in values:
                if a > b:
                    derived |= {(written_number(a - b), unit), (written_number(a + b), unit)}
    dates = sorted(set(days))
    for i, earlier in enumerate(dates):
        for later in dates[i + 1 :]:
            gap = (later - earlier).days
            derived |= {(written_number(gap), "day"), (written_number(gap + 1), "day")}
    # Years between a year the text names and the article's own ("opened in 2019" in a
    # 2025 article: six years).
    years = {int(y) for y in years_in(text)} | {d.year for d in dates}
    derived |= {(written_number(abs(a - b)), "year") for a in years for b in years if a != b}
    return derived


_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")


def years_in(text: str) -> set[str]:
    """The years a text names, as written ("in 2019")."""
    return set(_YEAR.findall(text))


# Units of time as `quantities` names them ("minutes" → "minu", "months" → "mont").
TIME_UNITS = frozenset({"seco", "minu", "hour", "day", "week", "mont", "year", "deca"})
# Units of a measured amount: an answer stating one ("lasted 30 minutes") must find that
# amount in that unit in its sources, or worked out from them. A bare number is not
# enough: "30" in "October 30" says nothing about minutes.
MEASURE_UNITS = TIME_UNITS | {"percent"}


def measured_quantities(text: str) -> set[tuple[str, str]]:
    """The (number, unit) pairs of `text` whose unit is a measure (`MEASURE_UNITS`)."""
    return {q for q in quantities(text) if q[1] in MEASURE_UNITS}


# --- names ------------------------------------------------------------------------------
_NAME_WORD = re.compile(r"\b[A-Z][A-Za-z’'.-]*[A-Za-z]")


def name_key(word: str) -> str:
    return re.sub(r"[’'](s)?$|\.", "", word).lower()


def names_in(text: str) -> set[str]:
    """Capitalised words of one sentence, lower-cased without possessive or dots
    ("China's" → "china", "U.S." → "us"), except its first word (capitalised anyway).
    Months are read spelled out, as `words_in` reads them: "November 10" names nothing
    that a source's "Nov. 10" lacks."""
    text = spelled_out(text)
    return {name_key(m.group(0)) for m in _NAME_WORD.finditer(text) if text[: m.start()].strip(" \"“‘'(")}


def question_names(question: str) -> set[str]:
    """The names a question gives, which an answer may repeat though no source has them. A
    reader who capitalises names gives them capitalised: a word the question writes in
    lower case ("which hotel …") and the answer capitalises ("the Porto Hotel") is a name the
    answer coined. A question written all in lower case may write any name so, and then
    all its words count."""
    first = re.search(r"[A-Za-z]", question)
    return words_in(question) if first and first.group(0).islower() else names_in(question)


def name_among(key: str, words: set[str]) -> bool:
    """Whether a name (its `name_key`) is among the words in any form: "serbia" in
    "serbian", "korean" in "korea"."""
    return any(w.startswith(key) or (len(w) >= 4 and key.startswith(w)) for w in words)


def words_in(text: str) -> set[str]:
    return {name_key(w) for w in re.findall(r"[A-Za-z’'.-]*[A-Za-z]", spelled_out(text))}


# --- citation markers ---------------------------------------------------------------------
_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_MARKER_LIST = re.compile(r"\s*\[\d+\](?:\s*(?:,|and|&)\s*\[\d+\])+")


def parse_markers(text: str) -> list[int]:
    out: list[int] = []
    for m in _MARKER.finditer(text):
        out.extend(int(x) for x in re.split(r"\s*[,;]\s*", m.group(1)))
    return out


def strip_markers(text: str) -> str:
    text = _MARKER_LIST.sub("", text)
    text = _MARKER_RUN.sub("", text)
    text = re.sub(r",(\s*,)+", ",", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()


# --- answer sentences without their references --------------------------------------------
# A reference to a numbered source as the model writes it: "[1]", "[1][2]", "source [2]",
# "the passage [1] and [3]".
_REF = (
    r"(?:the\s+)?(?:(?:numbered\s+)?(?:sources?|passages?|articles?|quotes?|reports?|statements?)\s*)?"
    # One way to match the space between markers: with "\s*,?\s*(?:and)?\s*" a run of
    # twenty markers backtracks for minutes.
    r"\[\d+(?:\s*[,;]\s*\d+)*\](?:\s*(?:,\s*)?(?:(?:and|&)\s*)?\[\d+(?:\s*[,;]\s*\d+)*\])*"
)
_WHO = (  # who is said to say it: "[1]", "Sources [1] and [2]", "Both [1] and [2]", "The sources"
    rf"(?:(?:both|all)\s+)?(?:{_REF}|(?:the\s+)?(?:provided\s+|given\s+|numbered\s+|other\s+)?"
    rf"(?:sources?|passages?|articles?)(?:\s+provided)?)"
)
_VERB = (
    r"(?:states?|says?|said|mentions?|mentioned|reports?|reported|notes?|noted|confirms?|confirmed|"
    r"indicates?|shows?|explains?|adds?|suggests?)"
)
_SAYING = (  # "… confirm this by mentioning that X", "… confirms it, stating that X"
    r"(?:(?:this|it)\s*,?\s*(?:by\s+)?(?:stating|saying|noting|adding|reporting|explaining|mentioning)\s+)"
)
_META_PREFIX = re.compile(
    # "[1] states that X", "Source [2] says X", "The sources indicate that X", "The sources
    # confirm this by mentioning that X"
    rf"^\s*{_WHO}\s+(?:(?:also|all|both)\s+)?{_VERB}\s+{_SAYING}?(?:that\s+)?",
    re.I,
)
_ORPHAN_VERB = re.compile(
    # What "[2] states that X" leaves when its marker went to the sentence before: "states
    # that X", "also confirms this, stating that X" (lower-case: the sentence began at "[2]").
    rf"^\s*(?:(?:also|all|both)\s+)?{_VERB}\s+(?:{_SAYING}(?:that\s+)?|that\s+|(?=[A-Z\"“]))",
)
_LEAD_REF = re.compile(
    # "According to [1], X", "In [1], X", "As stated in source [2], X", "Based on the provided sources, X"
    rf"^\s*((?:yes|no)\s*,\s*)?(?:(?:as\s+)?(?:stated|mentioned|reported|noted|seen|shown|explained)\s+)?"
    rf"(?:according\s+to|based\s+on|in|from|per)\s+(?:{_REF}|(?:the\s+)?(?:provided\s+|given\s+|numbered\s+)?"
    rf"(?:sources?|passages?|articles?|information)(?:\s+(?:provided|given))?"
    rf"(?:\s+(?:in|by)\s+(?:the\s+)?(?:{_REF}|(?:provided\s+|given\s+)?(?:sources?|passages?|articles?)))?)\s*,\s*",
    re.I,
)
_TRAILING_REF = re.compile(
    # "X, as stated in [1]." / "X (see [2])" / "X, according to source [3]" /
    # "X, as per the information provided in sources [1] and [2]."
    rf"\s*[,(]?\s*(?:(?:as\s+)?(?:stated|mentioned|reported|noted|seen|shown|quoted|indicated|explained)\s+"
    rf"(?:in|by)|according\s+to|see|(?:as\s+)?per|from|based\s+on)\s+"
    rf"(?:(?:the\s+)?(?:information|details?|data)\s+(?:provided|given|found)\s+(?:in|by)\s+)?{_REF}\s*\)?",
    re.I,
)
_INNER_REF = re.compile(
    rf"\b(?:in|from|by|per)\s+{_REF}\s*,?\s*(?:where|which\s+{_VERB}(?:\s+that)?)?\s*", re.I
)
_META_SENTENCE = re.compile(
    # Filler about the sources rather than the news: "This can be inferred from …", "This
    # is stated in [2], where …" (its content, if any, follows "where"/"which says").
    r"^\s*(?:this|that|it|these|the answer)\s+(?:information\s+)?"
    r"(?:is|was|are|can\s+be|could\s+be|may\s+be)\s+"
    r"(?:also\s+)?(?:stated|mentioned|seen|inferred|found|confirmed|shown|supported|evident|deduced|"
    r"concluded|indicated|reflected|derived|based)\b",
    re.I,
)


def clean_claim(sentence: str) -> str:
    """One answer sentence as a reader should see it: markers out, and the phrases that
    only pointed at a marker ("According to [1], …", "[2] states that …", "…, as stated in
    [3]") out with them, so nothing is left dangling ("In, the minister said …"). A sentence that
    only talks about the sources ("This can be inferred from …") becomes empty."""
    text = sentence.strip()
    if _META_SENTENCE.match(text):
        # Keep what follows "…, where X" / "…, which states that X": that part is news.
        tail = re.search(rf"\b(?:where|which\s+{_VERB}(?:\s+that)?|that)\s+(?=[A-Z\"“])", text)
        text = text[tail.end() :] if tail else ""
    text = _META_PREFIX.sub("", text)
    text = _ORPHAN_VERB.sub("", text)
    text = _LEAD_REF.sub(lambda m: m.group(1) or "", text)  # "Yes, according to [1], X" → "Yes, X"
    text = _TRAILING_REF.sub("", text)
    text = _INNER_REF.sub("", text) if re.match(rf"^\s*(?:in|from)\s+{_REF}", text, re.I) else text
    # "…, while [2] states that X" → "…, while X"; "…, as both sources confirm" → "…"
    text = re.sub(rf"(?<!\w){_WHO}\s+(?:(?:also|all|both)\s+)?{_VERB}\s+that\s+", "", text, flags=re.I)
    text = re.sub(
        rf",?\s*as\s+{_WHO}\s+(?:(?:also|all|both)\s+)?{_VERB}\b(?:\s+(?:this|it))?", "", text, flags=re.I
    )
    text = re.sub(rf",?\s*and\s+{_WHO}\s+(?:also\s+)?{_VERB}\s+(?:this|it)\b", "", text, flags=re.I)
    text = strip_markers(text)
    text = re.sub(r"\(\s*\)", "", text)
    text = tidy_typography(re.sub(r"\s{2,}", " ", text).strip(" ,;:")).strip(" ,;:")
    if not re.search(r"[A-Za-z0-9]", text):
        return ""
    return text[:1].upper() + text[1:]


_SPACED_INITIAL = re.compile(r"\b([A-Z])\. (?=[A-Z]\.)")  # "U. S." → "U.S."


def tidy_typography(text: str) -> str:
    """The model's punctuation as a reader expects it. It spaces initials ("U. S.
    Treasury") and pads closing quotes ("told reporters here. \"", "about \"farmers, \"
    while"); once "which states that" has gone, a whole sentence may be left wrapped in
    quotes, and that sentence is the news itself, so it goes unwrapped. Curly quotes are the
    article's own and stay; with an odd number of straight quotes the pairs are unknown, so
    the quotes stay as they are."""
    text = _SPACED_INITIAL.sub(r"\1.", text)
    marks = [m.start() for m in re.finditer('"', text)]
    if not marks or len(marks) % 2:
        return text
    pieces: list[str] = []
    last = 0
    for opening, closing in zip(marks[::2], marks[1::2], strict=True):
        pieces += [text[last:opening], '"', text[opening + 1 : closing].strip(), '"']
        last = closing + 1
    pieces.append(text[last:])
    tidied = "".join(pieces)
    if len(marks) == 2 and marks[0] == 0 and marks[1] == len(text) - 1:
        return tidied[1:-1]
    return tidied
