"""Pick the few sentences that answer the question and number them as passages [1..k].

The embedded 1.5B model reads ~70 prompt tokens a second, so pasting whole chunks costs
seconds and buries the answer; we score every sentence of the retrieved chunks against
the question (embedding cosine + overlap of content words + a small prior from the
chunk's rank), keep the best within a token budget, pull in the sentence before one that
opens with a pronoun (so "He said…" keeps its subject), and merge neighbours of one
article into a single passage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.chunking import count_tokens, sentence_spans
from rag.config import Settings
from rag.conflicts import RELEVANCE_MARGIN, mentions, rival_sentences
from rag.dates import COMMON_YEAR, dated_positions, day_count_events
from rag.embedding import Embedder
from rag.people import Introduction, introductions, with_people
from rag.roles import country_key
from rag.text import (
    ANAPHORA,
    answer_kind,
    asks_locality,
    content_terms,
    cue_bonus,
    gives_kind,
    is_heading,
    lexical_overlap,
    localities_in,
    match_score,
)
from rag.types import Chunk, Context, Hit, Passage, Span

_SPLIT_QUESTION = re.compile(
    r",?\s+(?:and|but)\s+(?=(?:(?:on|in|at|by|for|from|to|since|until)\s+)?"
    r"(?:what|when|where|who|whom|which|how|why|is|are|did|does|was|were)\b)",
    re.I,
)


# A part of a compound question that points back at what the part before it asks about:
# "that official", "there", "on that issue" (not "that" opening a clause: "say that …").
_REFERS_BACK = re.compile(
    r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )\bthere\b"
    r"(?!\s+(?:is|are|was|were|be|been|will|would|has|have|had)\b)"
    r"|\b(?:that|those|this|these)\s+"
    r"(?!(?:the|a|an|he|she|they|it|we|is|was|are|were|has|had|have|will|would|could)\b)[a-z]+",
    re.I,
)


def sub_questions(question: str) -> list[str]:
    """Parts of a compound question ("Who confirmed X, and when did Y?"): each part must
    find its own evidence, or the model sees half the answer and abstains. A count of days
    between two events has one part per event: each is dated by its own sentence."""
    events = day_count_events(question)
    if len(events) == 2:
        return [f"When was {event}?" for event in events]  # "when": sentences with a date score up
    parts = [p.strip(" ?,") for p in _SPLIT_QUESTION.split(question)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts if len(parts) > 1 else []


@dataclass(frozen=True, eq=False)
class ScoredSentence:
    article_id: str
    chunk: Chunk
    start: int
    end: int
    text: str
    cosine: float
    overlap: float
    score: float
    vector: np.ndarray
    part_scores: tuple[float, ...] = ()
    introduced_in: tuple[int, ...] = ()  # where the article introduced the people it names by one word


def _repeats(sentence: ScoredSentence, chosen: Iterable[ScoredSentence]) -> bool:
    """Whether a sentence says what a chosen one already says (near-identical embedding)."""
    return any(float(sentence.vector @ c.vector) > 0.92 for c in chosen)


def _has_date(sentence: ScoredSentence) -> bool:
    # Any year serves an undated article: only whether the sentence names a day matters.
    return bool(dated_positions(sentence.text, sentence.chunk.date, COMMON_YEAR)[1])


def _seeds(scored: Sequence[ScoredSentence], dated: bool) -> list[ScoredSentence]:
    """Each part's best sentence, a different one per part: when one sentence scores best
    for both events of a day count (it names the first and mentions the second), the second
    event still needs a sentence of its own. A day count's parts take only sentences that
    name a day, since an event can only be dated by one."""
    seeds: list[ScoredSentence] = []
    for part in range(len(scored[0].part_scores)):
        ranked = sorted(scored, key=lambda s: s.part_scores[part], reverse=True)
        fitting = [s for s in ranked if s not in seeds and (not dated or _has_date(s))]
        seeds.append((fitting or ranked)[0])
    return list(dict.fromkeys(seeds))


# The country a place question is framed in: "where in Portugal", "which Portuguese
# city", "what town in Portugal" (not every country it names: "the Spanish minister").
_PLACE_FRAME = re.compile(
    r"\b(?i:where|city|town|village)\s+in\s+((?:[A-Z][\w.]*\s*){1,3})|"
    r"\b((?:[A-Z][\w.]*\s+){1,2})(?:city|town|village)\b"
)


def _place_seeds(
    question: str, scored: Sequence[ScoredSentence], article_texts: Mapping[str, str]
) -> list[ScoredSentence]:
    """When the best sentence does not give the place the question asks for (a city for
    "which city"), sentences that do, if relevant enough to be context at all: "Which
    city will they meet in?" is matched best by the sentence saying they meet in Portugal,
    but answered by the one that says Porto.

    Two places at most, those more reports name first: when the sources disagree about
    the city, the sentence matching the question's words best may be the minority's, and
    a city one report mentions in passing ("told a briefing in Madrid") is seldom the one
    asked about. Each place's sentence comes from a report that does not name the other
    place if one does: a report naming both gives them different roles (the talks in
    Porto, the summit in Braga), so its sentence alone says less about which is asked."""
    if answer_kind(question) != "place" or gives_kind(scored[0].text, "place", question):
        return []
    floor = scored[0].score - RELEVANCE_MARGIN
    framing = " ".join(" ".join(groups) for groups in _PLACE_FRAME.findall(question))
    framed = {c for word in framing.split() if (c := country_key(word.lower().removesuffix("'s")))}
    giving: dict[str, list[ScoredSentence]] = {}
    for s in scored:
        if s.score < floor:
            break
        if not gives_kind(s.text, "place", question):
            continue
        for place in localities_in(s.text) if asks_locality(question) else [""]:
            # "Which city in Portugal?" is not answered by Madrid, Spain's capital.
            capital_of = country_key(place.lower(), capitals=True)
            if not (framed and capital_of and capital_of not in framed):
                giving.setdefault(place, []).append(s)

    def reports(place: str) -> int:  # of what retrieval read, not only the close matches
        return sum(mentions(text, place) for text in article_texts.values())

    ranked = sorted(giving, key=lambda place: (-reports(place), -giving[place][0].score))[:2]
    seeds = [scored[0]]
    for place in ranked:
        other = [p for p in ranked if p != place]
        clean = [s for s in giving[place] if not any(mentions(article_texts[s.article_id], p) for p in other)]
        seeds.append((clean or giving[place])[0])
    return list(dict.fromkeys(seeds)) if ranked else []


def _people_of(
    items: Sequence[tuple[Chunk, int, int, str, int]],
) -> dict[tuple[str, int], dict[str, Introduction]]:
    """Who each sentence's one-word names are, read over each article's sentences in order
    (what retrieval read of it); an introduction's `sentence` is the start offset of the
    sentence that gave it."""
    by_article: dict[str, list[tuple[int, str]]] = {}
    for chunk, start, _, text, _ in items:
        by_article.setdefault(chunk.article_id, []).append((start, text))
    out: dict[tuple[str, int], dict[str, Introduction]] = {}
    for article_id, sentences in by_article.items():
        sentences.sort()
        for (start, _), people in zip(sentences, introductions([t for _, t in sentences]), strict=True):
            out[(article_id, start)] = {
                w: Introduction(i.who, sentences[i.sentence][0]) for w, i in people.items()
            }
    return out


class ContextBuilder:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self._settings = settings
        self._embedder = embedder

    def score_sentences(self, question: str, hits: Sequence[Hit]) -> list[ScoredSentence]:
        candidates: dict[tuple[str, int], tuple[Chunk, int, int, str, int]] = {}
        for rank, hit in enumerate(hits):
            chunk = hit.chunk
            for s, e in sentence_spans(chunk.text):
                key = (chunk.article_id, chunk.start + s)
                if key not in candidates:
                    candidates[key] = (chunk, chunk.start + s, chunk.start + e, chunk.text[s:e], rank)
        if not candidates:
            return []
        items = [item for item in candidates.values() if not is_heading(item[3])]
        if not items:
            return []
        people = _people_of(items)
        # Scored as if the article had said who they are: "Costa (Ana Costa, China director
        # at …) said" answers a question about the director.
        shown = [
            with_people(text, {w: i.who for w, i in people[(chunk.article_id, start)].items()})
            for chunk, start, _, text, _ in items
        ]
        parts = sub_questions(question)
        queries = [question, *parts]
        vectors = self._embedder.embed(queries + shown)
        query_vecs, sentence_vecs = vectors[: len(queries)], vectors[len(queries) :]
        cosines = sentence_vecs @ query_vecs.T
        terms = [content_terms(q) for q in queries]
        for i in range(2, len(queries)):
            if not _REFERS_BACK.search(queries[i]):
                continue
            # "… and what did that official say?": the part leans on what the one before
            # it finds, so it is read with the names of that part's best sentence ("that
            # official" is whoever that sentence names).
            before = [
                match_score(float(row[i - 1]), terms[i - 1], seen)
                for row, seen in zip(cosines, shown, strict=True)
            ]
            earlier = int(np.argmax(before))
            named = [w for w in re.findall(r"\b[A-Z][\w’'-]+", shown[earlier]) if w not in question]
            queries[i] = " ".join([queries[i], *dict.fromkeys(named)])
            cosines[:, i] = sentence_vecs @ self._embedder.embed([queries[i]])[0]
            terms[i] = content_terms(queries[i])
        scored = []
        for (chunk, start, end, text, rank), seen, cos_row, vec in zip(
            items, shown, cosines, sentence_vecs, strict=True
        ):
            per_query = [
                match_score(float(cos_row[i]), terms[i], seen) + cue_bonus(queries[i], seen)
                for i in range(len(queries))
            ]
            score = max(per_query[0], max(per_query[1:], default=0.0) - 0.02) + 0.03 / (1 + rank)
            scored.append(
                ScoredSentence(
                    chunk.article_id,
                    chunk,
                    start,
                    end,
                    text,
                    float(cos_row.max()),
                    lexical_overlap(terms[0], seen),
                    score,
                    vec,
                    tuple(per_query[1:]),
                    tuple(dict.fromkeys(i.sentence for i in people[(chunk.article_id, start)].values())),
                )
            )
        return sorted(scored, key=lambda s: s.score, reverse=True)

    def build(
        self,
        question: str,
        hits: Sequence[Hit],
        token_budget: int | None = None,
        scored: Sequence[ScoredSentence] | None = None,
    ) -> Context:
        """`scored`: the sentences of `hits` already scored (`score_sentences`), when the
        caller scored a wider pool to rerank it."""
        budget = token_budget or self._settings.context_token_budget
        scored = list(scored) if scored is not None else self.score_sentences(question, hits)
        if not scored:
            return Context(question=question, passages=[], best_relevance=0.0)
        by_position = {(s.article_id, s.start): s for s in scored}
        ordered_in_article: dict[str, list[ScoredSentence]] = {}
        for s in sorted(scored, key=lambda s: (s.article_id, s.start)):
            ordered_in_article.setdefault(s.article_id, []).append(s)

        chosen: dict[tuple[str, int], ScoredSentence] = {}
        used = 0
        best = scored[0].score
        # Each part of a compound question gets its best sentence first.
        seeds = _seeds(scored, dated=len(day_count_events(question)) == 2)
        article_texts = {a: " ".join(s.text for s in group) for a, group in ordered_in_article.items()}
        # The sentences giving the place asked for, even past the budget (as rivals are).
        places = _place_seeds(question, scored, article_texts)
        seeds += places
        order = list(dict.fromkeys([*seeds, *scored]))
        for s in order:
            if _repeats(s, chosen.values()):
                continue  # the same fact from another outlet adds tokens, not evidence
            if len({a for a, _ in chosen}) >= self._settings.context_max_passages and s.article_id not in {
                a for a, _ in chosen
            }:
                continue
            if chosen and s.score < best - 0.25 and s not in seeds:
                break  # far below the best: noise, not evidence
            group = [s]
            if ANAPHORA.match(s.text):
                siblings = ordered_in_article[s.article_id]
                i = siblings.index(by_position[(s.article_id, s.start)])
                if i > 0 and siblings[i - 1].end >= s.start - 2:
                    group.insert(0, siblings[i - 1])
            # The sentences that said who its one-word names are ("said Ana Costa, China
            # director at …" before "Costa said …").
            introducing = [by_position.get((s.article_id, at)) for at in s.introduced_in]
            group[:0] = [g for g in introducing if g is not None]
            group = list(dict.fromkeys(group))
            cost = sum(count_tokens(g.text) for g in group if (g.article_id, g.start) not in chosen)
            if chosen and used + cost > budget and s not in places:
                continue
            for g in group:
                chosen[(g.article_id, g.start)] = g
            used += cost
        used += self._add_rivals(scored, chosen, article_texts)
        passages = self._merge(chosen.values())
        return Context(
            question=question,
            passages=passages,
            best_relevance=max(s.cosine for s in scored),
            prompt_tokens_estimate=used,
            article_texts=article_texts,
            reported_on=max((s.chunk.date for s in scored if s.chunk.date), default=None),
        )

    @staticmethod
    def _add_rivals(
        scored: Sequence[ScoredSentence],
        chosen: dict[tuple[str, int], ScoredSentence],
        article_texts: dict[str, str],
    ) -> int:
        """Both sides of a disagreement, even past the budget: a chosen sentence that puts
        the meeting in Porto brings the equally relevant one that puts it in Lisbon."""
        best = scored[0].score
        candidates = [s for s in scored if s.score >= best - RELEVANCE_MARGIN]
        picked = {i for i, s in enumerate(candidates) if (s.article_id, s.start) in chosen}
        added: list[ScoredSentence] = []
        for i in rival_sentences([(s.article_id, s.text) for s in candidates], picked, article_texts):
            rival = candidates[i]
            if _repeats(rival, chosen.values()):
                continue  # a headline and its body sentence are one side, not two
            chosen[(rival.article_id, rival.start)] = rival
            added.append(rival)
            if len(added) == 2:
                break
        return sum(count_tokens(r.text) for r in added)

    @staticmethod
    def rerank(hits: Sequence[Hit], scored: Sequence[ScoredSentence], k: int) -> list[Hit]:
        """The `k` chunks of a wider pool whose best sentence answers the question best:
        a paraphrased question matches one sentence far better than a whole chunk, so the
        chunk's own fused rank is only the tie-break."""
        best: dict[str, float] = {}
        for s in scored:
            best[s.chunk.id] = max(best.get(s.chunk.id, float("-inf")), s.score)
        order = sorted(
            range(len(hits)), key=lambda i: (best.get(hits[i].chunk.id, float("-inf")), -i), reverse=True
        )
        return [hits[i] for i in order[:k]]

    def _merge(self, sentences: Iterable[ScoredSentence]) -> list[Passage]:
        """Adjacent sentences of one article become one passage; best passage first."""
        groups: list[list[ScoredSentence]] = []
        for s in sorted(sentences, key=lambda s: (s.article_id, s.start)):
            last = groups[-1][-1] if groups else None
            if last and last.article_id == s.article_id and s.start - last.end <= 2:
                groups[-1].append(s)
            else:
                groups.append([s])
        groups.sort(key=lambda g: max(s.score for s in g), reverse=True)
        passages = []
        for n, group in enumerate(groups, start=1):
            chunk = group[0].chunk
            passages.append(
                Passage(
                    n=n,
                    article_id=chunk.article_id,
                    title=chunk.title,
                    date=chunk.date,
                    source=chunk.source,
                    url=chunk.url,
                    file_name=chunk.file_name,
                    text=" ".join(s.text for s in group),
                    start=group[0].start,
                    end=group[-1].end,
                    relevance=max(s.cosine for s in group),
                    sentences=[Span(start=s.start, end=s.end, text=s.text, score=s.score) for s in group],
                )
            )
        return passages
