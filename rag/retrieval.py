"""Hybrid retrieval: dense (Chroma) + sparse (BM25) fused by reciprocal rank, then spread
across articles so a question several outlets answer gets several sources.

BM25 catches names and numbers MiniLM blurs (a rare surname, "20 per cent"); vectors catch
paraphrase. The BM25 index lives in memory, rebuilt from the store whenever the store's
revision changes — so stateless workers sharing one Chroma server stay in step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.config import Settings
from rag.embedding import Embedder
from rag.store import VectorStore
from rag.text import lexical_tokens
from rag.types import Chunk, Hit, SearchFilters

RRF_K = 60
_REVISION_TTL_S = 1.0
_SYNC_REBUILD_S = 0.5

logger = logging.getLogger("byline.retrieval")


@dataclass
class _SparseIndex:
    revision: str
    chunks: list[Chunk]
    bm25: Any
    build_s: float = 0.0


def _passes(chunk: Chunk, filters: SearchFilters | None) -> bool:
    if filters is None:
        return True
    if filters.sources and (chunk.source or "") not in filters.sources:
        return False
    if filters.article_ids and chunk.article_id not in filters.article_ids:
        return False
    if filters.date_from and (chunk.date is None or chunk.date < filters.date_from):
        return False
    return not (filters.date_to and (chunk.date is None or chunk.date > filters.date_to))


class HybridRetriever:
    def __init__(self, settings: Settings, embedder: Embedder, store: VectorStore) -> None:
        self._settings = settings
        self._embedder = embedder
        self._store = store
        self._sparse: _SparseIndex | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._rebuilding = False
        self._flag_lock = threading.Lock()

    # --- sparse index ----------------------------------------------------------------
    def _sparse_index(self) -> _SparseIndex | None:
        """The BM25 index for the store's current revision — or, while a rebuild that
        takes a while runs in the background, the previous one.

        Rebuilding reads every chunk back from the store (≈20 s at 100k chunks here): a
        search right after a write must not wait for that, so only the first build and
        rebuilds known to be quick (< `_SYNC_REBUILD_S`) happen in the caller; otherwise
        searches keep using the previous index, whose results are at most one rebuild old
        (vector search sees new chunks at once either way)."""
        now = time.monotonic()
        current = self._sparse
        if current is not None and now - self._checked_at < _REVISION_TTL_S:
            return current
        revision = self._store.revision()
        self._checked_at = now
        if current is not None and current.revision == revision:
            return current
        if current is None or current.build_s < _SYNC_REBUILD_S:
            with self._lock:
                if self._sparse is None or self._sparse.revision != revision:
                    self._sparse = self._build_sparse(revision)
                return self._sparse
        self._rebuild_in_background()
        return current

    def _rebuild_in_background(self) -> None:
        with self._flag_lock:  # not `_lock`: a rebuild holds that for its whole length
            if self._rebuilding:
                return
            self._rebuilding = True

        def rebuild() -> None:
            try:
                with self._lock:
                    latest = self._store.revision()
                    if self._sparse is None or self._sparse.revision != latest:
                        self._sparse = self._build_sparse(latest)
            except Exception:  # the store went away: the next search retries
                logger.warning("BM25 index rebuild failed; keeping the previous one", exc_info=True)
            finally:
                self._rebuilding = False

        threading.Thread(target=rebuild, name="bm25-rebuild", daemon=True).start()

    def _build_sparse(self, revision: str) -> _SparseIndex:
        started = time.monotonic()
        chunks = list(self._store.iter_chunks())
        if not chunks:
            return _SparseIndex(revision, [], None, time.monotonic() - started)
        import bm25s

        tokens = lexical_tokens([f"{c.title}\n{c.text}" for c in chunks])
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        return _SparseIndex(revision, chunks, bm25, time.monotonic() - started)

    def _bm25(self, query: str, n: int, filters: SearchFilters | None) -> list[tuple[Chunk, float]]:
        index = self._sparse_index()
        if index is None or index.bm25 is None:
            return []
        query_tokens = lexical_tokens([query])
        if not query_tokens.vocab:
            return []
        k = min(len(index.chunks), max(n * 4, n) if filters else n)
        docs, scores = index.bm25.retrieve(query_tokens, k=k, show_progress=False, n_threads=1)
        out = []
        for doc, score in zip(docs[0], scores[0], strict=True):
            chunk = index.chunks[int(doc)]
            if score > 0 and _passes(chunk, filters):
                out.append((chunk, float(score)))
        return out[:n]

    def warm_up(self) -> None:
        self._embedder.embed(["warm up"])
        self._sparse_index()

    # --- search ----------------------------------------------------------------------
    def embed_query(self, query: str) -> np.ndarray:
        return self._embedder.embed([query])[0]

    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        *,
        mode: str = "hybrid",
    ) -> list[Hit]:
        top_k = top_k or self._settings.top_k
        n = max(self._settings.candidates, top_k)
        fused: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        sims: dict[str, float] = {}
        bm25_scores: dict[str, float] = {}
        if mode in ("hybrid", "vector"):
            for rank, (chunk, sim) in enumerate(self._store.query(self.embed_query(query), n, filters)):
                chunks[chunk.id] = chunk
                sims[chunk.id] = sim
                fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
        if mode in ("hybrid", "bm25"):
            for rank, (chunk, score) in enumerate(self._bm25(query, n, filters)):
                chunks.setdefault(chunk.id, chunk)
                bm25_scores[chunk.id] = score
                fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
        ranked = sorted(fused, key=lambda cid: fused[cid], reverse=True)
        ordered = diversify([chunks[c] for c in ranked], top_k, self._settings.max_chunks_per_article)
        return [
            Hit(
                chunk=c, score=fused[c.id], vector_similarity=sims.get(c.id), bm25_score=bm25_scores.get(c.id)
            )
            for c in ordered
        ]


def diversify(ranked: Sequence[Chunk], k: int, per_article: int) -> list[Chunk]:
    """Best-first, at most `per_article` chunks of one article until every article had its
    turn; then fill up with the best of the rest."""
    picked: list[Chunk] = []
    counts: dict[str, int] = {}
    for chunk in ranked:
        if len(picked) >= k:
            break
        if counts.get(chunk.article_id, 0) < per_article:
            picked.append(chunk)
            counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
    for chunk in ranked:
        if len(picked) >= k:
            break
        if chunk not in picked:
            picked.append(chunk)
    return picked
