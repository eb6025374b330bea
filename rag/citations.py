"""Never trust the model's citations: check every answer sentence against its sources.

The verifier works in four steps, each a method:

1. `score_claims`: split the draft into sentences, clean each (markers and the phrases
   that only pointed at them go; an answer to "why" loses the question restated before
   its reason, `rag.premises.reason_only`), embed them once, and score how well every passage
   supports each one (content-word overlap + embedding cosine; a number the sources don't
   state caps the score below the threshold — the classic hallucination).
2. `attach_citations`: keep a sentence's own citation when it holds, else move it to the
   passage (or pair of passages) that does support it; remove what nothing supports,
   what only echoes the question, and hedges about the sources.
3. conflicts (`rag.conflicts`): where sources that answer the question disagree, make
   sure the answer gives both sides, cited.
4. `compose`: renumber citations in order of first use, quote the best sentence of each
   cited passage with its character span in the article, and write the text.

It does not decide whether to abstain: it reports what held up, and `rag.abstention`
makes that call with the other signals.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

import numpy as np

from rag.chunking import sentence_spans
from rag.conflicts import false_premise, find_conflicts
from rag.dates import (
    COMMON_YEAR,
    annotate_relative_dates,
    annotate_weekdays,
    asked_date_event,
    asks_day_count,
    asks_year_count,
    clause_date,
    date_weekdays,
    dated_positions,
    dates_meant,
    day_count,
    day_count_events,
    format_day,
    names_a_day,
    point_dates,
)
from rag.embedding import Embedder
from rag.premises import date_premise, event_premise, names_every, reason_only
from rag.prompts import ABSTAIN_TEXT, MODEL_ABSTAIN
from rag.rates import RateQuestion, rate_change, rate_question
from rag.roles import holder_misattribution, misattribution, role_correction
from rag.speakers import misquoted
from rag.text import (
    clean_claim,
    content_terms,
    derived_quantities,
    lexical_overlap,
    match_score,
    measured_quantities,
    name_among,
    names_in,
    numbers_in,
    parse_markers,
    quantities,
    question_names,
    rates_in,
    strip_markers,
    without_dateline,
    words_in,
    written_number,
    years_in,
)
from rag.types import Citation, ClaimCheck, Conflict, Context, Passage, Span

_Found = TypeVar("_Found")  # what a sentence scan reads from the sentence it picks
SUPPORT_THRESHOLD = 0.5
_HEDGE = re.compile(
    r"(I don'?t know|do(es)? not (contain|provide|mention|say|specify)|don'?t (say|mention|specify)|"
    r"no information|not (mentioned|specified|stated)|cannot (be )?(determine|answer)|unable to)",
    re.I,
)
_MARKER = re.compile(r"\[(\d+)\]")
_CLAUSE = re.compile(r"\s*(?:;|,\s*(?:and|but|while|whereas|although)\b|\s+while\s+|\s+whereas\s+)\s*", re.I)


@dataclass(frozen=True)
class Verified:
    text: str
    citations: list[Citation]
    claims: list[ClaimCheck]
    conflicts: list[Conflict]
    model_abstained: bool = False
    supported: int = 0  # answer sentences that held up
    # Set when the draft gives someone an office or a country the sources never give them
    # (`rag.roles`): the model named the wrong person, so nothing else it said is kept.
    misattributed: str | None = None
    # The answer opens with a correction of the question's premise (`false_premise` …).
    corrected: bool = False

    @property
    def empty(self) -> bool:
        return self.supported == 0


@dataclass
class ScoredClaim:
    raw: str
    text: str
    cited: list[int]
    vector: np.ndarray
    hedge: bool = False
    asked: frozenset[str] = frozenset()  # the question's content words


def is_model_abstention(text: str) -> bool:
    cleaned = strip_markers(text).strip().strip('"').lower()
    return cleaned.startswith(MODEL_ABSTAIN.lower().rstrip(".")) or cleaned.startswith(
        ABSTAIN_TEXT.lower().rstrip(".")
    )


def split_claims(text: str) -> list[str]:
    """Answer sentences, each with the markers that follow it (markers after the final
    period belong to the sentence before)."""
    text = text.strip()
    claims: list[str] = []
    for s, e in sentence_spans(text):
        piece = text[s:e].strip()
        lead = re.match(r"^(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+", piece)
        if claims and lead:
            claims[-1] = f"{claims[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            claims.append(piece)
    return claims


def renumber(text: str, order: dict[int, int]) -> str:
    return _MARKER.sub(lambda m: f"[{order.get(int(m.group(1)), int(m.group(1)))}]", text)


class Verifier:
    def __init__(self, embedder: Embedder, threshold: float = SUPPORT_THRESHOLD) -> None:
        self._embedder = embedder
        self._threshold = threshold

    # --- step 1 -------------------------------------------------------------------------
    def score_claims(
        self, draft_text: str, context: Context
    ) -> tuple[list[ScoredClaim], dict[int, list[Span]], dict[int, np.ndarray]]:
        """Claims with their vectors, and every passage's sentences with theirs, from one
        embedding call."""
        passages = {p.n: p for p in context.passages}
        raws = split_claims(draft_text)
        texts = [reason_only(clean_claim(r), context.question) for r in raws]
        sentences = {n: _sentences(p) for n, p in passages.items()}
        all_sentences = [s.text for n in passages for s in sentences[n]]
        vectors = self._embedder.embed(texts + all_sentences)
        claims = [
            ScoredClaim(
                raw=raw,
                text=text,
                cited=[n for n in dict.fromkeys(parse_markers(raw)) if n in passages],
                vector=vec,
                hedge=bool(_HEDGE.search(text)),
                asked=frozenset(content_terms(context.question)),
            )
            for raw, text, vec in zip(raws, texts, vectors[: len(raws)], strict=True)
        ]
        sentence_vectors: dict[int, np.ndarray] = {}
        offset = len(raws)
        for n in passages:
            sentence_vectors[n] = vectors[offset : offset + len(sentences[n])]
            offset += len(sentences[n])
        return claims, sentences, sentence_vectors

    def support(
        self,
        claim: ScoredClaim,
        group: Sequence[Passage],
        vectors: Sequence[np.ndarray],
        exempt: set[str],
        exempt_names: frozenset[str] | set[str] = frozenset(),
    ) -> float:
        """How well a group of passages, read together, supports one claim: a sentence
        may combine facts from two sources ("brokered in May [1] … expires Nov. 10 [2]")."""
        # The prompt may show relative dates resolved ("Thursday (Oct 30, 2025)") and
        # absolute ones with their weekday ("Oct. 31 (Friday)"), both worked out in code
        # from the article's own date: a claim repeating them is supported by the passage.
        seen = " ".join(
            annotate_weekdays(annotate_relative_dates(p.text, p.date), p.date)
            + (f" {p.date:%A %B} {p.date.day}, {p.date.year}" if p.date else "")
            for p in group
        )
        # What the claim adds to the question must be in the sources; the words it echoes
        # from the question ("the spokeswoman who announced it is …") prove nothing.
        terms = set(content_terms(claim.text))
        terms = (terms - claim.asked) or terms
        lexical = len(terms & set(content_terms(seen))) / len(terms) if terms else 0.0
        cosine = max((float(np.max(v @ claim.vector)) for v in vectors if len(v)), default=0.0)
        score = 0.5 * lexical + 0.5 * max(cosine, 0.0)
        unexplained = numbers_in(claim.text) - numbers_in(seen) - exempt
        # An amount in a unit of measure must be in the sources in that unit: "lasted 30
        # minutes" is not supported by "October 30".
        unmeasured = {
            q for q in measured_quantities(claim.text) if q[0] not in exempt
        } - measured_quantities(seen)
        if unexplained or unmeasured:
            # A number worked out from the sources ("half of 20 per cent", the days
            # between two dates) is supported; a number from nowhere is invented.
            days = {day for p in group for day in dates_meant(p.text, p.date)}
            derived = derived_quantities(seen, days)
            worked_out = {v for v, unit in quantities(claim.text) if (v, unit) in derived}
            if unexplained - worked_out or bool(unmeasured - derived):
                return min(score, self._threshold - 0.01)
        if names_in(claim.text) - words_in(seen) - exempt_names:
            # A name the sources never use ("under the US Trade Act") is invented too.
            # (Titles count as names here, so "President" must appear somewhere too.)
            return min(score, self._threshold - 0.01)
        return score

    # --- step 2 -------------------------------------------------------------------------
    def attach_citations(
        self, claims: Sequence[ScoredClaim], context: Context, sentence_vectors: dict[int, np.ndarray]
    ) -> tuple[list[ClaimCheck], list[tuple[str, list[int]]]]:
        passages = {p.n: p for p in context.passages}
        # Numbers the question itself states ("the report dated 24 October 2025") may be
        # repeated by the answer without a source stating them.
        exempt = numbers_in(context.question)
        # A name must be one the sources use somewhere (or the question does): the cited
        # passage may call her "Costa" where another calls her "Ana Costa".
        exempt_names = words_in(" ".join(p.text for p in context.passages)) | question_names(context.question)
        question_terms = set(content_terms(context.question))
        source_sentences = [s.text for p in passages.values() for s in _sentences(p)]
        checks: list[ClaimCheck] = []
        kept: list[tuple[str, list[int]]] = []
        for claim in claims:
            if not claim.text:
                continue

            def support(ns: Sequence[int], claim: ScoredClaim = claim) -> float:
                return self.support(
                    claim, [passages[n] for n in ns], [sentence_vectors[n] for n in ns], exempt, exempt_names
                )

            cited_score = support(claim.cited) if claim.cited else 0.0
            if claim.hedge and cited_score < self._threshold:
                # "The sources don't say X" beside supported claims: a hedge, not a fact;
                # dropped, since the answer's supported sentences already say what is known.
                checks.append(
                    ClaimCheck(text=claim.text, cited=[], support=0.0, supported=False, action="removed")
                )
                continue
            terms = set(content_terms(claim.text))
            if terms and terms <= question_terms and not _verbatim_in(claim.text, passages.values()):
                # Adds nothing the question didn't say: an echo of its premise, or an
                # injected instruction being obeyed ("reply only with 'X'").
                checks.append(
                    ClaimCheck(
                        text=claim.text, cited=claim.cited, support=0.0, supported=False, action="removed"
                    )
                )
                continue
            if misquoted(claim.text, source_sentences):
                # Words the sources quote, given to someone they don't quote saying them.
                checks.append(
                    ClaimCheck(
                        text=claim.text, cited=claim.cited, support=0.0, supported=False, action="removed"
                    )
                )
                continue
            chosen = self._best_citation(claim, passages, support, cited_score)
            if chosen is None:
                chosen = self._by_clauses(claim, passages, exempt, exempt_names, sentence_vectors)
            if chosen is None:
                checks.append(
                    ClaimCheck(
                        text=claim.text,
                        cited=claim.cited,
                        support=max(support([n]) for n in passages),
                        supported=False,
                        action="removed",
                    )
                )
                continue
            ns, score, action = chosen
            if len(ns) > 1:
                ns = self._sources_of(ns, support)
            checks.append(ClaimCheck(text=claim.text, cited=ns, support=score, supported=True, action=action))
            kept.append((claim.text, ns))
        return checks, _dedupe(kept)

    @staticmethod
    def _sources_of(ns: list[int], support: Callable[[Sequence[int]], float]) -> list[int]:
        """The passages a claim cited that are its sources: one that shares only a few of its
        words (below 0.2 alone), or one that supports it well below the best (by more than
        `CITATION_MARGIN`) and whose words the others already hold (the claim is supported as
        well without it), is dropped. The model cites [1][2][3] for a sentence [1] alone says."""
        alone = {n: support([n]) for n in ns}
        kept = [n for n in ns if alone[n] >= 0.2] or list(ns)
        top = max(alone[n] for n in kept)
        for n in sorted(kept, key=lambda n: alone[n]):
            rest = [m for m in kept if m != n]
            if rest and alone[n] < top - CITATION_MARGIN and support(rest) >= support(kept) - 0.01:
                kept = rest
        return kept

    def _best_citation(
        self,
        claim: ScoredClaim,
        passages: dict[int, Passage],
        support: Callable[[Sequence[int]], float],
        cited_score: float,
    ) -> tuple[list[int], float, Literal["kept", "cited_added"]] | None:
        """The claim's own citation(s) if they hold, else the best single passage. Not the
        best two: two passages about different events combine into a fact neither states
        ("they last met in 2019 [1] in Porto [2]"); a sentence joining two facts is checked
        clause by clause instead."""
        singles = sorted(((support([n]), n) for n in passages), reverse=True)
        options: list[tuple[list[int], float, Literal["kept", "cited_added"]]] = [
            (claim.cited, cited_score, "kept"),
            ([singles[0][1]], singles[0][0], "cited_added"),
        ]
        return next(((ns, sc, act) for ns, sc, act in options if ns and sc >= self._threshold), None)

    def _by_clauses(
        self,
        claim: ScoredClaim,
        passages: dict[int, Passage],
        exempt: set[str],
        exempt_names: set[str],
        sentence_vectors: dict[int, np.ndarray],
    ) -> tuple[list[int], float, Literal["kept", "cited_added"]] | None:
        """A long sentence joining two facts ("brokered in May, and set to lapse on Nov.
        10") is supported when each of its clauses is, by whichever sources state it."""
        clauses = [c for c in _CLAUSE.split(claim.text) if len(content_terms(c)) >= 3]
        if len(clauses) < 2:
            return None
        vectors = self._embedder.embed(clauses)
        cited: list[int] = []
        scores = []
        for text, vector in zip(clauses, vectors, strict=True):
            part = ScoredClaim(raw=text, text=text, cited=claim.cited, vector=vector, asked=claim.asked)

            def support(ns: Sequence[int], part: ScoredClaim = part) -> float:
                return self.support(
                    part, [passages[n] for n in ns], [sentence_vectors[n] for n in ns], exempt, exempt_names
                )

            chosen = self._best_citation(part, passages, support, support(part.cited) if part.cited else 0.0)
            if chosen is None:
                return None
            cited.extend(n for n in chosen[0] if n not in cited)
            scores.append(chosen[1])
        return cited, min(scores), "kept" if cited == claim.cited else "cited_added"

    # --- step 4 -------------------------------------------------------------------------
    def compose(
        self,
        kept: list[tuple[str, list[int]]],
        conflicts: Sequence[Conflict],
        checks: Sequence[ClaimCheck],
        context: Context,
        sentences: dict[int, list[Span]],
        sentence_vectors: dict[int, np.ndarray],
    ) -> Verified:
        passages = {p.n: p for p in context.passages}
        parts: list[tuple[str, list[int]]] = list(kept)
        answer_plain = " ".join(t for t, _ in kept).lower()
        for conflict in conflicts:
            if not all(v.lower() in answer_plain for v in conflict.values):
                parts.append((conflict.description, []))
        order: dict[int, int] = {}
        for text, ns in parts:
            for n in [*ns, *(int(m) for m in _MARKER.findall(text))]:
                order.setdefault(n, len(order) + 1)
        written = []
        for text, ns in parts:
            markers = "".join(f"[{order[n]}]" for n in ns)
            body = renumber(text, order).rstrip()
            if markers and body[-2:] in ('."', ".”"):
                # A quotation ending the sentence: its full stop moves after the marker.
                written.append(f"{body[:-2]}{body[-1]} {markers}.")
            elif markers and body and body[-1] in ".!?":
                written.append(f"{body[:-1]} {markers}{body[-1]}")
            else:
                written.append(f"{body} {markers}.".strip() if markers else body)
        citations = [
            _citation(
                order[n],
                passages[n],
                [t for t, ns in parts if n in ns or f"[{n}]" in t],
                sentences[n],
                sentence_vectors[n],
                self._embedder,
            )
            for n in order
        ]
        renumbered = [
            c.model_copy(update={"cited": [order[n] for n in c.cited if n in order]}) if c.supported else c
            for c in checks
        ]
        final_conflicts = [
            c.model_copy(
                update={
                    "citations": [order.get(n, n) for n in c.citations],
                    "description": renumber(c.description, order),
                }
            )
            for c in conflicts
        ]
        return Verified(" ".join(written), citations, renumbered, final_conflicts, False, len(kept))

    # --- day counts ---------------------------------------------------------------------
    def date_events(
        self,
        events: list[str],
        context: Context,
        sentences: dict[int, list[Span]],
        sentence_vectors: dict[int, np.ndarray],
    ) -> list[tuple[str, list[dt.date], int]]:
        """Each event a day-count question names, with the date(s) its best-matching source
        sentence gives it and that passage's number; empty unless every event is dated.
        The small model finds such dates unreliably and counts between them worse, while
        which sentence dates "her arrival in Lisbon" is a similarity question we answer
        well: a sentence holding a date and most of the event's words."""
        year_known = _first_date(context.passages) is not None
        year_from = _year_from(context.passages)
        used = words_in(" ".join(p.text for p in context.passages))
        out: list[tuple[str, list[dt.date], int]] = []
        for event, vector in zip(events, self._embedder.embed(events), strict=True):
            terms = tuple(dict.fromkeys(content_terms(event)))
            other = next((e for e in events if e != event), None)
            # A name the sources use, missing from a sentence, puts it about something else
            # ("the minister's visit to Spain" is not dated by her visit to Portugal); a name
            # they never use ("the Iberian summit") is the reader's own wording.
            named = names_in(f"the {event}") & used  # ("the": its first word counts too)

            def dates_of(
                p: Passage, span: Span, event: str = event, other: str | None = other, named: set[str] = named
            ) -> tuple[str, list[tuple[int, dt.date]]] | None:
                annotated, dated = dated_positions(span.text, p.date, year_from)
                if other is not None:
                    dated = point_dates(event, annotated, dated)
                words = words_in(without_dateline(span.text))
                if not dated or not all(name_among(n, words) for n in named):
                    return None
                return annotated, dated

            best = _best_sentence(
                context, sentences, sentence_vectors, vector, terms, dates_of, need_overlap=True
            )
            days = _dates_for(event, other, *best[2]) if best else []
            if not best or not days:
                return []
            out.append((event, days, best[1]))
        if len(out) == 2 and out[0][1] == out[1][1]:
            return []  # both matched one date: one of them matched the wrong sentence
        spread = max(d for _, ds, _ in out for d in ds) - min(d for _, ds, _ in out for d in ds)
        if not year_known and spread.days > 183:
            return []  # Dec. 30 and Jan. 2 in an unknown year: no way to tell their order
        return out

    def date_one_event(
        self,
        event: str,
        context: Context,
        sentences: dict[int, list[Span]],
        sentence_vectors: dict[int, np.ndarray],
    ) -> tuple[str, list[int], dt.date] | None:
        """The answer to "when did X happen?" from the context sentence that matches X best
        (every name of X the sources use in it, `MATCH_MIN_SCORE`) and gives X one date in
        the clause about it (`clause_date`): that date, then the sentence, cited. None when
        no sentence dates X plainly."""
        used = words_in(" ".join(p.text for p in context.passages))
        named = names_in(f"the {event}") & used
        year_from = _year_from(context.passages)

        def dates_of(p: Passage, span: Span) -> tuple[str, list[tuple[int, dt.date]]] | None:
            annotated, dated = dated_positions(span.text, p.date, year_from)
            dated = point_dates(event, annotated, dated)
            # A capital names its country ("Lisbon confirmed" / "Portugal confirmed").
            if not dated or not names_every(" ".join(named), without_dateline(span.text)):
                return None
            return annotated, dated

        def names_its_day(_: Passage, span: Span) -> tuple[str, list[tuple[int, dt.date]]] | None:
            said = without_dateline(span.text)
            return ("", []) if names_a_day(said) and names_every(" ".join(named), said) else None

        vector = self._embedder.embed([event])[0]
        terms = tuple(dict.fromkeys(content_terms(event)))
        best = _best_sentence(
            context, sentences, sentence_vectors, vector, terms, dates_of, need_overlap=True
        )
        closest = _best_sentence(
            context, sentences, sentence_vectors, vector, terms, names_its_day, need_overlap=True
        )
        if best is None or (closest is not None and best[0] < closest[0] - _DATED_MARGIN):
            # The sentence naming a day that matches the event best gives a day we cannot
            # read (an undated article's "on Thursday"): a dated sentence about something
            # else must not date the event instead.
            return None
        _, n, (annotated, dated) = best
        day = clause_date(event, annotated, dated)
        if day is None:
            return None
        when = _day_written(day, _first_date(context.passages) is not None)
        said = without_dateline(annotated).strip().rstrip(".")
        return f"{when}: {said}.", [n], day

    def count_days(
        self,
        events: list[str],
        context: Context,
        sentences: dict[int, list[Span]],
        sentence_vectors: dict[int, np.ndarray],
    ) -> list[tuple[str, list[int]]]:
        """The answer to a day-count question, worked out from the sources: each event's
        date, cited, then the count ("The minister's arrival in Lisbon: Oct 27 [1]. Her
        meeting with the mayor: Oct 30 [2]. From Oct 27 to Oct 30 is 3 days."). Empty
        unless every event was dated."""
        dated = self.date_events(events, context, sentences, sentence_vectors)
        days = {d for _, ds, _ in dated for d in ds}
        count = day_count(context.question, days)
        if count is None:
            return []
        known = _first_date(context.passages) is not None

        def when(day: dt.date) -> str:
            return _day_written(day, known)

        lines = [
            (f"{event[0].upper()}{event[1:]}: {' to '.join(when(d) for d in ds)}.", [n])
            for event, ds, n in dated
        ]
        first, last = sorted(days)
        unit = "day" if count == 1 else "days"
        span = f"From {first:%b} {first.day} to {last:%b} {last.day}"
        total = (f"{span} is {count} {unit}.", list(dict.fromkeys(n for *_, n in dated)))
        return [*lines, total]

    def count_years(
        self,
        context: Context,
        sentences: dict[int, list[Span]],
        sentence_vectors: dict[int, np.ndarray],
    ) -> list[tuple[str, list[int]]]:
        """The answer to "How many years have passed since X?", worked out: the sentence
        that dates X to a past year (one year in it; `match_score` with the question at
        least `MATCH_MIN_SCORE`), cited, then the years from it to the year the reports
        were written ("Their last visit was in 2019 [1]. From 2019 to 2025 is 6 years.").
        Empty when no article is dated or no sentence names one past year."""
        now = _first_date(context.passages) or context.reported_on
        if now is None:
            return []
        terms = tuple(dict.fromkeys(content_terms(context.question)))
        (question_vector,) = self._embedder.embed([context.question])  # cached: retrieval embedded it

        def one_past_year(_: Passage, span: Span) -> tuple[int, str] | None:
            said = without_dateline(span.text)
            years = {int(y) for y in years_in(said)} - {now.year}
            if len(years) != 1:
                return None
            year = years.pop()
            return (year, said) if year < now.year else None

        best = _best_sentence(context, sentences, sentence_vectors, question_vector, terms, one_past_year)
        if best is None:
            return []
        _, n, (year, said) = best
        gap = now.year - year
        unit = "year" if gap == 1 else "years"
        return [(f"{said.strip().rstrip('.')}.", [n]), (f"From {year} to {now.year} is {gap} {unit}.", [n])]

    # --- rate changes -------------------------------------------------------------------
    def work_out_rate(
        self,
        asked: RateQuestion,
        context: Context,
        sentences: dict[int, list[Span]],
        sentence_vectors: dict[int, np.ndarray],
    ) -> list[tuple[str, list[int]]]:
        """The answer to "If the 20 per cent levy were halved, what would it be?", worked
        out from the sentence that gives the rate the question is about (one rate in it;
        `match_score` with the question at least `MATCH_MIN_SCORE`). Empty
        when no sentence does, or when the question states a change as fact or as a
        source's word that the sentence does not report ("the paper said it would be
        doubled" where it says "by half"): that premise is for the answer to correct, not to
        compute on. A question that only supposes a change ("If it were cut by 5 points")
        gets it worked out."""
        terms = tuple(dict.fromkeys(content_terms(context.question)))
        (question_vector,) = self._embedder.embed([context.question])  # cached: retrieval embedded it

        def one_rate(_: Passage, span: Span) -> str | None:
            rates = rates_in(span.text)
            return span.text if len(set(rates.values())) == 1 else None

        best = _best_sentence(context, sentences, sentence_vectors, question_vector, terms, one_rate)
        if best is None:
            return []
        _, n, text = best
        written, value = next(iter(rates_in(text).items()))
        rate, reported = float(value), rate_change(text)
        change = asked.change or reported
        correction: list[tuple[str, list[int]]] = []
        if asked.change and not asked.supposed and (reported is None or reported.label != asked.change.label):
            if reported is None:
                return []
            # The question states a change the source reports otherwise ("doubled" where it
            # says "by half"): correct it, then work out the change reported.
            correction = [(f"Correction: {reported.label}, not {asked.change.label}.", [n])]
            change = reported
        if change is None:
            return []
        new = change.apply(rate)
        diff = new - rate
        unit = re.search(r"%|per\s*cent", written, re.I)
        unit_text = "%" if unit is None or unit.group() == "%" else f" {unit.group()}"
        points = f"{written_number(abs(diff))} percentage points {'lower' if diff < 0 else 'higher'}"
        result = (
            f"{change.label.capitalize()}, that is {points}: {written_number(new)}{unit_text}."
            if asked.asks_change
            else f"{change.label.capitalize()}, that is {written_number(new)}{unit_text}, {points}."
        )
        return [*correction, (f"The rate the sources give is {written}.", [n]), (result, [n])]

    # --- all steps ----------------------------------------------------------------------
    def verify(self, draft_text: str, context: Context) -> Verified:
        if not context.passages:
            return Verified(ABSTAIN_TEXT, [], [], [], model_abstained=True)
        abstained = is_model_abstention(draft_text) or not draft_text.strip()
        rate_asked = rate_question(context.question)
        premise = (
            false_premise(
                context.question, context.passages, directions=rate_asked is None or rate_asked.change is None
            )
            or role_correction(context.question, context.passages)
            or event_premise(context.question, context.passages, context.article_texts)
            or date_premise(context.question, context.passages, context.article_texts)
        )
        events = day_count_events(context.question)
        years_asked = asks_year_count(context.question)
        if abstained and premise is None and not events and rate_asked is None and not years_asked:
            return Verified(ABSTAIN_TEXT, [], [], [], model_abstained=True)
        claims, sentences, sentence_vectors = self.score_claims("" if abstained else draft_text, context)
        checks, kept = self.attach_citations(claims, context, sentence_vectors)
        if premise is None:  # a corrected question keeps its correction, whatever the draft says
            sources = [*(p.text for p in context.passages), *context.article_texts.values()]
            wrong_person = next((w for c in claims if (w := misattribution(c.text, sources))), None) or (
                # The answer's first sentence that stands offers who was asked for.
                holder_misattribution(context.question, kept[0][0], sources) if kept else None
            )
            if wrong_person:
                return Verified(ABSTAIN_TEXT, [], checks, [], misattributed=str(wrong_person))
        counted = self.count_days(events, context, sentences, sentence_vectors) if events else []
        if counted:
            # The count worked out from the sources replaces the model's dates and counts.
            kept = [*counted, *((t, ns) for t, ns in kept if not _names_days(t, context.passages))]
        counted_years = self.count_years(context, sentences, sentence_vectors) if years_asked else []
        if counted_years:
            # The years worked out from the sources replace the model's own count.
            kept = [*counted_years, *((t, ns) for t, ns in kept if not _names_years(t))]
        worked_out = (
            self.work_out_rate(rate_asked, context, sentences, sentence_vectors) if rate_asked else []
        )
        if worked_out:
            # The rate worked out from the sources replaces the model's own percentages.
            kept = [*worked_out, *((t, ns) for t, ns in kept if not _names_rate(t))]
        asked_event = asked_date_event(context.question)
        if asked_event and not abstained and premise is None:
            dated = self.date_one_event(asked_event, context, sentences, sentence_vectors)
            by_n = {p.n: p for p in context.passages}
            if dated is not None and not any(dated[2] in _days_given(t, ns, by_n) for t, ns in kept):
                # The model dated another event of the sentence it read ("the meeting on
                # Oct. 30" for when the meeting was announced): the sources' date replaces its.
                kept = [dated[:2], *((t, ns) for t, ns in kept if not _names_days(t, context.passages))]
        if premise is not None:
            # Correct the question first; drop sentences that repeat its false value.
            wrong = premise.values[0].lower()
            # A sentence that repeated it before its reason ("X cancelled it because Y",
            # kept as "Because Y") goes too: its reason is for an event that didn't happen.
            restated = {c.text for c in claims if wrong in c.raw.lower()}
            kept = [(t, ns) for t, ns in kept if wrong not in t.lower() and t not in restated]
            # A correction quoting the source leaves nothing to a draft sentence saying the same.
            kept = _dedupe([(premise.description, premise.citations), *kept])
        if not kept:
            model_hedged = abstained or any(c.hedge for c in claims)
            return Verified(ABSTAIN_TEXT, [], checks, [], model_abstained=model_hedged)
        passages = {p.n: p for p in context.passages}
        kept = [(date_weekdays(t, [(passages[n].text, passages[n].date) for n in ns]), ns) for t, ns in kept]
        if asks_day_count(context.question) and not counted:
            kept = _with_day_count(kept, passages, context.question)
        conflicts = find_conflicts(
            context.passages, " ".join(t for t, _ in kept), context.question, context.article_texts
        )
        verified = self.compose(kept, conflicts, checks, context, sentences, sentence_vectors)
        return replace(verified, corrected=True) if premise is not None else verified


# The sentence an event is dated by, or a rate read from, must score this (`match_score`).
# On the gold set's dev contexts the sentences that really dated an event scored 0.61–1.06,
# and the best wrong ones 0.35–0.45. It keeps out weak matches only: an event the question
# gets wrong ("the minister's visit to Madrid") can match a dated sentence well, and is then
# dated by it unless a name or the dateline rule keeps it out.
MATCH_MIN_SCORE = 0.55
# A cited passage supporting a claim this far below the best one is dropped when the others
# support the claim as well without it. Replaying the dev split's local drafts: citation
# precision 0.831 -> 0.846, no answer changed (0.2 gave the same).
CITATION_MARGIN = 0.1


# How far below the sentence that matches an event best the best dated one may score and
# still date it (`Verifier.date_one_event`).
_DATED_MARGIN = 0.05


def _best_sentence(
    context: Context,
    sentences: dict[int, list[Span]],
    sentence_vectors: dict[int, np.ndarray],
    vector: np.ndarray,
    terms: Sequence[str],
    read: Callable[[Passage, Span], _Found | None],
    *,
    need_overlap: bool = False,
) -> tuple[float, int, _Found] | None:
    """The context sentence that matches `vector`/`terms` best (`match_score`, at least
    `MATCH_MIN_SCORE`) among those `read` finds something in (a date, one rate), with its
    passage's number and what was read; with `need_overlap`, only sentences sharing a word."""
    best: tuple[float, int, _Found] | None = None
    for p in context.passages:
        for span, svec in zip(sentences[p.n], sentence_vectors[p.n], strict=True):
            if need_overlap and lexical_overlap(terms, span.text) == 0:
                continue
            found = read(p, span)
            if found is None:
                continue
            score = match_score(float(svec @ vector), terms, span.text)
            if best is None or score > best[0]:
                best = (score, p.n, found)
    return best if best is not None and best[0] >= MATCH_MIN_SCORE else None


def _first_date(passages: Iterable[Passage]) -> dt.date | None:
    """A dated passage's date: the year an undated one's "Oct. 27" is placed in."""
    return next((p.date for p in passages if p.date), None)


def _year_from(passages: Iterable[Passage]) -> dt.date:
    """Where an undated article's "Oct. 27" is placed: in a dated one's year, else in a
    common year (a day count is right either way unless it crosses a Feb. 29)."""
    return _first_date(passages) or COMMON_YEAR


def _names_years(text: str) -> bool:
    """Whether an answer sentence gives a number of years (the model's own count, which
    one worked out from the sources replaces)."""
    return any(unit == "year" for _, unit in quantities(text))


def _names_rate(text: str) -> bool:
    """Whether an answer sentence gives a rate or a change in one (the model's own, which
    a rate worked out from the sources replaces)."""
    return any(unit == "percent" for _, unit in quantities(text))


def _days_given(text: str, ns: Sequence[int], passages: dict[int, Passage]) -> set[dt.date]:
    """The days an answer sentence gives: a weekday resolved against the first dated
    passage it cites, a month-day placed in that passage's year (else a dated one's)."""
    fallback = _year_from(passages.values())
    published = next((passages[n].date for n in ns if n in passages and passages[n].date), fallback)
    return dates_meant(text, published)


def _day_written(day: dt.date, year_known: bool) -> str:
    """ "Oct 30, 2025", or "Oct 30" when no article gives the year."""
    return format_day(day) if year_known else f"{day:%b} {day.day}"


def _names_days(text: str, passages: Sequence[Passage]) -> bool:
    """Whether an answer sentence gives a date or a number of days (the model's own, which
    a count worked out from the sources replaces)."""
    published = _year_from(passages)
    return bool(dates_meant(text, published)) or any(unit == "day" for _, unit in quantities(text))


def _dates_for(
    event: str, other: str | None, annotated: str, dated: list[tuple[int, dt.date]]
) -> list[dt.date]:
    """The date(s) a sentence gives an event. For a question about one event's length, its
    first and last ("from Oct 31 to Nov 1"). Between two events, the date nearest this
    event's own words, and only if it is not nearer the other event's: in "the White House
    announced that they would meet on Oct. 30" the date is the meeting's, not the
    announcement's."""
    days = sorted({d for _, d in dated})
    if other is None:
        return days
    words = [(m.start(), set(content_terms(m.group(0)))) for m in re.finditer(r"[\w'’-]+", annotated)]
    present = set().union(*(terms for _, terms in words))
    mine, theirs = set(content_terms(event)), set(content_terms(other))
    # Each event's own words where the sentence has them; the words both share otherwise
    # ("the White House announcing the meeting" vs "the meeting itself": "meeting" is the
    # second event's, since "itself" is nowhere).
    own = (mine - theirs) & present or mine
    rival = (theirs - mine) & present or theirs

    def distance(at: int, terms: set[str]) -> int:
        return min((abs(at - spot) for spot, found in words if found & terms), default=len(annotated) + 1)

    at, day = min(dated, key=lambda pd: distance(pd[0], own))
    return [day] if distance(at, own) <= distance(at, rival) else []


def _with_day_count(
    kept: list[tuple[str, list[int]]], passages: dict[int, Passage], question: str
) -> list[tuple[str, list[int]]]:
    """A day-count question whose verified answer gives the two dates but no count gets
    the count, worked out here and cited to the sentences holding the dates."""
    days: set[dt.date] = set()
    cited: list[int] = []
    for text, ns in kept:
        found = _days_given(text, ns, passages)
        days |= found
        cited.extend(n for n in ns if found and n not in cited)
    if any(unit == "day" for _, unit in quantities(" ".join(t for t, _ in kept))):
        return kept  # the answer counted already (and any number it gave was checked)
    count = day_count(question, days)
    if count is None:
        return kept
    first, last = sorted(days)
    span = f"{first:%b} {first.day} to {last:%b} {last.day}"
    return [*kept, (f"From {span} is {count} day{'s' if count != 1 else ''}.", cited)]


def _dedupe(kept: list[tuple[str, list[int]]]) -> list[tuple[str, list[int]]]:
    """The 1.5B model sometimes says the same thing twice; keep the first."""
    out: list[tuple[str, list[int]]] = []
    seen: list[set[str]] = []
    for text, ns in kept:
        terms = set(content_terms(text))
        if terms and any(len(terms & s) / len(terms) >= 0.9 for s in seen):
            continue
        seen.append(terms)
        out.append((text, ns))
    return out


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
        claim_vecs = embedder.embed([strip_markers(c) for c in claims])
        terms = set(content_terms(" ".join(claims)))
        scores = []
        for s, v in zip(sentences, vecs, strict=True):
            lexical = len(terms & set(content_terms(s.text))) / max(len(terms), 1)
            scores.append(0.5 * lexical + 0.5 * float(np.max(claim_vecs @ v)))
        best = sentences[int(np.argmax(scores))]
    return p.cite(n, best)
