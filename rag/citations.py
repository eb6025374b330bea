"""Never trust the model's citations: check every answer sentence against its sources.

For each sentence of the draft: parse its [n] markers, drop those that point nowhere,
score how well the cited passages support it (content-word overlap + embedding cosine,
and every number it states must appear in a cited passage), move a citation to a passage
that does support it, add one where a supported sentence has none, and remove sentences
nothing supports. Then find where the sources disagree and make sure the answer says so.
Citations are renumbered in order of first use and carry a verbatim quote with its
character span in the article.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rag.chunking import sentence_spans
from rag.dates import annotate_relative_dates
from rag.embedding import Embedder
from rag.prompts import ABSTAIN_TEXT, MODEL_ABSTAIN
from rag.retrieval import content_terms
from rag.types import Citation, ClaimCheck, Conflict, Context, Passage, Span

SUPPORT_THRESHOLD = 0.5
_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_MARKER_LIST = re.compile(r"\s*\[\d+\](?:\s*(?:,|and|&)\s*\[\d+\])+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
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
_ABSTAIN_PATTERNS = re.compile(
    r"(I don'?t know|do(es)? not (contain|provide|mention|say|specify)|don'?t (say|mention|specify)|"
    r"no information|not (mentioned|specified|stated)|cannot (be )?(determine|answer)|unable to)",
    re.I,
)


@dataclass(frozen=True)
class Verified:
    text: str
    citations: list[Citation]
    claims: list[ClaimCheck]
    conflicts: list[Conflict]
    abstained: bool
    abstain_reason: str | None


def parse_markers(text: str) -> list[int]:
    out: list[int] = []
    for m in _MARKER.finditer(text):
        out.extend(int(x) for x in re.split(r"\s*[,;]\s*", m.group(1)))
    return out


_PREAMBLE = re.compile(
    r"^(?:based on|according to|from) (?:the )?(?:provided |given |numbered )?(?:sources|information)\s*,\s*",
    re.I,
)
_DANGLING_REF = re.compile(r"\b(?:according to|as (?:stated|reported|mentioned) in|per)\s*,\s*", re.I)


def tidy(text: str) -> str:
    """Drop the model's throat-clearing ("Based on the provided sources, ") and references
    left dangling once markers are moved ("According to [1], X" → "X")."""
    text = _DANGLING_REF.sub("", _PREAMBLE.sub("", text.strip()))
    return text[:1].upper() + text[1:]


def strip_markers(text: str) -> str:
    text = _MARKER_LIST.sub("", text)
    text = _MARKER_RUN.sub("", text)
    text = re.sub(r",(\s*,)+", ",", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()


def numbers_in(text: str) -> set[str]:
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[word])
    return found


def is_model_abstention(text: str) -> bool:
    cleaned = strip_markers(text).strip().strip('"').lower()
    return cleaned.startswith(MODEL_ABSTAIN.lower().rstrip(".")) or cleaned.startswith(
        ABSTAIN_TEXT.lower().rstrip(".")
    )


def split_claims(text: str) -> list[str]:
    """Answer sentences, each with the markers that follow it (markers after the final
    period belong to the sentence before)."""
    text = text.strip()
    spans = sentence_spans(text)
    claims: list[str] = []
    for s, e in spans:
        piece = text[s:e].strip()
        lead = re.match(r"^(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+", piece)
        if claims and lead:
            claims[-1] = f"{claims[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            claims.append(piece)
    return claims


class Verifier:
    def __init__(self, embedder: Embedder, threshold: float = SUPPORT_THRESHOLD) -> None:
        self._embedder = embedder
        self._threshold = threshold

    # --- scoring ---------------------------------------------------------------------
    def _support(
        self,
        claim: str,
        claim_vec: np.ndarray,
        group: Sequence[Passage],
        vecs: Sequence[np.ndarray],
        exempt: set[str],
    ) -> float:
        """How well a group of passages, read together, supports one claim: a sentence
        may combine facts from two sources ("brokered in May [1] … expires Nov. 10 [2]")."""
        # The prompt showed relative dates resolved ("Thursday (Oct 30, 2025)"): a claim
        # repeating them is supported by the passage.
        seen = " ".join(
            annotate_relative_dates(p.text, p.date)
            + (f" {p.date:%B} {p.date.day}, {p.date.year}" if p.date else "")
            for p in group
        )
        terms = set(content_terms(claim))
        have = set(content_terms(seen))
        lexical = len(terms & have) / len(terms) if terms else 0.0
        cosine = max((float(np.max(v @ claim_vec)) for v in vecs if len(v)), default=0.0)
        score = 0.5 * lexical + 0.5 * max(cosine, 0.0)
        if numbers_in(claim) - numbers_in(seen) - exempt:
            # A number the sources don't state is the classic hallucination.
            return min(score, self._threshold - 0.01)
        return score

    def verify(self, draft_text: str, context: Context) -> Verified:
        passages = {p.n: p for p in context.passages}
        if not passages:
            return Verified(ABSTAIN_TEXT, [], [], [], True, "no relevant passages were found")
        if is_model_abstention(draft_text) or not draft_text.strip():
            return Verified(ABSTAIN_TEXT, [], [], [], True, "the model found no answer in the sources")

        # Numbers the question itself states ("the report dated 24 October 2025") may be
        # repeated by the answer without a source stating them.
        exempt = numbers_in(context.question)
        question_terms = set(content_terms(context.question))
        claims = split_claims(draft_text)
        sentences = {n: _sentences(p) for n, p in passages.items()}
        all_sentence_texts = [s.text for n in passages for s in sentences[n]]
        claim_texts = [tidy(strip_markers(c)) for c in claims]
        vectors = self._embedder.embed(claim_texts + all_sentence_texts)
        claim_vecs = vectors[: len(claims)]
        sent_vecs: dict[int, np.ndarray] = {}
        offset = len(claims)
        for n in passages:
            k = len(sentences[n])
            sent_vecs[n] = vectors[offset : offset + k]
            offset += k

        checks: list[ClaimCheck] = []
        kept: list[tuple[str, list[int]]] = []
        hedges = 0
        for raw, plain, vec in zip(claims, claim_texts, claim_vecs, strict=True):
            if not plain:
                continue
            cited = [n for n in dict.fromkeys(parse_markers(raw)) if n in passages]

            def support(ns: Sequence[int], plain: str = plain, vec: np.ndarray = vec) -> float:
                return self._support(
                    plain, vec, [passages[n] for n in ns], [sent_vecs[n] for n in ns], exempt
                )

            singles = sorted(((support([n]), n) for n in passages), reverse=True)
            cited_score = support(cited) if cited else 0.0
            if _ABSTAIN_PATTERNS.search(plain) and cited_score < self._threshold:
                # "The sources don't say X" next to supported claims: a hedge, not a fact.
                hedges += 1
                checks.append(ClaimCheck(text=plain, cited=[], support=0.0, supported=True, action="kept"))
                kept.append((plain, []))
                continue
            claim_terms = set(content_terms(plain))
            if claim_terms and claim_terms <= question_terms and not _verbatim_in(plain, passages.values()):
                # Adds nothing the question didn't say: an echo of its premise, or an
                # injected instruction being obeyed ("reply only with 'X'").
                checks.append(
                    ClaimCheck(text=plain, cited=cited, support=0.0, supported=False, action="removed")
                )
                continue
            pair = [singles[0][1], singles[1][1]] if len(singles) > 1 else []
            options: list[tuple[list[int], float, Literal["kept", "cited_added"]]] = [
                (cited, cited_score, "kept"),
                ([singles[0][1]], singles[0][0], "cited_added"),
                (pair, support(pair) if pair else 0.0, "cited_added"),
            ]
            chosen = next(((ns, sc, act) for ns, sc, act in options if ns and sc >= self._threshold), None)
            if chosen is None:
                checks.append(
                    ClaimCheck(
                        text=plain, cited=cited, support=singles[0][0], supported=False, action="removed"
                    )
                )
                continue
            ns, score, action = chosen
            if len(ns) > 1:
                # Keep only the sources that add something to the claim.
                ns = [n for n in ns if support([n]) >= 0.2] or ns
            checks.append(ClaimCheck(text=plain, cited=ns, support=score, supported=True, action=action))
            kept.append((plain, ns))

        if len(kept) == hedges:
            return Verified(
                ABSTAIN_TEXT,
                [],
                checks,
                [],
                True,
                "no sentence of the draft answer was supported by the sources",
            )

        conflicts = find_conflicts(context, [n for _, ns in kept for n in ns])
        answer_plain = " ".join(t for t, _ in kept)
        for conflict in conflicts:
            if not all(v.lower() in answer_plain.lower() for v in conflict.values):
                a, b = conflict.citations[:2]
                kept.append((conflict.description, [a, b]))

        # Renumber citations in order of first use.
        order: dict[int, int] = {}
        for _, ns in kept:
            for n in ns:
                order.setdefault(n, len(order) + 1)
        parts = []
        for text, ns in kept:
            markers = "".join(f"[{order[n]}]" for n in ns)
            body = text.rstrip()
            if markers and body and body[-1] in ".!?":
                parts.append(f"{body[:-1]} {markers}{body[-1]}")
            else:
                parts.append(f"{body} {markers}.".strip() if markers else body)
        citations = [
            _citation(
                order[n],
                passages[n],
                [t for t, ns in kept if n in ns],
                sentences[n],
                sent_vecs[n],
                self._embedder,
            )
            for n in order
        ]
        renumbered = [
            c.model_copy(update={"cited": [order[n] for n in c.cited]}) if c.supported else c for c in checks
        ]
        final_conflicts = [
            cf.model_copy(update={"citations": [order.get(n, n) for n in cf.citations]}) for cf in conflicts
        ]
        return Verified(" ".join(parts), citations, renumbered, final_conflicts, False, None)


def _verbatim_in(claim: str, passages: Iterable[Passage]) -> bool:
    needle = re.sub(r"\W+", " ", claim).strip().lower()
    return bool(needle) and any(needle in re.sub(r"\W+", " ", p.text).lower() for p in passages)


def _sentences(p: Passage) -> list[Span]:
    return list(p.sentences) or [Span(start=p.start, end=p.end, text=p.text)]


def _citation(
    n: int, p: Passage, claims: Sequence[str], sentences: Sequence[Span], vecs: np.ndarray, embedder: Embedder
) -> Citation:
    """Quote the passage sentence that best supports the claims citing it."""
    best = sentences[0]
    if len(sentences) > 1 and claims:
        claim_vecs = embedder.embed(list(claims))
        terms = set(content_terms(" ".join(claims)))
        scores = []
        for s, v in zip(sentences, vecs, strict=True):
            lexical = len(terms & set(content_terms(s.text))) / max(len(terms), 1)
            scores.append(0.5 * lexical + 0.5 * float(np.max(claim_vecs @ v)))
        best = sentences[int(np.argmax(scores))]
    return p.cite(n, best)


# --- conflicts -------------------------------------------------------------------------
_PLACE = re.compile(r"\b(?:in|city of|at)\s+(?:the\s+)?(?:[a-z]+\s+)?(?:city of\s+)?([A-Z][a-z]{3,})\b")
_COUNT = re.compile(
    r"\bat least (one|two|three|four|five|six|seven|eight|nine|ten|\d+)\b\s+"
    r"(?:\w+\s+){0,2}?(times|calls|phone calls|meetings)",
    re.I,
)
_NAME = re.compile(r"\b([A-Z][a-z]{2,})\s+([A-Z][a-z]{3,})\b")
_NOT_PLACES = {
    "South",
    "North",
    "East",
    "West",
    "Asia",
    "Washington",
    "China",
    "The",
    "January",
    "February",
    "March",
    "April",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
}


def _edit1(a: str, b: str) -> bool:
    if a == b or len(a) != len(b):
        return False
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )


def find_conflicts(context: Context, cited: Sequence[int]) -> list[Conflict]:
    """Different values for the same slot in passages from different articles, at least
    one of them cited by the answer: a meeting place, a count of calls, a name's spelling.
    Deliberately narrow: a false conflict is worse than a missed one."""
    cited_set = set(cited)
    found: list[Conflict] = []
    passages = context.passages

    def slot_values(pattern: re.Pattern[str], p: Passage, group: int = 1) -> set[str]:
        return {m.group(group) for m in pattern.finditer(p.text)}

    # Meeting place: passages that talk about the meeting and place it in different cities.
    places: dict[str, set[int]] = {}
    for p in passages:
        if not re.search(r"\bmeet", p.text, re.I):
            continue
        for city in slot_values(_PLACE, p) - _NOT_PLACES:
            if re.search(
                rf"\b(meet\w*|summit|talks)\b[^.]*\b{city}\b|\b{city}\b[^.]*\b(meet\w*|summit)\b",
                p.text,
                re.I,
            ):
                places.setdefault(city, set()).add(p.n)
    _add_conflict(
        found, places, passages, cited_set, "Sources differ on the location: one says {x}, another says {y}."
    )

    counts: dict[str, set[int]] = {}
    for p in passages:
        for m in _COUNT.finditer(p.text):
            value = m.group(1).lower()
            counts.setdefault(_NUMBER_WORDS.get(value, value), set()).add(p.n)
    _add_conflict(
        found,
        counts,
        passages,
        cited_set,
        "Sources differ on the number: one says at least {x}, another says at least {y}.",
    )

    names: dict[str, set[int]] = {}
    for p in passages:
        for first, last in _NAME.findall(p.text):
            names.setdefault(f"{first} {last}", set()).add(p.n)
    for a_name, a_ns in names.items():
        for b_name, b_ns in names.items():
            if (
                a_name < b_name
                and a_name.split()[1] == b_name.split()[1]
                and _edit1(a_name.split()[0], b_name.split()[0])
            ):
                pair = {a_name: a_ns, b_name: b_ns}
                _add_conflict(
                    found, pair, passages, cited_set, "Sources spell the name differently: {x} and {y}."
                )
    return found


def _add_conflict(
    found: list[Conflict],
    values: dict[str, set[int]],
    passages: Sequence[Passage],
    cited: set[int],
    template: str,
) -> None:
    if len(values) < 2:
        return
    article_of = {p.n: p.article_id for p in passages}
    items = sorted(values.items(), key=lambda kv: min(kv[1]))
    for i, (x, xs) in enumerate(items):
        for y, ys in items[i + 1 :]:
            pairs = [(a, b) for a in xs for b in ys if article_of[a] != article_of[b]]
            if not pairs:
                continue
            relevant = [pr for pr in pairs if pr[0] in cited or pr[1] in cited]
            if not relevant:
                continue
            a, b = sorted(relevant, key=lambda pr: (pr[0] not in cited, pr[1] not in cited))[0]
            found.append(Conflict(description=template.format(x=x, y=y), values=[x, y], citations=[a, b]))
            return
