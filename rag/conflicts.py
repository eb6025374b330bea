"""Where the sources disagree: different values for the same thing, from different
articles, in sentences that answer the question.

A false conflict is worse than a missed one ("one says Porto, another says Madrid"
told a reader the venue was in doubt when Madrid was where the finance ministers met).
So a disagreement is reported only when

- both values fill the same slot (a meeting's place, a count of calls, a person's name),
  each extracted by a detector from the wording around it, not from a list of known names;
- the two sentences come from different articles and both answer the question: their
  context score is close to the best sentence's — a sentence about another event that
  happens to mention a place is not a rival answer;
- the question asks for that kind of thing (a place for "where", a count for "how many",
  a name for "who"), or states one of the values itself;
- the answer itself states one of the values;
- no single sentence in the sources names both values, nor either article the other's,
  judged on everything retrieval read of the article, not only the passages (then they are
  compatible: "the Portuguese city of Porto", or "in Portugal" in one sentence and "in
  Porto" in another, means Portugal vs Porto is no disagreement), and two places'
  sentences share a named thing (the same summit).

Detectors are plain functions, `Detector = (sentence) -> {value: kind}`; add one to
`DETECTORS` to catch a new kind of disagreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import partial

from rag.text import (
    CALENDAR_WORD,
    NUMBER_WORDS,
    AnswerKind,
    answer_kind,
    asks_count,
    content_terms,
    name_key,
    names_in,
    numbers_in,
    rates_in,
    words_in,
    years_in,
)
from rag.types import Conflict, Passage

# How far below the best sentence a sentence may score and still count as answering the
# question (context scores: cosine + word overlap + cue, roughly 0.3–1.2).
RELEVANCE_MARGIN = 0.25

# sentence → {value as written: comparison key}
Detector = Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class SlotValue:
    value: str  # as written, e.g. "at least three times"
    key: str  # what equality is judged on, e.g. "3"
    at: int  # passage number, or index of a candidate sentence
    article_id: str
    topics: frozenset[str] = frozenset()  # the names its sentence mentions besides the value


def topics_of(sentence: str) -> frozenset[str]:
    """The capitalised names a sentence mentions (not its first word, not a month or a
    weekday). Two places are rivals only when their sentences share one — the same
    summit, the same people — and "EU summit in Madrid" vs "NATO summit in Porto"
    share none."""
    return frozenset(w for w in names_in(sentence) if not CALENDAR_WORD.match(w.title()))


# --- detectors ------------------------------------------------------------------------------
_PLACE_NAME = r"([A-Z][a-z]{2,}(?:[ -][A-Z][a-z]{2,})?)"
_MEETING_PLACE = re.compile(
    r"\b(?:meet(?:s|ing)?|met|talks|summit|take place|held|hold)\b[^.;:!?]{0,70}?"
    r"\b(?:in|at)\s+(?:the\s+)?(?:(?:[A-Za-z-]+\s+){0,2}city\s+of\s+)?" + _PLACE_NAME
)


def meeting_place(sentence: str) -> dict[str, str]:
    """ "meet … in X", "summit … in the eastern city of X": where an event happens."""
    places = (m.group(1) for m in _MEETING_PLACE.finditer(sentence))
    return {p: p for p in places if not CALENDAR_WORD.match(p)}


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
        out[f"at least {value} {m.group(2).lower()}"] = NUMBER_WORDS.get(value, value)
    return out


_PERSON = re.compile(r"\b([A-Z][a-z]{1,})\s+([A-Z][a-z]{2,})\b")


def person_name(sentence: str) -> dict[str, str]:
    """Two capitalised words: a candidate person's name (spellings are compared later)."""
    return {f"{a} {b}": f"{a} {b}" for a, b in _PERSON.findall(sentence)}


DETECTORS: dict[str, Detector] = {"place": meeting_place, "count": event_count, "name": person_name}
# The kind of question (rag.text.answer_kind) each slot answers.
SLOT_KINDS: dict[str, AnswerKind] = {"place": "place", "count": "number", "name": "name"}

_TEMPLATES = {
    "place": "Sources differ on the place: {x} [{a}] or {y} [{b}].",
    "count": "Sources differ on the number: {x} [{a}] or {y} [{b}].",
    "name": "Sources spell the name differently: {x} [{a}] and {y} [{b}].",
}


# --- helpers ------------------------------------------------------------------------------
def _one_edit_apart(a: str, b: str) -> bool:
    """One letter changed, or two neighbouring letters swapped ("Guo"/"Gou"); a letter
    more or less is more often a different word ("Serbia"/"Serbian") than a misspelling."""
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


def mentions(text: str, value: str) -> bool:
    """Whether `text` names `value` from a word's start ("Porto" in "Porto's", not in "Oporto")."""
    return re.search(rf"\b{re.escape(value)}", text) is not None


def _compatible(x: str, y: str, sentences: Iterable[str]) -> bool:
    """Named together in one sentence: one contains or qualifies the other."""
    return any(mentions(s, x) and mentions(s, y) for s in sentences)


def _relevant_sentences(passages: Sequence[Passage]) -> list[tuple[Passage, str]]:
    scored = [(s.score, p, s.text) for p in passages for s in p.sentences if s.score is not None]
    if not scored:
        return [(p, p.text) for p in passages]
    best = max(score for score, _, _ in scored)
    return [(p, text) for score, p, text in scored if score >= best - RELEVANCE_MARGIN]


# --- the check ------------------------------------------------------------------------------
def find_conflicts(
    passages: Sequence[Passage],
    answer_text: str,
    question: str = "",
    article_texts: Mapping[str, str] | None = None,
) -> list[Conflict]:
    """Disagreements the reader must hear about (see the module docstring), at most one
    per slot, and only about what the question asks: a place for "where", a count for
    "how many", a name for "who" — or a slot whose value the question itself states
    ("They talked three times, right?") — and that the answer states one side of.
    `article_texts`: what retrieval read of each article beyond the passages (an article
    naming the country in one sentence and the city in another gives both)."""
    relevant = _relevant_sentences(passages)
    all_sentences = [s.text for p in passages for s in p.sentences] or [p.text for p in passages]
    by_article: dict[str, str] = {}
    for p in passages:
        by_article[p.article_id] = f"{by_article.get(p.article_id, '')} {p.text}"
    if article_texts:
        by_article.update(article_texts)  # the passages' sentences are among them
    kind = answer_kind(question) if question else None
    asked_words, asked_numbers = words_in(question), numbers_in(question)
    found: list[Conflict] = []
    for slot, detector in DETECTORS.items():
        values = [
            SlotValue(value, key, passage.n, passage.article_id, topics_of(sentence))
            for passage, sentence in relevant
            for value, key in detector(sentence).items()
        ]
        if slot == "place":
            # A place the question names is its frame ("which city in Portugal?").
            values = [v for v in values if v.value.split()[-1].lower() not in asked_words]
        # Off the question's kind, only a disagreement over a value the question states.
        # Of number questions, a count of times answers only those asking for a count
        # ("how long did the call last?" is not asking how many calls there were).
        off_kind = SLOT_KINDS[slot] != kind or (slot == "count" and not asks_count(question))
        asked_about: Callable[[SlotValue], bool] | None = None
        if question and off_kind:
            asked_about = partial(_stated_in, slot, question=question, asked_numbers=asked_numbers)
        stated = set(detector(answer_text).values())  # "at least three calls" states "3" too
        conflict = _first_conflict(slot, values, answer_text, stated, all_sentences, by_article, asked_about)
        if conflict is not None:
            found.append(conflict)
    return found


def _words(value: str) -> set[str]:
    return {w.lower() for w in value.split()}


_OFFERS_CHOICE = re.compile(r"\bor\b", re.I)


def _stated_in(slot: str, value: SlotValue, *, question: str, asked_numbers: set[str]) -> bool:
    """The question itself gives this slot a value: "They talked three times, right?"
    (the number and what was counted; "the two leaders" states no count)."""
    if slot == "name":
        # A name is asked about when the question offers a spelling, by any word of the
        # name ("Was it Rui Lopes or Rui Lopez?", "Lopes or Lopez?"); one it only mentions
        # ("What did Rui Lopes say?") asks nothing about how it is spelled.
        offers = _OFFERS_CHOICE.search(question) is not None
        return offers and bool({name_key(w) for w in value.value.split() if len(w) > 2} & words_in(question))
    if value.value.lower() in question.lower():
        return True
    if not value.value.startswith("at least "):
        return False
    number, counted = value.value.split()[2], value.value.split()[-1]
    if value.key not in asked_numbers:
        return False
    near = rf"\b(?:{re.escape(number)}|{re.escape(value.key)})\s+(?:\w+\s+){{0,2}}?{re.escape(counted[:4])}"
    return re.search(near, question, re.I) is not None


def _rivals(
    slot: str,
    values: Sequence[SlotValue],
    all_sentences: Sequence[str],
    by_article: Mapping[str, str] | None = None,
) -> Iterator[tuple[SlotValue, SlotValue]]:
    """Pairs of values from different articles that disagree about the same slot: never
    named together in one sentence, nor each in the other's article (an article that says
    both "Portugal" and "Lisbon" is giving a country and its city, not a rival)."""
    for i, x in enumerate(values):
        for y in values[i + 1 :]:
            if x.article_id == y.article_id or x.key == y.key:
                continue
            if slot == "place" and not (x.topics - _words(x.value)) & (y.topics - _words(y.value)):
                continue
            if slot == "name" and not _same_name_spelled_differently(x.key, y.key):
                continue
            if slot != "count" and _compatible(x.value, y.value, all_sentences):
                continue
            if (
                slot == "place"
                and by_article
                and (
                    mentions(by_article.get(x.article_id, ""), y.value)
                    or mentions(by_article.get(y.article_id, ""), x.value)
                )
            ):
                continue
            yield x, y


def _first_conflict(
    slot: str,
    values: Sequence[SlotValue],
    answer_text: str,
    stated: set[str],
    all_sentences: Sequence[str],
    by_article: dict[str, str],
    asked_about: Callable[[SlotValue], bool] | None = None,
) -> Conflict | None:
    """The first disagreement one side of which the answer states: in the source's words,
    or in its own words for the same value (`stated`: the keys the slot's detector reads
    in the answer, e.g. the count of "at least three phone conversations")."""
    # Specific values first: "Porto" vs "Lisbon", not "Portugal" (which every
    # article mentions) vs "Porto".
    spread = {v.value: sum(mentions(text, v.value) for text in by_article.values()) for v in values}
    values = sorted(values, key=lambda v: spread[v.value])
    for x, y in _rivals(slot, values, all_sentences, by_article):
        if not any(mentions(answer_text, v.value) or v.key in stated for v in (x, y)):
            # A name is stated by the word its spellings differ in: "the surname is Lopes".
            differing = set(x.value.split()) ^ set(y.value.split()) if slot == "name" else set()
            if not any(mentions(answer_text, w) for w in differing):
                continue
        if asked_about is not None and not (asked_about(x) or asked_about(y)):
            continue
        first, second = (x, y) if x.at <= y.at else (y, x)
        return Conflict(
            description=_TEMPLATES[slot].format(x=first.value, y=second.value, a=first.at, b=second.at),
            values=[first.value, second.value],
            citations=[first.at, second.at],
        )
    return None


def rival_sentences(
    candidates: Sequence[tuple[str, str]],
    chosen: Iterable[int],
    article_texts: Mapping[str, str] | None = None,
) -> list[int]:
    """Indexes of candidate sentences (article id, text) that state a different value for
    a slot one of the `chosen` sentences fills: the context must carry both sides of a
    disagreement, or neither the model nor the verifier can report it. `article_texts`
    as for `find_conflicts`."""
    chosen_set = set(chosen)
    texts = [text for _, text in candidates]
    extra: list[int] = []
    for slot, detector in DETECTORS.items():
        values = [
            SlotValue(value, key, i, article_id, topics_of(text))
            for i, (article_id, text) in enumerate(candidates)
            for value, key in detector(text).items()
        ]
        for x, y in _rivals(slot, values, texts, article_texts):
            for a, b in ((x, y), (y, x)):
                if a.at in chosen_set and b.at not in chosen_set and b.at not in extra:
                    extra.append(b.at)
    return extra


# --- false premises ---------------------------------------------------------------------------
def years_named(sentence: str) -> dict[str, str]:
    """ "last met in 2019": the years a sentence names."""
    return {year: year for year in years_in(sentence)}


# Words that say which way something went or how someone felt, each with its opposite:
# "why was the minister gloomy" when she "expressed optimism", "why will the levy rise" when
# it "might be cut". Generic news English. A direction of an amount counts only next to a
# word for an amount ("raise some issues" is not a rise), a length only next to a word for an
# event ("long-term ties" is neither); a word with a negation just before it ("does not
# ease") is left out, since its direction is the opposite one.
_POLES: dict[str, tuple[str, str, str | None]] = {
    "level": (
        r"lower(?:s|ed|ing)?|reduc(?:e|es|ed|ing|tion)|cut(?:s|ting)?|trim(?:s|med|ming)?|halv(?:e|es|ed|ing)"
        r"|slash(?:es|ed|ing)?|decreas(?:e|es|ed|ing)",
        r"rais(?:e|es|ed|ing)|increas(?:e|es|ed|ing)|hik(?:e|es|ed|ing)|doubl(?:e|es|ed|ing)|boost(?:s|ed|ing)?",
        r"tariffs?|dut(?:y|ies)|lev(?:y|ies)|rates?|tax(?:es)?|prices?|fees?",
    ),
    "length": (
        r"brief|short|shorter|quick",
        r"long|longer|lengthy|extended",
        r"meetings?|talks|sit-down|visit|call|session|summit|trip",
    ),
    "mood": (
        r"gloomy|gloom|pessimistic|pessimism|downbeat|glum|bleak|despondent",
        r"optimistic|optimism|upbeat|hopeful|confident|buoyant",
        None,
    ),
    # what someone made of a move: "why did the minister welcome the levy" when she "blasted" it
    "stance": (
        r"blast(?:s|ed|ing)?|critici[sz](?:e|es|ed|ing)|condemn(?:s|ed|ing)?|slam(?:s|med|ming)?"
        r"|denounc(?:e|es|ed|ing)|decr(?:y|ies|ied|ying)|lambast(?:s|ed|ing)?|rebuk(?:e|es|ed|ing)",
        r"welcom(?:e|es|ed|ing)|prais(?:e|es|ed|ing)|hail(?:s|ed|ing)?|applaud(?:s|ed|ing)?"
        r"|commend(?:s|ed|ing)?|endors(?:e|es|ed|ing)|laud(?:s|ed|ing)?",
        None,
    ),
}
_POLE_WORD = re.compile(r"[A-Za-z’'-]+")
_OBJECT = re.compile(r"the|a|an|reporters|journalists|press|media|him|her|them|us|me|you", re.I)
_NEGATED = re.compile(r"\b(?:not|never|no|without)\b|n[’']t\b", re.I)


def polarity(sentence: str, window: int = 5) -> dict[str, str]:
    """ "expressed optimism", "reduce the tariffs by half": the direction or mood a
    sentence gives, each keyed by its dimension and side ("mood:+")."""
    words = _POLE_WORD.findall(sentence)
    out: dict[str, str] = {}
    for i, word in enumerate(words):
        if "-" in word or (i and words[i - 1].lower() == "how"):
            continue  # "long-term", "how long"
        # "brief the press": a verb, where a length or a mood is an adjective or a noun.
        verb = i + 1 < len(words) and _OBJECT.fullmatch(words[i + 1]) is not None
        before = " ".join(words[max(0, i - 3) : i])
        for dimension, (minus, plus, near) in _POLES.items():
            if verb and dimension not in ("level", "stance"):
                continue
            for side, pole in (("-", minus), ("+", plus)):
                if not re.fullmatch(pole, word, re.I) or _NEGATED.search(before):
                    continue
                nearby = words[max(0, i - window) : i + window + 1]
                if near is None or any(re.fullmatch(near, w, re.I) for w in nearby):
                    out[word] = f"{dimension}:{side}"
    return out


# What a question can assert that the sources then contradict.
PREMISE_DETECTORS: dict[str, Detector] = {
    "place": meeting_place,
    "percent": rates_in,
    "year": years_named,
    "polarity": polarity,
}


def false_premise(question: str, passages: Sequence[Passage], *, directions: bool = True) -> Conflict | None:
    """A value the question takes for granted ("the talks in Singapore", "the 200%
    tariff", "why was she gloomy") that no source states, where a sentence that answers the
    question gives another value for the same slot about the same named things: the answer
    must say what the sources say instead. The conflict's first value is the question's.
    `directions=False`: the direction the question gives a rate ("the levy was doubled")
    is checked where the rate is worked out, not here."""
    relevant = _relevant_sentences(passages)
    # Their dates are what the sources say too: "this year" in a 2025 article is 2025.
    text = " ".join([*(p.text for p in passages), *(p.date.isoformat() for p in passages if p.date)])
    asked_topics = topics_of(question) | {w.lower() for w in re.findall(r"\b[A-Z][a-z]+", question)}
    given_directions: set[str] | None = None  # read once, only when the question gives one
    for slot, detector in PREMISE_DETECTORS.items():
        if slot == "polarity" and not directions:
            continue
        # "Did Ana Costa visit Lisbon in 2017?" is not answered by "Ana Costa last met the
        # mayor in 2019", nor "Did they sign a deal in 2018?" by "a deal for 2026" about others.
        year = slot == "year"
        for value, key in detector(question).items():
            # A direction word may be used in another sense ("raise some issues"): what
            # counts is whether any passage gives the question's direction at all.
            if slot == "polarity":
                if given_directions is None:
                    given_directions = set(polarity(text).values())
                stated = key in given_directions
            else:
                stated = mentions(text, value)
            if stated or any(key == k for _, s in relevant for k in detector(s).values()):
                continue
            found = [
                (passage, sentence, rivals[0])
                for passage, sentence in relevant
                if (rivals := [v for v, k in detector(sentence).items() if _rival_keys(slot, key, k)])
                and _about_the_same(
                    question,
                    value,
                    # A mood is someone's: "China's minister" opening a sentence names China too.
                    f"X {sentence}" if slot == "polarity" else sentence,
                    rivals[0],
                    asked_topics,
                    event=year,
                )
            ]
            if not found:
                continue
            if slot != "polarity":
                passage, _, rival = found[0]
                description = f"Correction: {rival}, not {value}."
                return Conflict(description=description, values=[value, rival], citations=[passage.n])
            # A mood or a direction is anyone's: the sentence sharing most with the question
            # is about whom it asks ("the minister's optimism", not the president's), and a
            # word alone ("long, not brief") is read best in the source's own words.
            asked_words = set(content_terms(question)) | asked_topics
            passage, sentence, rival = max(
                found, key=lambda f: len((set(content_terms(f[1])) | topics_of(f[1])) & asked_words)
            )
            said = sentence.strip().rstrip(".")
            end = "" if said.endswith(('."', ".”")) else "."  # a sentence closing a quotation
            return Conflict(
                description=f"Correction: {rival}, not {value}, as the articles put it: {said}{end}",
                values=[value, rival],
                citations=[passage.n],
            )
    return None


def _rival_keys(slot: str, asked: str, found: str) -> bool:
    """Whether a sentence's key is a rival of the question's: another value of the slot,
    or for a polarity the other side of the same dimension ("mood:+" for "mood:-")."""
    if slot == "polarity":
        return found != asked and found.split(":")[0] == asked.split(":")[0]
    return found != asked


def _about_the_same(
    question: str, value: str, sentence: str, rival: str, asked_topics: AbstractSet[str], *, event: bool
) -> bool:
    """Whether a sentence giving `rival` speaks of what the question gives `value` for: it
    shares a named thing with the question, or, when the question names nothing ("when the
    two leaders last met in 2017"), at least two of the question's other words. With `event`
    (a year, which belongs to an event, not to the people in it) it needs those words in any
    case, and the shared name too when the question names someone."""
    named = bool((topics_of(sentence) - _words(rival)) & asked_topics)
    names_someone = bool(topics_of(question))
    if not event and (named or names_someone):
        return named
    if names_someone and not named:
        return False
    # The words around each value, not names: "the leaders, who had two calls this year,
    # last met in 2019" dates their last meeting, not their calls.
    asked = set(content_terms(words_around(question, value))) - set(content_terms(rival))
    return len(asked & set(content_terms(words_around(sentence, rival)))) >= 2


def words_around(text: str, value: str, words: int = 6) -> str:
    """The words (not names) within `words` of where `value` stands in `text`."""
    at = text.find(value)
    if at < 0:
        return ""
    before = text[:at].split()[-words:]
    after = text[at + len(value) :].split()[:words]
    return " ".join(w for w in [*before, *after] if not w[:1].isupper())
