"""Idempotent, incremental, crash-safe ingestion.

Chunk ids are `article id # version - index`, where the version hashes the article's
content and the chunking settings. So re-ingesting an unchanged article computes nothing,
two ingests at once write the same ids (no duplicates), and a changed article's new
chunks are written *before* its old ones are deleted: a crash at any point leaves a state
the next run completes (the store is the only record of progress).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.chunking import Chunker
from rag.config import Settings
from rag.corpus import load_paths
from rag.embedding import Embedder
from rag.errors import InvalidInput, NotFound
from rag.store import ChromaStore
from rag.types import Article, Chunk, IngestReport

ProgressFn = Callable[[int, int], None]
ARTICLES_PER_BATCH = 64


class Ingestor:
    def __init__(self, settings: Settings, embedder: Embedder, store: ChromaStore, chunker: Chunker) -> None:
        self._settings = settings
        self._embedder = embedder
        self._store = store
        self._chunker = chunker

    def ingest_paths(
        self, paths: Sequence[Path], *, prune: bool = False, progress: ProgressFn | None = None
    ) -> IngestReport:
        started = time.perf_counter()
        if prune and (missing := [p for p in paths if not p.exists()]):
            # An unmounted folder must not read as "every article was removed".
            raise InvalidInput(
                f"refusing to prune: {missing[0]} does not exist", "fix the path or drop --prune"
            )
        articles, problems = load_paths(paths, self._settings.max_file_bytes)
        report = self.ingest_articles(articles, progress=progress)
        report.skipped.extend(problems)
        if prune:
            # A file that failed to load this time is not a removed article.
            keep = {a.id for a in articles}
            failed_files = {Path(p.path).name for p in problems}
            for row in self._store.list_articles():
                article_id = str(row["article_id"])
                if article_id not in keep and row.get("file_name") not in failed_files:
                    report.chunks_deleted += self.delete_article(article_id)
                    report.deleted.append(article_id)
        report.seconds = time.perf_counter() - started
        return report

    def ingest_articles(
        self, articles: Sequence[Article], *, progress: ProgressFn | None = None
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        done = 0
        for b in range(0, len(articles), ARTICLES_PER_BATCH):
            batch = articles[b : b + ARTICLES_PER_BATCH]
            self._ingest_batch(batch, report)
            done += len(batch)
            if progress:
                progress(done, len(articles))
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_batch(self, articles: Sequence[Article], report: IngestReport) -> None:
        states = self._store.article_states([a.id for a in articles])
        to_write: list[Chunk] = []
        stale: list[str] = []
        for article in articles:
            state = states[article.id]
            version = self._chunker.version(article)
            if state.complete and state.version == version:
                report.unchanged.append(article.id)
                continue
            chunks = self._chunker.chunk(article)
            present = set(state.chunk_ids)
            to_write.extend(c for c in chunks if c.id not in present)
            new_ids = {c.id for c in chunks}
            stale.extend(cid for cid in state.chunk_ids if cid not in new_ids)
            # An interrupted first ingest left some of this very version: still "added".
            first_time = not state.chunk_ids or state.version == version
            (report.added if first_time else report.updated).append(article.id)
        if to_write:
            vectors = self._embedder.embed([c.text for c in to_write])
            report.embeddings_computed += len(to_write)
            self._store.upsert(to_write, vectors)
            report.chunks_written += len(to_write)
        if stale:
            self._store.delete(stale)
            report.chunks_deleted += len(stale)

    def delete_article(self, article_id: str) -> int:
        ids = self._store.article_states([article_id])[article_id].chunk_ids
        if not ids:
            raise NotFound(f"no article with id {article_id!r}", "list ids with `byline stats`")
        self._store.delete(ids)
        return len(ids)
