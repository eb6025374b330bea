"""Where the sources disagree: different values for the same thing, from different
articles, in sentences that answer the question.

A false conflict is worse than a missed one ("one says Gyeongju, another says Malaysia"
told a reader the venue was in doubt when Malaysia was where the finance officials met).
So a disagreement is reported only when

- both values fill the same slot (a meeting's place, a count of calls, a person's name),
  each extracted by a detector from the wording around it, not from a list of known names;
- the two sentences come from different articles and both answer the question: their
  context score is close to the best sentence's — a sentence about another event that
  happens to mention a place is not a rival answer;
- the answer itself states one of the values (or cites a sentence that does);
- no single sentence in the sources names both values (then they are compatible: "the
  South Korean city of Busan" means South Korea vs Busan is no disagreement).

Detectors are plain functions, `Detector = (sentence) -> {value: kind}`; add one to
`DETECTORS` to catch a new kind of disagreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from rag.text import NUMBER_WORDS
from rag.types import Conflict, Passage

# How far below the best sentence a sentence may score and still count as answering the
# question (context scores: cosine + word overlap + cue, roughly 0.3–1.2).
RELEVANCE_MARGIN = 0.15

# sentence → {value as written: comparison key}
Detector = Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class SlotValue:
    value: str  # as written, e.g. "at least three"
    key: str  # what equality is judged on, e.g. "count:3"
    at: int  # passage number, or index of a candidate sentence
    article_id: str


# --- detectors ------------------------------------------------------------------------------
_PLACE_NAME = r"([A-Z][a-z]{2,}(?:[ -][A-Z][a-z]{2,})?)"
_MEETING_PLACE = re.compile(
    r"\b(?:meet(?:s|ing)?|met|talks|summit|take place|held|hold)\b[^.;:!?]{0,70}?"
    r"\b(?:in|at)\s+(?:the\s+)?(?:(?:[A-Za-z-]+\s+){0,2}city\s+of\s+)?" + _PLACE_NAME
)


def meeting_place(sentence: str) -> dict[str, str]:
    """ "meet … in X", "summit … in the eastern city of X": where an event happens."""
    return {m.group(1): m.group(1) for m in _MEETING_PLACE.finditer(sentence)}


_COUNT = re.compile(
    r"\bat least (one|two|three|four|five|six|seven|eight|nine|ten|\d+)\b\s+"
    r"(?:\w+\s+){0,2}?(times|calls|phone calls|meetings|conversations)",
    re.I,
)


def event_count(sentence: str) -> dict[str, str]:
    """ "at least three times", "at least two phone calls": how often something happened."""
    out = {}
    for m in _COUNT.finditer(sentence):
        value = m.group(1).lower()
        out[f"at least {value}"] = NUMBER_WORDS.get(value, value)
    return out


_PERSON = re.compile(r"\b([A-Z][a-z]{1,})\s+([A-Z][a-z]{2,})\b")


def person_name(sentence: str) -> dict[str, str]:
    """Two capitalised words: a candidate person's name (spellings are compared later)."""
    return {f"{a} {b}": f"{a} {b}" for a, b in _PERSON.findall(sentence)}


DETECTORS: dict[str, Detector] = {"place": meeting_place, "count": event_count, "name": person_name}

_TEMPLATES = {
    "place": "Sources differ on the place: {x} [{a}] or {y} [{b}].",
    "count": "Sources differ on the number: {x} [{a}] or {y} [{b}].",
    "name": "Sources spell the name differently: {x} [{a}] and {y} [{b}].",
}


# --- helpers ------------------------------------------------------------------------------
def _one_edit_apart(a: str, b: str) -> bool:
    """One letter changed, or two neighbouring letters swapped ("Guo"/"Gou"); a letter
    more or less is more often a different word ("Korea"/"Korean") than a misspelling."""
    if a == b or len(a) != len(b):
        return False
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diffs) == 1:
        return True
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )


def _same_name_spelled_differently(x: str, y: str) -> bool:
    (xf, xl), (yf, yl) = x.split(" ", 1), y.split(" ", 1)
    return (xl == yl and len(xf) >= 3 and _one_edit_apart(xf, yf)) or (
        xf == yf and len(xl) >= 4 and _one_edit_apart(xl, yl)
    )


def _mentions(text: str, value: str) -> bool:
    return re.search(rf"\b{re.escape(value)}", text) is not None


def _compatible(x: str, y: str, sentences: Iterable[str]) -> bool:
    """Named together in one sentence: one contains or qualifies the other."""
    return any(_mentions(s, x) and _mentions(s, y) for s in sentences)


def _relevant_sentences(passages: Sequence[Passage]) -> list[tuple[Passage, str]]:
    scored = [(s.score, p, s.text) for p in passages for s in p.sentences if s.score is not None]
    if not scored:
        return [(p, p.text) for p in passages]
    best = max(score for score, _, _ in scored)
    return [(p, text) for score, p, text in scored if score >= best - RELEVANCE_MARGIN]


# --- the check ------------------------------------------------------------------------------
def find_conflicts(passages: Sequence[Passage], answer_text: str, cited: Sequence[int]) -> list[Conflict]:
    """Disagreements the reader must hear about (see the module docstring), at most one
    per slot. `answer_text` is the verified answer without markers; `cited` the passage
    numbers it cites."""
    relevant = _relevant_sentences(passages)
    all_sentences = [s.text for p in passages for s in p.sentences] or [p.text for p in passages]
    cited_text = " ".join(s.text for p in passages if p.n in set(cited) for s in p.sentences)
    found: list[Conflict] = []
    for slot, detector in DETECTORS.items():
        values = [
            SlotValue(value, key, passage.n, passage.article_id)
            for passage, sentence in relevant
            for value, key in detector(sentence).items()
        ]
        conflict = _first_conflict(slot, values, answer_text, cited_text, all_sentences)
        if conflict is not None:
            found.append(conflict)
    return found


def _rivals(
    slot: str, values: Sequence[SlotValue], all_sentences: Sequence[str]
) -> Iterator[tuple[SlotValue, SlotValue]]:
    """Pairs of values from different articles that disagree about the same slot."""
    for i, x in enumerate(values):
        for y in values[i + 1 :]:
            if x.article_id == y.article_id or x.key == y.key:
                continue
            if slot == "name" and not _same_name_spelled_differently(x.key, y.key):
                continue
            if slot != "count" and _compatible(x.value, y.value, all_sentences):
                continue
            yield x, y


def _first_conflict(
    slot: str, values: Sequence[SlotValue], answer_text: str, cited_text: str, all_sentences: Sequence[str]
) -> Conflict | None:
    for x, y in _rivals(slot, values, all_sentences):
        if not any(_mentions(answer_text, v.value) or _mentions(cited_text, v.value) for v in (x, y)):
            continue
        first, second = (x, y) if x.at <= y.at else (y, x)
        return Conflict(
            description=_TEMPLATES[slot].format(
                x=first.value, y=second.value, a=first.at, b=second.at
            ),
            values=[first.value, second.value],
            citations=[first.at, second.at],
        )
    return None


def rival_sentences(candidates: Sequence[tuple[str, str]], chosen: Iterable[int]) -> list[int]:
    """Indexes of candidate sentences (article id, text) that state a different value for
    a slot one of the `chosen` sentences fills: the context must carry both sides of a
    disagreement, or neither the model nor the verifier can report it."""
    chosen_set = set(chosen)
    texts = [text for _, text in candidates]
    extra: list[int] = []
    for slot, detector in DETECTORS.items():
        values = [
            SlotValue(value, key, i, article_id)
            for i, (article_id, text) in enumerate(candidates)
            for value, key in detector(text).items()
        ]
        for x, y in _rivals(slot, values, texts):
            for a, b in ((x, y), (y, x)):
                if a.at in chosen_set and b.at not in chosen_set and b.at not in extra:
                    extra.append(b.at)
    return extra
