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
  (case-insensitive, curly quotes made straight, whitespace collapsed). Run errors count
  as incorrect.
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
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.types import Answer

QUESTION_TYPES = ("single", "multi", "temporal", "conflict", "numeric", "unanswerable", "adversarial")
RECALL_KS = (1, 3, 5)

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
    "latency_p50_s": False,
    "latency_p95_s": False,
}
# Gate-able with --fail-under ("below" only makes sense where higher is better).
FAIL_UNDER_METRICS = tuple(name for name, higher in METRIC_DIRECTIONS.items() if higher)


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

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


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
    """True when the answer contains any accept string (see module docstring)."""
    haystack = normalise(text)
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["recall_at"] = {str(k): v for k, v in self.recall_at.items()}
        return data


def score_question(
    item: GoldItem,
    answer: Answer | None,
    retrieved: Sequence[str] | None = None,
    *,
    latency_s: float | None = None,
    error: str | None = None,
) -> QuestionScores:
    """Score one answer. `retrieved` = article file names/ids of the retrieval hits in rank
    order (None when unknown, e.g. a remote endpoint); `latency_s` defaults to the
    answer's own total time."""
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
        correct = matched and not answer.abstained
        f1 = token_f1(answer.text, item.answer)
        citation_precision = ratio(sum(a in gold_sources for a in cited), len(cited))
        quote_precision = ratio(
            sum(any(quote_overlaps(c.quote, e) for e in item.evidence) for c in answer.citations),
            len(answer.citations),
        )
        citation_recall = ratio(len(gold_sources & set(cited)), len(gold_sources))
    else:
        matched = None
        correct = answer.abstained
        f1 = 1.0 if answer.abstained else 0.0
        citation_precision = quote_precision = citation_recall = None
    is_conflict = item.type == "conflict"
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
    return out


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
