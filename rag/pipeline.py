"""The stages wired together: question → hits → context → draft → verified `Answer`.

Built once from `Settings` (the service builds one per process, the CLI one per command);
clients and models load on first use or `warm_up()`, never at import.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Generator as Gen
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from rag.abstention import AbstentionPolicy
from rag.chunking import Chunker
from rag.citations import Verified, Verifier, is_model_abstention
from rag.config import Settings
from rag.context import ContextBuilder, ScoredSentence
from rag.corpus import SUPPORTED_SUFFIXES, iter_files
from rag.embedding import CachedEmbedder, build_embedder
from rag.errors import BylineError, GenerationFailed, InvalidInput, ModelUnavailable, NotFound, StoreEmpty
from rag.generation import ExtractiveGenerator, Generator, LocalServer, build_generator
from rag.ingest import Ingestor, ProgressFn
from rag.instructions import without_instructions
from rag.prompts import ABSTAIN_TEXT, MODEL_ABSTAIN
from rag.retrieval import HybridRetriever
from rag.store import ChromaStore
from rag.text import topic_terms
from rag.types import (
    Answer,
    Article,
    Backend,
    Context,
    Draft,
    Hit,
    IngestReport,
    SearchFilters,
    StoredArticle,
    Timings,
    Turn,
    Usage,
)

log = logging.getLogger("byline")

_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|there|that|this|those|these)\b", re.I
)


def standalone_question(question: str, history: Sequence[Turn] | None) -> str:
    """Make a follow-up ("and when is it?") searchable on its own by carrying over the
    previous question's words. Only questions that point back (a pronoun) or name too
    little to search for are follow-ups: "And who is the foreign ministry spokesperson?"
    is a new question, and mixing the old one in would answer that again. Retrieval and
    sentence selection see the result; the generator sees the question itself, with the
    earlier one as context only when it was needed."""
    if not history:
        return question
    previous = [t.content for t in history if t.role == "user"]
    if not previous:
        return question
    if len(topic_terms(question)) >= 2 and not _REFERS_BACK.search(question):
        return question
    return f"{question} (follow-up to: {previous[-1]})"


@dataclass(frozen=True)
class StreamEvent:
    kind: Literal["sources", "delta", "answer"]
    context: Context | None = None
    delta: str = ""
    answer: Answer | None = None


@dataclass(frozen=True)
class StoreStatus:
    """What is stored, and where: `byline stats`, `/readyz` and `byline doctor` show it."""

    kind: Literal["embedded", "server"]
    location: str
    data_dir: Path
    collection: str
    articles: int
    chunks: int


def sample_files(seeds_dir: Path) -> list[Path]:
    """The bundled sample articles that `byline ingest` (no paths) and a first start load."""
    if not seeds_dir.is_dir():
        return []
    return [p for p in iter_files([seeds_dir]) if p.suffix.lower() in SUPPORTED_SUFFIXES]


class Pipeline:
    def __init__(self, settings: Settings, generators: Mapping[Backend, Generator] | None = None) -> None:
        """`generators`: a backend's generator given instead of built from the settings (the
        eval replays stored drafts through everything after the model this way)."""
        self.settings = settings
        self.embedder = CachedEmbedder(build_embedder(settings))
        self.store = ChromaStore(settings, self.embedder.name)
        self.chunker = Chunker(settings)
        # Ingestion embeds each chunk once (unchanged chunks are skipped by id), so caching
        # its vectors would only hold memory (≈75 MB at the cache's 50k rows).
        self.ingestor = Ingestor(settings, self.embedder.inner, self.store, self.chunker)
        self.retriever = HybridRetriever(settings, self.embedder, self.store)
        self.context_builder = ContextBuilder(settings, self.embedder)
        self.verifier = Verifier(self.embedder)
        self.policy = AbstentionPolicy(settings)
        self._local_server = LocalServer(settings)
        self._generators: dict[Backend, Generator] = dict(generators or {})
        self.extractive = ExtractiveGenerator(self.settings)
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------
    @property
    def default_backend(self) -> Backend:
        return self.settings.resolved_llm_backend

    def generator(self, backend: Backend) -> Generator:
        with self._lock:
            if backend == "extractive":
                return self.extractive
            if backend not in self._generators:
                self._generators[backend] = build_generator(self.settings, backend, self._local_server)
            return self._generators[backend]

    def warm_up(self, backend: Backend | None = None) -> None:
        """Load everything a first question would: embedder, BM25 index, local model."""
        self.retriever.warm_up()
        generator = self.generator(backend or self.default_backend)
        warm = getattr(generator, "warm_up", None)
        if warm is not None:
            warm()

    def warm_up_generator_in_background(self, backend: Backend | None = None) -> threading.Thread:
        """Start loading the generator (for `local`, mapping the 1.1 GB model) while the
        caller retrieves: a one-shot CLI question pays load and retrieval side by side,
        not one after the other. The first generation waits on the same lock if the load
        hasn't finished; a failed load is reported there, by the question that needs it."""

        def load() -> None:
            warm = getattr(self.generator(backend or self.default_backend), "warm_up", None)
            try:
                if warm is not None:
                    warm()
            except BylineError:
                pass  # raised again, with its hint, when the question asks the generator

        thread = threading.Thread(target=load, name="byline-warm-up", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.store.close()

    def local_llm_base_url(self) -> str:
        """The in-process model's OpenAI-compatible endpoint (loads the model on first call);
        lets other tools (the eval's naive baseline) use the very same LLM."""
        return self._local_server.address()

    # --- ingestion -------------------------------------------------------------------
    def ingest(
        self, paths: Sequence[Path], *, prune: bool = False, progress: ProgressFn | None = None
    ) -> IngestReport:
        return self.ingestor.ingest_paths(paths, prune=prune, progress=progress)

    def ensure_seeded(self) -> IngestReport | None:
        """Ingest the bundled seeds when the store is empty (first run). When there are
        none to ingest the store stays empty, and questions then say so (`StoreEmpty`)."""
        if self.store.count() > 0:
            return None
        return self.ingest([self.settings.seeds_dir])

    # --- what is stored ----------------------------------------------------------------
    def list_articles(self) -> list[StoredArticle]:
        """Every stored article (without its chunks), by id."""
        return [_stored(row) for row in self.store.list_articles()]

    def get_article(self, article_id: str) -> StoredArticle:
        """One article with its chunks in order; `NotFound` when no such id is stored."""
        chunks = self.store.chunks_of(article_id)
        if not chunks:
            raise NotFound(
                f"no article with id {article_id!r}", "list ids with `byline stats` or GET /v1/documents"
            )
        first = chunks[0]
        return StoredArticle(
            id=first.article_id,
            title=first.title,
            date=first.date,
            source=first.source,
            url=first.url,
            file_name=first.file_name,
            version=first.version,
            n_chunks=len(chunks),
            chunks=chunks,
        )

    def delete_article(self, article_id: str) -> int:
        """Delete one article's chunks; how many. `NotFound` when no such id is stored."""
        return self.ingestor.delete_article(article_id)

    def ingest_articles(self, articles: Sequence[Article]) -> IngestReport:
        """Ingest already-parsed articles (an upload), replacing changed ones."""
        return self.ingestor.ingest_articles(articles)

    def vector_collection(self) -> Any:
        """The underlying chromadb collection, for tools that must read it directly: the
        eval's plain llama-index baseline and the benchmarks' raw-query floor."""
        return self.store.collection()

    def reset(self) -> None:
        """Drop every stored chunk (re-index, e.g. after changing the embedding model)."""
        self.store.reset_collection()

    @property
    def store_kind(self) -> Literal["embedded", "server"]:
        """Known without touching the store (readiness reports it even when it is down)."""
        return "server" if self.store.is_server else "embedded"

    @property
    def store_location(self) -> str:
        return self.store.location

    def store_status(self) -> StoreStatus:
        articles, chunks = self.store.counts()
        return StoreStatus(
            kind=self.store_kind,
            location=self.store_location,
            data_dir=self.settings.data_dir,
            collection=self.settings.collection,
            articles=articles,
            chunks=chunks,
        )

    def empty_store_error(self) -> StoreEmpty:
        """What an empty store tells whoever asks: what is empty, where, how to fill it."""
        s = self.settings
        where = self.store.location
        if not self.store.is_server:
            where += f", data dir {s.data_dir}"
        samples = sample_files(s.seeds_dir)
        if samples:
            seeds = f"`byline ingest` with no path loads the {len(samples)} bundled sample articles"
        else:
            seeds = f"no bundled sample articles were found at {s.seeds_dir}"
        return StoreEmpty(
            f"the store is empty: collection {s.collection!r} ({where}) holds no articles, "
            "so there is nothing to answer from",
            f"add articles with `byline ingest PATH…` or `POST /v1/documents`; {seeds}",
        )

    def _check_not_empty(self) -> None:
        """Called when retrieval found nothing: an empty store is an error, not an
        abstention (a filter that matches nothing still abstains)."""
        if self.store.count() == 0:
            raise self.empty_store_error()

    # --- question answering ----------------------------------------------------------
    def search(
        self, question: str, top_k: int | None = None, filters: SearchFilters | None = None
    ) -> list[Hit]:
        _check_question(question)
        hits = self.retriever.search(question, top_k, filters)
        if not hits:
            self._check_not_empty()
        return hits

    def retrieve(
        self, question: str, top_k: int | None = None, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """The chunks an answer is built from: the hybrid pool reranked by how well its
        best sentence answers the question (`search` is the hybrid ranking alone)."""
        _check_question(question)
        return self._retrieve(question, top_k, filters)[0]

    def _retrieve(
        self, question: str, top_k: int | None, filters: SearchFilters | None
    ) -> tuple[list[Hit], list[Hit], list[ScoredSentence]]:
        k = top_k or self.settings.top_k
        pool = self.retriever.search(question, max(k, self.settings.rerank_pool), filters)
        if not pool:
            self._check_not_empty()
        scored = self.context_builder.score_sentences(question, pool)
        return self.context_builder.rerank(pool, scored, k), pool, scored

    def _prepare(
        self,
        question: str,
        history: Sequence[Turn] | None,
        top_k: int | None,
        filters: SearchFilters | None,
        backend: Backend,
    ) -> tuple[str, list[Hit], Context, float]:
        _check_question(question)
        started = time.perf_counter()
        # Orders to the assistant inside the question are not part of what it asks.
        asked = without_instructions(question)
        standalone = standalone_question(asked, history)
        hits, pool, scored = self._retrieve(standalone, top_k, filters)
        budget = (
            self.settings.context_token_budget
            if backend == "local"
            else self.settings.context_token_budget * 2
        )
        context = self.context_builder.build(standalone, pool, budget, scored=scored)
        context = context.model_copy(update={"question": asked, "standalone_question": standalone})
        return standalone, hits, context, time.perf_counter() - started

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] | None = None,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        backend: Backend | None = None,
        deadline: float | None = None,
    ) -> Answer:
        answer: Answer | None = None
        for event in self.ask_stream(
            question, history=history, top_k=top_k, filters=filters, backend=backend, deadline=deadline
        ):
            if event.kind == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        history: Sequence[Turn] | None = None,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        backend: Backend | None = None,
        deadline: float | None = None,
    ) -> Iterator[StreamEvent]:
        """Sources first, then the draft's text as it is generated, then the verified
        answer (whose text may differ: unsupported sentences removed, citations fixed).
        `deadline` (a `time.monotonic()` instant, e.g. an HTTP request's) bounds the LLM
        call so the extractive fallback still fits before it."""
        started = time.perf_counter()
        chosen: Backend = backend or self.default_backend
        standalone, hits, context, retrieve_s = self._prepare(question, history, top_k, filters, chosen)
        yield StreamEvent(kind="sources", context=context)

        early = self.policy.before_generation(context)
        gen_started = time.perf_counter()
        if early:
            draft = Draft(text=ABSTAIN_TEXT, backend=chosen)
        else:
            draft = yield from self._draft(context, chosen, list(history or []), deadline)
        generate_s = time.perf_counter() - gen_started

        verify_started = time.perf_counter()
        reason: str | None = early
        if early:
            verified = self.verifier.verify(draft.text, context)
        else:
            verified, reason = self.finalize(context, draft.text, can_quote=draft.backend != "extractive")
        verify_s = time.perf_counter() - verify_started
        answer = Answer(
            question=question,
            standalone_question=standalone,
            text=ABSTAIN_TEXT if reason else verified.text,
            citations=[] if reason else verified.citations,
            abstained=reason is not None,
            abstain_reason=reason,
            conflicts=[] if reason else verified.conflicts,
            claims=verified.claims,
            backend=draft.backend,
            fallback_reason=draft.fallback_reason,
            fallback_from=draft.fallback_from,
            retrieved=[h.chunk.file_name or h.chunk.article_id for h in hits],
            timings=Timings(
                retrieve_s=retrieve_s,
                generate_s=generate_s,
                verify_s=verify_s,
                total_s=time.perf_counter() - started,
                time_to_first_token_s=draft.time_to_first_token_s,
            ),
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=draft.completion_tokens,
        )
        yield StreamEvent(kind="answer", answer=answer)

    def finalize(self, context: Context, draft_text: str, *, can_quote: bool) -> tuple[Verified, str | None]:
        """Verify a draft and let the policy decide: the verified answer, a quote of the
        best source sentence in its place, or an abstention (with its reason)."""
        verified = self.verifier.verify(draft_text, context)
        decision = self.policy.after_verification(context, verified, can_quote=can_quote)
        if decision.quote_instead:
            # The draft's claims stay on record (removed) beside the quote's.
            quoted = self.extractive.generate(context, giving=decision.quote_kind)
            removed = verified.claims
            verified = self.verifier.verify(quoted.text, context)
            verified = replace(verified, claims=[*removed, *verified.claims])
            decision = self.policy.after_verification(context, verified, can_quote=False)
        return verified, decision.reason if decision.abstain else None

    def _draft(
        self, context: Context, backend: Backend, history: list[Turn], deadline: float | None
    ) -> Gen[StreamEvent, None, Draft]:
        """The LLM's draft, streamed. A reply of "I don't know" is not streamed: the
        verified answer says what the reader gets. With `insist_after_abstain` the model is
        then asked once more, pressed to answer (`insist`); that reply is the draft unless
        the second ask fails."""
        generator = self.generator(backend)
        started = time.perf_counter()
        streamed = False
        try:
            replying = self._reply(generator, context, history, deadline, False)
            while True:
                try:
                    event = next(replying)
                except StopIteration as done:
                    text, usage, first = done.value
                    break
                streamed = True
                yield event
        except (GenerationFailed, ModelUnavailable) as exc:
            if backend == "extractive":
                raise
            fallback = self.extractive.generate(context, history)
            reason = f"{backend} backend failed ({exc.message}); answered extractively"
            yield StreamEvent(kind="delta", delta=("\n\n" if streamed else "") + fallback.text)
            return fallback.model_copy(update={"fallback_reason": reason, "fallback_from": backend})
        if first is not None:
            first -= started
        if self.settings.insist_after_abstain and backend != "extractive" and is_model_abstention(text):
            try:
                again, more, _ = yield from self._reply(generator, context, history, deadline, True)
            except (GenerationFailed, ModelUnavailable):
                log.warning("the second ask failed; the first reply (no answer) stands", exc_info=True)
            else:
                text = again
                usage = Usage(
                    prompt_tokens=usage.prompt_tokens + more.prompt_tokens,
                    completion_tokens=usage.completion_tokens + more.completion_tokens,
                )
        return Draft(
            text=text,
            backend=backend,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            time_to_first_token_s=first,
        )

    def _reply(
        self,
        generator: Generator,
        context: Context,
        history: list[Turn],
        deadline: float | None,
        insist: bool,
    ) -> Gen[StreamEvent, None, tuple[str, Usage, float | None]]:
        """One LLM reply: its text (cut to whole sentences if the token cap cut it), usage,
        and when its first piece came (`perf_counter`). Streamed as it comes, except while
        it may still be the model's "I don't know" reply."""
        pieces: list[str] = []
        first: float | None = None
        held = True
        stream = generator.stream(context, history, deadline, insist=insist)
        while True:
            try:
                piece = next(stream)
            except StopIteration as done:
                usage: Usage = done.value
                break
            if first is None:
                first = time.perf_counter()
            pieces.append(piece)
            if held and _could_be_abstention("".join(pieces)):
                continue
            yield StreamEvent(kind="delta", delta="".join(pieces) if held else piece)
            held = False
        text = "".join(pieces).strip()
        if not text:
            raise GenerationFailed("the LLM returned no text")
        if held and not is_model_abstention(text):
            yield StreamEvent(kind="delta", delta=text)  # it only began like one ("I …")
        if usage.completion_tokens >= self.settings.max_answer_tokens:
            text = complete_sentences(text)
        return text, usage, first


def _could_be_abstention(text: str) -> bool:
    """Whether a draft so far may still become the model's "I don't know" reply."""
    return is_model_abstention(text) or MODEL_ABSTAIN.lower().startswith(text.strip().lower())


MAX_QUESTION_CHARS = 2000

_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*")


def complete_sentences(text: str) -> str:
    """A draft cut by the token cap, without its unfinished last sentence (markers that
    close a sentence stay with it); unchanged when no sentence is complete."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()].rstrip() if ends else text


def _check_question(question: str) -> None:
    if not question or not question.strip():
        raise InvalidInput("the question is empty", "ask a question in words")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(
            f"the question is {len(question)} characters long",
            f"keep it under {MAX_QUESTION_CHARS} characters",
        )


__all__ = ["BylineError", "Pipeline", "StoreStatus", "StreamEvent", "sample_files", "standalone_question"]


def _stored(row: dict[str, Any]) -> StoredArticle:
    """A store metadata row (the article's first chunk's, plus its chunk count)."""

    def text(key: str) -> str | None:
        value = row.get(key)
        return str(value) if value not in (None, "") else None

    day = text("date")
    return StoredArticle(
        id=str(row["article_id"]),
        title=str(row.get("title", "")),
        date=dt.date.fromisoformat(day) if day else None,
        source=text("source"),
        url=text("url"),
        file_name=text("file_name"),
        version=str(row.get("content_hash", "")),
        n_chunks=int(row.get("chunks", 0)),
    )
