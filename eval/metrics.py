"""Deterministic scores for one answer against one gold item, and their aggregates.

Everything here is a pure function of its arguments (no models, no I/O), so a report can
be recomputed from stored answers, and a change in a score always means a change in the
answers or in the gold set — never in the scorer's mood. The optional LLM judge lives in
`eval.runner` and is reported separately.

Definitions (the report and the README refer to these):

- **Articles** are compared by file name without directory or extension ("stem"), so a
  citation that only carries an `article_id` (the stem for ingested files) still matches a
  gold source such as ``003_2910c2332927eb84.txt``.
- **Retrieval** ranks articles by their first appearance in the retrieved hits (several
  chunks of one article count once). recall@k = share of gold source articles among the
  first k articles; MRR = 1 / rank of the first gold article (0 when none is retrieved).
  Undefined (None) for questions without gold sources.
- **Correctness**: an unanswerable question is correct iff the answer abstained; an
  answerable one iff it did not abstain and its text contains an accept string
  (case-insensitive, curly quotes made straight, whitespace collapsed, citation markers
  such as "[1]" removed) and, for a false premise, does not restate the premise (below).
  Run errors count as incorrect.
- **Token F1** (SQuAD-style: lowercase, punctuation and a/an/the dropped) against the
  reference answer; for unanswerable questions 1.0 iff abstained, else 0.0, because any
  wording of "the articles don't say" is equally right.
- **Citation precision** = share of distinct cited articles that are gold sources;
  **quote precision** = share of citations whose quote overlaps some gold evidence quote;
  **citation recall** = share of gold source articles cited. All three only for
  answerable questions; precision needs at least one citation.
- **Quote overlap**: with content tokens (F1 tokens minus common function words), a quote
  and an evidence string overlap when at least half of the evidence's tokens occur in the
  quote, or at least half of the quote's tokens occur in the evidence (multiset counts).
  Either direction, because a citation may quote a whole sentence around a short evidence
  fragment, or a short clause of a long evidence sentence.
- **Support rate** = share of the answer's claims (sentences) the verifier marked
  supported by the passages they cite; undefined when the answer has no claims.
- **Abstention**: positive class = unanswerable, predicted positive = abstained.
  precision = TP / (TP + FP), recall = TP / (TP + FN); abstention rate = share abstained.
- **Conflict coverage** (type "conflict" only): correct AND cites at least two distinct
  articles — one source can't give both sides of a disagreement.
- **Latency** percentiles interpolate linearly between closest ranks (numpy's default).

Stage metrics ("the funnel"): which stage lost an answer. An answer is "present" in a text
when the text contains any accept string or any gold evidence span (the accept rule's
normalisation; also tried with parentheticals removed from both sides, because the prompt
annotates relative dates — "Thursday (Oct 23, 2025)" — and an evidence span may contain
"(APEC)"). Only for answerable questions, and only where the run recorded the stage's
text (in-process runs; naive and endpoint runs leave them undefined).

- **answer_in_chunks_at[k]** (k = 3, 6, 10, 20): present in the top-k retrieved chunks'
  texts, joined; **answer_in_prompt**: present in the passages as the model saw them;
  **answer_in_draft**: the generator's raw draft, before verification, contains an accept
  string (evidence spans don't count: a draft that merely quotes the evidence has not
  answered). **over_abstained**: in the prompt, yet the answer abstained.
- **lost_at**: for a wrong answerable answer, the stage that lost it: "retrieval" (not in
  the top-6 chunks, which the default top_k of 6 builds the prompt from), "context"
  (retrieved but not in the prompt), "reader" (in the prompt, not in the draft), "verifier"
  (in the draft, but the final answer is wrong). Named after the last stage that still had
  the answer, so a later stage that has it (a prompt built from deeper chunks) wins over
  an earlier miss. Undefined when correct or when a stage wasn't recorded.
- Aggregates: **chunk_recall_at_k** and **context_recall** = share of answerable questions
  whose answer was present there; **context_recall_of_retrieved** = in the prompt among
  those in the top-6 chunks; **reader_accuracy** = correct among those in the prompt;
  **over_abstention** = over-abstained among answerable (lower is better);
  **answerable_accuracy** = correct among answerable, **unanswerable_refused** = abstained
  among unanswerable, **false_premise_corrected** = correct among type "false_premise"
  (errors count as failures in these three, as in correctness).
- **False premises**: a false-premise item may list `premise` strings, the words in which
  an answer that takes the premise for granted restates it ("200%" for a question about
  a 200% tariff the articles put at 100%). An answer with a sentence that contains one of
  them (at a word start, the accept rule's normalisation) and does not say it is not so
  (no "not", "n't", "no", "never", "instead", "rather than" …) **restates the premise**
  and is wrong even when it also contains an accept string: "He chose Tokyo because the
  meeting in South Korea …" answers inside the premise. `premise_restated` holds those
  sentences; **premise_accepted** (count) = false-premise answers with any.
- **broken_answers** (count): answers with a sentence that marker removal left broken
  (`broken_sentences`); **filler_answers** (count): answers that talk about the sources
  instead of answering (`filler_phrases`). Both checked on the final answer text.
- **false_conflicts** (count): answers that report a conflict on a question whose gold item
  has no sides and is not of type "conflict".
- **conflict_both_sides** (items with "sides"): every side string appears in the answer
  AND at least two distinct articles are cited.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rag.text import strip_markers
from rag.types import Answer

# The kinds of question in the gold set (eval/gold/README.md says what each tests), in
# the order reports list them.
QuestionType = Literal[
    "single",
    "multi",
    "temporal",
    "conflict",
    "numeric",
    "unanswerable",
    "adversarial",
    "false_premise",
]
QUESTION_TYPES: tuple[QuestionType, ...] = get_args(QuestionType)
RECALL_KS = (1, 3, 5)
# Depths at which "is the answer in the retrieved chunks" is measured; the runner retrieves
# CHUNK_KS[-1] chunks for it. 6 is the default top_k: the chunks the prompt is built from.
CHUNK_KS = (3, 6, 10, 20)
PROMPT_K = 6

# Aggregate name -> True when higher is better. `--fail-under` accepts exactly these;
# `--compare` uses the direction to call a change an improvement or a regression.
METRIC_DIRECTIONS: dict[str, bool] = {
    "correctness": True,
    "token_f1": True,
    **{f"recall_at_{k}": True for k in RECALL_KS},
    "mrr": True,
    "citation_precision": True,
    "quote_precision": True,
    "citation_recall": True,
    "support_rate": True,
    "abstention_precision": True,
    "abstention_recall": True,
    "conflict_coverage": True,
    **{f"chunk_recall_at_{k}": True for k in CHUNK_KS},
    "context_recall": True,
    "context_recall_of_retrieved": True,
    "reader_accuracy": True,
    "answerable_accuracy": True,
    "unanswerable_refused": True,
    "false_premise_corrected": True,
    "conflict_both_sides": True,
    "over_abstention": False,
    "false_conflicts": False,
    "premise_accepted": False,
    "broken_answers": False,
    "filler_answers": False,
    "latency_p50_s": False,
    "latency_p95_s": False,
}
# Gate-able with --fail-under ("below" only makes sense where higher is better) and with
# --fail-over (the rest: rates and counts where lower is better, latencies).
FAIL_UNDER_METRICS = tuple(name for name, higher in METRIC_DIRECTIONS.items() if higher)
FAIL_OVER_METRICS = tuple(name for name, higher in METRIC_DIRECTIONS.items() if not higher)


class GoldItem(BaseModel):
    """One line of a gold file. Unknown extra fields are ignored so richer gold files
    (or future fields) still load."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str
    accept: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    type: str = Field(min_length=1)
    notes: str | None = None
    # Conflict items: the values each side states; a good answer names them all.
    sides: list[str] = Field(default_factory=list)
    # False-premise items: how an answer that takes the premise for granted restates it.
    premise: list[str] = Field(default_factory=list)
    # dev = tune against it; test = held out, for the numbers that get reported.
    split: Literal["dev", "test"] | None = None

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


NonBlank = Annotated[str, StringConstraints(pattern=r"\S")]


class StrictGoldItem(GoldItem):
    """One line of the gold set as eval/gold/README.md specifies it, for checking that file
    (`load_gold(path, StrictGoldItem)`): every field present, the question types and splits
    it names and no others, no field it doesn't describe, no blank strings, q###/r### ids.
    GoldItem stays lenient so that other gold files, with types or fields of their own,
    still load and score."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[qr]\d{3}$")]
    question: NonBlank
    answer: NonBlank
    accept: list[NonBlank]
    sources: list[NonBlank]
    evidence: list[NonBlank]
    type: QuestionType
    split: Literal["dev", "test"]
    sides: list[NonBlank] = Field(default_factory=list)
    premise: list[NonBlank] = Field(default_factory=list)

    @field_validator("notes", mode="before")
    @classmethod
    def _notes_are_text_when_given(cls, value: object) -> object:
        if value is None:
            raise ValueError("notes, when given, must be text (leave the field out instead)")
        return value


# --- text normalisation ----------------------------------------------------------------
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00a0": " ",
    }
)
_ARTICLES = frozenset({"a", "an", "the"})
_FUNCTION_WORDS = _ARTICLES | frozenset(
    "of to in on at for by with from and or but as is are was were be been has have had "
    "that this it its their his her they he she will would said says not".split()
)


def normalise(text: str) -> str:
    """Lowercase, curly quotes → straight, whitespace runs → one space (the accept rule)."""
    return re.sub(r"\s+", " ", text.translate(_QUOTES)).strip().lower()


def tokens(text: str) -> list[str]:
    """SQuAD-style answer tokens: normalised, punctuation split off, a/an/the dropped."""
    return [t for t in re.sub(r"[^0-9a-z]+", " ", normalise(text)).split() if t not in _ARTICLES]


def content_tokens(text: str) -> list[str]:
    """Tokens minus common function words: what quote overlap is measured on."""
    return [t for t in tokens(text) if t not in _FUNCTION_WORDS]


def accept_match(text: str, accept: Iterable[str]) -> bool:
    """True when the answer contains any accept string (see module docstring). Citation
    markers are not part of what the answer says: "November 1 [1]." gives "November 1."."""
    haystack = normalise(strip_markers(text))
    return any(normalise(a) and normalise(a) in haystack for a in accept)


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _covered(part: list[str], whole: list[str]) -> float:
    """Share of `part`'s tokens that occur in `whole` (multiset)."""
    if not part:
        return 0.0
    return sum((Counter(part) & Counter(whole)).values()) / len(part)


def quote_overlaps(quote: str, evidence: str, threshold: float = 0.5) -> bool:
    q, e = content_tokens(quote), content_tokens(evidence)
    if not q or not e:
        return False
    return _covered(e, q) >= threshold or _covered(q, e) >= threshold


_DOC_SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".json", ".jsonl"})


def article_key(name: str | None) -> str:
    """A file name or article id reduced to its stem, so the two compare equal."""
    if not name:
        return ""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.stem if path.suffix.lower() in _DOC_SUFFIXES else path.name


def ranked_articles(names: Iterable[str | None]) -> list[str]:
    """Article keys in order of first appearance (hits of one article count once)."""
    seen: dict[str, None] = {}
    for name in names:
        key = article_key(name)
        if key:
            seen.setdefault(key, None)
    return list(seen)


# --- retrieval ---------------------------------------------------------------------------
def recall_at_k(retrieved: Sequence[str], relevant: Iterable[str], k: int) -> float | None:
    gold = {article_key(r) for r in relevant} - {""}
    if not gold:
        return None
    top = set(ranked_articles(retrieved)[:k])
    return len(gold & top) / len(gold)


def reciprocal_rank(retrieved: Sequence[str], relevant: Iterable[str]) -> float | None:
    gold = {article_key(r) for r in relevant} - {""}
    if not gold:
        return None
    for rank, key in enumerate(ranked_articles(retrieved), 1):
        if key in gold:
            return 1.0 / rank
    return 0.0


# --- stages (the funnel) ------------------------------------------------------------------
_PARENTHETICAL = re.compile(r"\s*\([^()]*\)")


def _without_parentheticals(text: str) -> str:
    return normalise(_PARENTHETICAL.sub("", text))


def answer_present(text: str, item: GoldItem, *, evidence: bool = True) -> bool | None:
    """Whether `text` contains the item's answer: an accept string or (with `evidence`) a
    gold evidence span. None when the item gives nothing to look for, so a question
    without accept strings can't count as a retrieval miss."""
    needles = [n for n in (*item.accept, *(item.evidence if evidence else ())) if normalise(n)]
    if not needles:
        return None
    haystack = normalise(text)
    if any(normalise(n) in haystack for n in needles):
        return True
    # The prompt annotates relative dates in parentheses; compare without any parentheses.
    bare = _without_parentheticals(text)
    return any((b := _without_parentheticals(n)) and b in bare for n in needles)


def answer_in_chunks_at(chunk_texts: Sequence[str] | None, item: GoldItem) -> dict[int, bool | None]:
    """{k: answer present in the first k chunks} for k in CHUNK_KS; {} when not recorded
    or the question is unanswerable (nothing to find)."""
    if chunk_texts is None or not item.answerable:
        return {}
    return {k: answer_present("\n".join(chunk_texts[:k]), item) for k in CHUNK_KS}


_SENTENCE_END = re.compile(r"[.!?]+([\"'\u201d\u2019)]*)(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s|$)")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr gen sen rep gov lt col sgt prof inc corp co ltd vs etc no nos approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e a.m p.m".split()
)
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer: lines first, then sentence ends — not after abbreviations or
    initials ("U.S.", "Oct.", "Donald J. Trump"), nor after a quoted question or
    exclamation, or an ellipsis, that the sentence goes on from ('"Why?" he asked',
    "Xi... or so"): each would leave a next "sentence" that looks broken."""
    out: list[str] = []
    for line in text.splitlines():
        start = 0
        for m in _SENTENCE_END.finditer(line):
            word = re.search(r"([A-Za-z.]+)$", line[start : m.start()])
            if m.group().startswith(".") and word:
                stem = word.group(1).lower().rstrip(".")
                if stem in _ABBREVIATIONS or _INITIALS.fullmatch(word.group(1)):
                    continue
            quoted_or_trailing = m.group(1) or m.group().startswith("..")
            if quoted_or_trailing and line[m.end() :].lstrip()[:1].islower():
                continue
            out.append(line[start : m.end()].strip())
            start = m.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    return [s for s in out if s]


# Words that can't stand before a comma or a full stop: something after them was removed.
_DANGLING = r"(?:in|on|at|of|from|by|with|for|per|to|(?-i:the)|according to)"
_ENDLESS = (
    r"(?:according to|(?-i:the|a|an)|of|from|per|as|than|between|including|"
    r"(?:stated|reported|mentioned|noted|cited|shown|described|seen) in)"
)
# Each rule: a trace that removing a citation marker ("[1]") or a source reference leaves.
_BROKEN_RULES = (
    re.compile(rf"^{_DANGLING}\s*,", re.I),  # "In, Trump said"
    re.compile(rf"\b{_DANGLING}\s*,\s*(?:where|which|who|whom|that|when)\b", re.I),  # "in, where"
    re.compile(r"\baccording to\s*[,.;:]", re.I),
    re.compile(r"\b(?:stated|reported|mentioned|noted|said|shown|cited|described) in\s*[,;:]", re.I),
    re.compile(r"(?:,|\s)\.(?!\.|\d)"),  # " ." or ",." ("…" and ".5" are fine)
    re.compile(r",\s*,"),  # two commas
    re.compile(r"\(\s*\)|\[\s*\]"),  # an emptied parenthesis
    re.compile(rf"\b{_ENDLESS}\s*[.!?]+[\"'\u201d\u2019]*$", re.I),  # "… according to."
    # A padded closing quote ("here. \" [2]", "\"farmers, \" while"): an opening one is
    # never followed by a space.
    re.compile(r'(?:^|[.,;:!?])\s+"(?=\s|$)'),
)
_BULLET = re.compile(r"^(?:[-*\u2022]|\d+[.)])\s+")
_LOWERCASE_START = re.compile(r"^[a-z]+(?![A-Za-z])")  # "iPhone", "eBay" are names, not breaks


def broken_sentences(text: str) -> list[str]:
    """Sentences of an answer that look broken by marker edits (the verifier removing
    "[n]", or a sentence around it): a lowercase start, a preposition or article left
    before a comma or at the end, a space or comma before the full stop, doubled commas,
    empty parentheses, a padded closing quote, a marker stranded after the full stop.
    Markers still in place are fine: "In [1], Trump said" is whole, and a quotation may
    start in lowercase."""
    broken = []
    for sentence in split_sentences(text):
        body = _BULLET.sub("", sentence)
        stranded = not re.search(r"[^\W_]", strip_markers(body))  # '" [2].' after a full stop
        if stranded or _LOWERCASE_START.match(body) or any(rule.search(body) for rule in _BROKEN_RULES):
            broken.append(sentence)
    return broken


# A sentence that says something is not so, or puts the sources' version in its place.
_DENIAL = re.compile(
    r"n't\b|\b(?:not|no|never|neither|nor|instead|rather than|contrary|opposite|false|incorrect|"
    r"mistaken|correction)\b",
    re.I,
)


def premise_restated(text: str, premise: Iterable[str]) -> list[str]:
    """Sentences of an answer that state a false premise as true: they contain one of the
    item's `premise` strings, at the start of a word ("Vance", not "advance"), and deny
    nothing. "Trump did not choose Tokyo" and "in South Korea, not Tokyo" correct it;
    "Trump chose Tokyo because …" answers inside it. Any denial in the sentence clears it
    ("chose Tokyo because it did not want …" passes), so what this finds is a lower bound:
    it may miss an answer inside the premise."""
    patterns = [re.compile(r"(?<![0-9a-z])" + re.escape(normalise(p))) for p in premise if normalise(p)]
    if not patterns:
        return []
    return [
        sentence
        for sentence in split_sentences(strip_markers(text))
        if any(p.search(said := normalise(sentence)) for p in patterns) and not _DENIAL.search(said)
    ]


_SOURCES = r"(?:sources?|articles?|passages?|context|texts?|documents?|information)"
_FILLER = re.compile(
    "|".join(
        (
            r"\b(?:this|it|that) (?:can|could|may|might) be (?:inferred|concluded|deduced|determined)\b",
            r"\b(?:is|are|was|were|as) (?:stated|mentioned|noted|indicated) in\b",
            rf"\baccording to (?:the )?(?:provided|given|available|above|cited) {_SOURCES}",
            rf"\baccording to the {_SOURCES}\b",
            rf"\bthe (?:provided |given |cited )?{_SOURCES} (?:says?|states?|mentions?|indicates?|notes?|"
            r"suggests?|confirms?)\b",
            rf"\bbased on the (?:provided |given |available |above )?{_SOURCES}",
        )
    ),
    re.I,
)


def filler_phrases(text: str) -> list[str]:
    """Phrases that talk about the sources instead of answering ("This can be inferred",
    "according to the provided sources"): the citations already say where a fact is from.
    A named outlet ("According to Reuters") is attribution, not filler."""
    return [m.group(0) for m in _FILLER.finditer(text)]


FUNNEL_STAGES = (
    ("in_top_20", "in top-20 chunks"),
    ("in_top_6", "in top-6 chunks"),
    ("in_prompt", "in prompt"),
    ("in_draft", "in draft"),
    ("correct", "correct"),
)


# --- statistics ----------------------------------------------------------------------------
def percentile(values: Iterable[float], q: float) -> float | None:
    """q in [0, 100]; linear interpolation between closest ranks; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# --- one question ------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionScores:
    """Every deterministic score of one answer. None = not applicable to this question."""

    id: str
    type: str
    answerable: bool
    correct: bool
    token_f1: float
    abstained: bool | None = None
    accept_match: bool | None = None
    recall_at: dict[int, float | None] = field(default_factory=dict)
    mrr: float | None = None
    citation_precision: float | None = None
    quote_precision: float | None = None
    citation_recall: float | None = None
    support_rate: float | None = None
    conflict_covered: bool | None = None
    conflict_flagged: bool | None = None
    cited_articles: list[str] = field(default_factory=list)
    latency_s: float | None = None
    backend: str | None = None
    fallback: bool = False
    error: str | None = None
    # stages (see the module docstring); None / {} = not recorded or not applicable
    answer_in_chunks_at: dict[int, bool | None] = field(default_factory=dict)
    answer_in_prompt: bool | None = None
    answer_in_draft: bool | None = None
    over_abstained: bool | None = None
    lost_at: str | None = None
    broken_sentences: list[str] = field(default_factory=list)
    filler_phrases: list[str] = field(default_factory=list)
    premise_restated: list[str] = field(default_factory=list)
    false_conflict: bool | None = None
    conflict_both_sides: bool | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["recall_at"] = {str(k): v for k, v in self.recall_at.items()}
        data["answer_in_chunks_at"] = {str(k): v for k, v in self.answer_in_chunks_at.items()}
        return data

    def funnel(self) -> dict[str, bool | None]:
        """The FUNNEL_STAGES of this question, in order (None = not recorded / unanswerable)."""
        if not self.answerable:
            return {name: None for name, _ in FUNNEL_STAGES}
        return {
            "in_top_20": self.answer_in_chunks_at.get(20),
            "in_top_6": self.answer_in_chunks_at.get(PROMPT_K),
            "in_prompt": self.answer_in_prompt,
            "in_draft": self.answer_in_draft,
            "correct": self.correct,
        }


def lost_stage(
    correct: bool, in_top: bool | None, in_prompt: bool | None, in_draft: bool | None
) -> str | None:
    """The stage that lost a wrong answer's answer: the one after the last stage that still
    had it (module docstring). Counted from the end, so an answer that reached the prompt
    from below the top 6 blames the reader, not retrieval. None when correct, or when a
    stage wasn't recorded."""
    if correct or None in (in_top, in_prompt, in_draft):
        return None
    if in_draft:
        return "verifier"
    if in_prompt:
        return "reader"
    return "context" if in_top else "retrieval"


def score_question(
    item: GoldItem,
    answer: Answer | None,
    retrieved: Sequence[str] | None = None,
    *,
    latency_s: float | None = None,
    error: str | None = None,
    chunk_texts: Sequence[str] | None = None,
    prompt_text: str | None = None,
    draft: str | None = None,
) -> QuestionScores:
    """Score one answer. `retrieved` = article file names/ids of the retrieval hits in rank
    order (None when unknown, e.g. a remote endpoint); `latency_s` defaults to the
    answer's own total time. `chunk_texts` (the top retrieved chunks' texts, best first),
    `prompt_text` (the passages as the model saw them) and `draft` (the generator's raw
    text) feed the stage metrics; None where the run didn't record them."""
    if answer is None:
        return QuestionScores(
            id=item.id,
            type=item.type,
            answerable=item.answerable,
            correct=False,
            token_f1=0.0,
            error=error or "no answer",
        )
    cited = ranked_articles(c.file_name or c.article_id for c in answer.citations)
    gold_sources = {article_key(s) for s in item.sources} - {""}
    if item.answerable:
        matched = accept_match(answer.text, item.accept)
        restated = premise_restated(answer.text, item.premise) if item.type == "false_premise" else []
        correct = matched and not answer.abstained and not restated
        f1 = token_f1(answer.text, item.answer)
        citation_precision = ratio(sum(a in gold_sources for a in cited), len(cited))
        quote_precision = ratio(
            sum(any(quote_overlaps(c.quote, e) for e in item.evidence) for c in answer.citations),
            len(answer.citations),
        )
        citation_recall = ratio(len(gold_sources & set(cited)), len(gold_sources))
    else:
        matched = None
        restated = []
        correct = answer.abstained
        f1 = 1.0 if answer.abstained else 0.0
        citation_precision = quote_precision = citation_recall = None
    is_conflict = item.type == "conflict"
    in_chunks = answer_in_chunks_at(chunk_texts, item)
    in_prompt = answer_present(prompt_text, item) if item.answerable and prompt_text is not None else None
    in_draft = answer_present(draft, item, evidence=False) if item.answerable and draft is not None else None
    return QuestionScores(
        id=item.id,
        type=item.type,
        answerable=item.answerable,
        correct=correct,
        token_f1=f1,
        abstained=answer.abstained,
        accept_match=matched,
        recall_at={k: recall_at_k(retrieved, item.sources, k) for k in RECALL_KS}
        if retrieved is not None
        else {},
        mrr=reciprocal_rank(retrieved, item.sources) if retrieved is not None else None,
        citation_precision=citation_precision,
        quote_precision=quote_precision,
        citation_recall=citation_recall,
        support_rate=ratio(sum(c.supported for c in answer.claims), len(answer.claims)),
        conflict_covered=(correct and len(cited) >= 2) if is_conflict else None,
        conflict_flagged=bool(answer.conflicts) if is_conflict else None,
        cited_articles=cited,
        latency_s=answer.timings.total_s if latency_s is None else latency_s,
        backend=answer.backend,
        fallback=answer.fallback_reason is not None,
        error=error,
        answer_in_chunks_at=in_chunks,
        answer_in_prompt=in_prompt,
        answer_in_draft=in_draft,
        over_abstained=(in_prompt and answer.abstained) if in_prompt is not None else None,
        lost_at=lost_stage(correct, in_chunks.get(PROMPT_K), in_prompt, in_draft),
        broken_sentences=broken_sentences(answer.text),
        filler_phrases=filler_phrases(answer.text),
        premise_restated=restated,
        false_conflict=None if (item.sides or is_conflict) else bool(answer.conflicts),
        conflict_both_sides=(
            all(normalise(side) in normalise(answer.text) for side in item.sides) and len(cited) >= 2
            if item.sides
            else None
        ),
    )


# --- aggregates ------------------------------------------------------------------------------
def aggregate(scores: Sequence[QuestionScores]) -> dict[str, Any]:
    """Macro averages over the questions each metric applies to (None = none applied)."""
    ok = [s for s in scores if s.error is None]
    tp = sum(1 for s in ok if not s.answerable and s.abstained)
    fp = sum(1 for s in ok if s.answerable and s.abstained)
    fn = sum(1 for s in ok if not s.answerable and not s.abstained)
    conflicts = [s for s in ok if s.conflict_covered is not None]
    latencies = [s.latency_s for s in ok if s.latency_s is not None]
    out: dict[str, Any] = {
        "n": len(scores),
        "errors": len(scores) - len(ok),
        "correctness": ratio(sum(s.correct for s in scores), len(scores)),
        "token_f1": mean(s.token_f1 for s in scores),
    }
    for k in RECALL_KS:
        out[f"recall_at_{k}"] = mean(s.recall_at.get(k) for s in ok)
    out.update(
        {
            "mrr": mean(s.mrr for s in ok),
            "citation_precision": mean(s.citation_precision for s in ok),
            "quote_precision": mean(s.quote_precision for s in ok),
            "citation_recall": mean(s.citation_recall for s in ok),
            "support_rate": mean(s.support_rate for s in ok),
            "abstention_precision": ratio(tp, tp + fp),
            "abstention_recall": ratio(tp, tp + fn),
            "abstention_rate": ratio(sum(bool(s.abstained) for s in ok), len(ok)),
            "conflict_coverage": ratio(sum(bool(s.conflict_covered) for s in conflicts), len(conflicts)),
            "latency_p50_s": percentile(latencies, 50),
            "latency_p95_s": percentile(latencies, 95),
            "backends": dict(sorted(Counter(s.backend for s in ok if s.backend).items())),
            "fallbacks": sum(s.fallback for s in ok),
        }
    )
    out.update(stage_aggregates(scores))
    return out


def _share(flags: Iterable[bool | None]) -> float | None:
    """Share of True among the recorded (non-None) flags."""
    present = [f for f in flags if f is not None]
    return ratio(sum(present), len(present))


def stage_aggregates(scores: Sequence[QuestionScores]) -> dict[str, Any]:
    """The funnel's aggregates (module docstring): shares over the answerable questions
    where the stage was recorded, conditional shares, and counts of bad answers."""
    answerable = [s for s in scores if s.answerable]
    unanswerable = [s for s in scores if not s.answerable]
    premise = [s for s in scores if s.type == "false_premise"]
    out: dict[str, Any] = {
        f"chunk_recall_at_{k}": _share(s.answer_in_chunks_at.get(k) for s in answerable) for k in CHUNK_KS
    }
    out.update(
        {
            "context_recall": _share(s.answer_in_prompt for s in answerable),
            "context_recall_of_retrieved": _share(
                s.answer_in_prompt for s in answerable if s.answer_in_chunks_at.get(PROMPT_K)
            ),
            "reader_accuracy": _share(s.correct for s in answerable if s.answer_in_prompt),
            "over_abstention": _share(s.over_abstained for s in answerable),
            "answerable_accuracy": ratio(sum(s.correct for s in answerable), len(answerable)),
            "unanswerable_refused": ratio(sum(bool(s.abstained) for s in unanswerable), len(unanswerable)),
            "false_premise_corrected": ratio(sum(s.correct for s in premise), len(premise)),
            "conflict_both_sides": _share(s.conflict_both_sides for s in scores),
            "false_conflicts": sum(bool(s.false_conflict) for s in scores),
            "premise_accepted": sum(bool(s.premise_restated) for s in premise),
            "broken_answers": sum(bool(s.broken_sentences) for s in scores),
            "filler_answers": sum(bool(s.filler_phrases) for s in scores),
        }
    )
    return out


def funnel_counts(scores: Sequence[QuestionScores]) -> dict[str, int]:
    """How many answerable questions (with every stage recorded) reached each stage, in
    FUNNEL_STAGES order, plus "n": the questions counted. A stage that holds far fewer
    than the one before is where answers are lost."""
    stages = [f for s in scores if s.answerable and None not in (f := s.funnel()).values()]
    return {"n": len(stages), **{name: sum(bool(f[name]) for f in stages) for name, _ in FUNNEL_STAGES}}


def aggregate_by_type(scores: Sequence[QuestionScores]) -> dict[str, dict[str, Any]]:
    """Known types first in their canonical order, then any others a gold file uses."""
    present = list(dict.fromkeys(s.type for s in scores))
    order = [t for t in QUESTION_TYPES if t in present] + sorted(
        t for t in present if t not in QUESTION_TYPES
    )
    return {t: aggregate([s for s in scores if s.type == t]) for t in order}


def below_thresholds(
    aggregates: dict[str, Any], thresholds: dict[str, float]
) -> list[tuple[str, float | None, float]]:
    """(metric, value, threshold) for every gate that fails. A metric that could not be
    measured on this run (None, e.g. abstention recall without unanswerable questions)
    fails too: a gate that can't be checked must not pass silently."""
    failed = []
    for name, threshold in thresholds.items():
        value = aggregates.get(name)
        if value is None or value < threshold:
            failed.append((name, value, threshold))
    return failed


def above_thresholds(
    aggregates: dict[str, Any], thresholds: dict[str, float]
) -> list[tuple[str, float | None, float]]:
    """`below_thresholds` for metrics where lower is better (`--fail-over`): every gate
    whose value is above its threshold, or could not be measured."""
    failed = []
    for name, threshold in thresholds.items():
        value = aggregates.get(name)
        if value is None or value > threshold:
            failed.append((name, value, threshold))
    return failed
