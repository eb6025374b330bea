"""A rate change a question asks to work out ("If the 20 per cent levy were halved, what
would it be?"), read from its words, so the verifier can do the arithmetic in code: the
1.5B model copies the rate it sees, or another number near it ("it would fall by 100
percentage points"), and more often says it doesn't know.

Only the changes a reader names in a word or two: halving, doubling, tripling, and a cut
or rise by a number of percentage points. The rate itself comes from the sources (the
verifier picks the sentence); a change the question does not name itself ("cut as the
paper reported") is taken from that sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from rag.text import written_number

_RATE_WORDS = re.compile(
    r"\b(rate|tariffs?|dut(?:y|ies)|levy|levies|tax(?:es)?|per ?cent|percent(?:age)?|points?)\b|%", re.I
)
_ASKS_RESULT = re.compile(
    r"\b(what would|what will|what is|what's|how (?:high|low)|bring (?:it|them|the \w+) to|new rate|"
    r"end up|how many (?:per ?cent|percent)|what (?:rate|level|percentage))\b",
    re.I,
)
_ASKS_CHANGE = re.compile(
    r"\b(by how (?:much|many)|how many (?:percentage )?points|how (?:much|far) would)\b", re.I
)
_AS_REPORTED = re.compile(
    r"\b(?:as|(?:in )?the way|like|along the lines) (?:the )?[\w .'-]{0,40}?"
    r"(?:reported|said|suggested|described|proposed)\b",
    re.I,
)
_ATTRIBUTED = re.compile(
    r"\b(said|says|reported|announced|according to|plans?|planned|proposed|suggested)\b", re.I
)
_SUPPOSES = re.compile(r"\b(if|were|suppose|supposing|assuming|hypothetically)\b", re.I)
_POINTS = r"(\d+(?:\.\d+)?)\s*(?:percentage\s+)?points?"
_CHANGES: list[tuple[re.Pattern[str], str, Callable[[float, float], float]]] = [
    (re.compile(r"\bhalv(?:e|ed|es|ing)\b|\b(?:by|in) half\b", re.I), "halved", lambda r, _: r / 2),
    (re.compile(r"\bdoubl(?:e|ed|es|ing)\b", re.I), "doubled", lambda r, _: r * 2),
    (re.compile(r"\btripl(?:e|ed|es|ing)\b", re.I), "tripled", lambda r, _: r * 3),
    (
        re.compile(
            rf"\b(?:cut|cuts|reduc\w*|lower\w*|slash\w*|trimm?\w*)\b[^.?!]{{0,60}}?\bby\s+{_POINTS}", re.I
        ),
        "cut by {n} points",
        lambda r, n: r - n,
    ),
    (
        re.compile(rf"\b(?:rais\w*|increas\w*|hik\w*|lift\w*)\b[^.?!]{{0,60}}?\bby\s+{_POINTS}", re.I),
        "raised by {n} points",
        lambda r, n: r + n,
    ),
]


@dataclass(frozen=True)
class RateChange:
    label: str  # "halved", "cut by 5 points"
    apply: Callable[[float], float]


def rate_change(text: str) -> RateChange | None:
    """The change `text` names, if exactly one kind: "halving" → half, "cut by 5
    percentage points" → minus 5."""
    found = []
    for pattern, label, fn in _CHANGES:
        m = pattern.search(text)
        if m:
            n = float(m.group(1)) if m.groups() else 0.0
            found.append(RateChange(label.format(n=written_number(n)), partial(_apply, fn, n)))
    return found[0] if len(found) == 1 else None


def _apply(fn: Callable[[float, float], float], n: float, rate: float) -> float:
    return fn(rate, n)


@dataclass(frozen=True)
class RateQuestion:
    change: RateChange | None  # None: the change is the one the source reports
    asks_change: bool  # "by how many points would it fall?" rather than "what would it be?"
    # Only supposed ("If the levy were halved …"), not stated as what happened or what a
    # source said ("after it was doubled", "the paper said it would be doubled"): a stated
    # change is a claim about the sources, worked out only where a source reports it.
    supposed: bool


def rate_question(question: str) -> RateQuestion | None:
    """Whether the question asks for a rate after a change it names ("If the levy were
    halved, what would it be?", "… by how many points would it fall?") or one a source
    reports ("If the duty were cut as the paper reported, what would the new rate be?")."""
    if not _RATE_WORDS.search(question):
        return None
    asks_change = bool(_ASKS_CHANGE.search(question))
    if not asks_change and not _ASKS_RESULT.search(question):
        return None
    change = rate_change(question)
    if change is None and not _AS_REPORTED.search(question):
        return None
    supposed = bool(_SUPPOSES.search(question)) and not _ATTRIBUTED.search(question)
    return RateQuestion(change, asks_change, supposed)
