"""Chunks and their vectors in Chroma: embedded on disk by default, a `chroma run` server
when `CHROMA_HOST` is set.

We talk to chromadb directly rather than through llama-index's `ChromaVectorStore`:
idempotent ingestion needs deterministic ids, `get` by article and content hash, and
collection-level metadata (which embedding model built it, a revision that tells other
workers to refresh their BM25 index) — none of which that wrapper exposes. The records are
plain Chroma documents + flat metadata, so llama-index can still read the collection (the
eval's naive baseline does).

An embedded store is owned by one process (a lock file says which); several processes
must share a Chroma server instead (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rag.config import Settings
from rag.errors import (
    EmbeddingModelMismatch,
    InvalidInput,
    StoreBusy,
    StoreNotWritable,
    StoreUnavailable,
)
from rag.types import Chunk, SearchFilters

GET_PAGE = 2000


@dataclass(frozen=True)
class ArticleState:
    """What the store holds for one article: enough to decide whether to re-embed."""

    article_id: str
    version: str | None
    chunk_ids: list[str]
    complete: bool


class VectorStore(Protocol):
    @property
    def embedding_model(self) -> str | None: ...

    def upsert(self, chunks: Sequence[Chunk], vectors: Any) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def article_states(self, article_ids: Sequence[str]) -> dict[str, ArticleState]: ...

    def list_articles(self) -> list[dict[str, Any]]: ...

    def query(
        self, vector: Any, n: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]: ...

    def iter_chunks(self) -> Iterator[Chunk]: ...

    def chunks_of(self, article_id: str) -> list[Chunk]: ...

    def revision(self) -> str: ...

    def count(self) -> int: ...


def _date_ord(value: dt.date | None) -> int:
    return value.year * 10000 + value.month * 100 + value.day if value else 0


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "article_id": chunk.article_id,
        "index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "title": chunk.title,
        "date": chunk.date.isoformat() if chunk.date else "",
        "date_ord": _date_ord(chunk.date),
        "source": chunk.source or "",
        "url": chunk.url or "",
        "file_name": chunk.file_name or "",
        # Stored under its historical key, so existing stores stay readable.
        "content_hash": chunk.version,
        "n_chunks": chunk.n_chunks,
    }


def _opt(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return str(value) if value not in (None, "") else None


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    date_text = _opt(meta, "date")
    return Chunk(
        id=chunk_id,
        article_id=str(meta["article_id"]),
        index=int(meta["index"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        title=str(meta.get("title", "")),
        date=dt.date.fromisoformat(date_text) if date_text else None,
        source=_opt(meta, "source"),
        url=_opt(meta, "url"),
        file_name=_opt(meta, "file_name"),
        version=str(meta["content_hash"]),
        n_chunks=int(meta["n_chunks"]),
    )


def filters_to_where(filters: SearchFilters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidInput("date_from is after date_to", "swap or widen the date range")
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.article_ids:
        clauses.append({"article_id": {"$in": list(filters.article_ids)}})
    if filters.date_from:
        clauses.append({"date_ord": {"$gte": _date_ord(filters.date_from)}})
    if filters.date_to:
        clauses.append({"date_ord": {"$lte": _date_ord(filters.date_to)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _is_timeout(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TimeoutException | TimeoutError)


class StoreLock:
    """An exclusive lock file: one process owns an embedded Chroma directory."""

    def __init__(self, path: os.PathLike[str] | str, timeout_s: float) -> None:
        self.path = os.fspath(path)
        self.timeout_s = timeout_s
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreNotWritable(
                f"cannot create lock file {self.path}: {exc.strerror}",
                "make BYLINE_DATA_DIR writable or point it elsewhere",
            ) from exc
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise StoreBusy(
                        f"the embedded store at {os.path.dirname(self.path)} is in use by process {holder}",
                        "stop that process, use its HTTP documents API, "
                        "or run `chroma run` and set CHROMA_HOST",
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None


class ChromaStore:
    """The one `VectorStore` implementation; embedded or client/server by settings."""

    def __init__(self, settings: Settings, embedding_model: str) -> None:
        self._settings = settings
        self._model = embedding_model
        self._client: Any = None
        self._collection: Any = None
        self._lock: StoreLock | None = None
        self._mutex = threading.RLock()
        self._counts: tuple[str, int, int] | None = None  # (revision, articles, chunks)

    # --- connection ------------------------------------------------------------------
    @property
    def is_server(self) -> bool:
        return bool(self._settings.chroma_host)

    @property
    def location(self) -> str:
        if self.is_server:
            return f"chroma server {self._settings.chroma_host}:{self._settings.chroma_port}"
        return f"embedded chroma at {self._settings.chroma_path}"

    def _open_client(self) -> Any:
        with self._mutex:
            if self._client is not None:
                return self._client
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            if self.is_server:
                try:
                    self._probe_server()
                    client = chromadb.HttpClient(
                        host=str(self._settings.chroma_host),
                        port=self._settings.chroma_port,
                        ssl=self._settings.chroma_ssl,
                        settings=chroma_settings,
                    )
                except Exception as exc:
                    raise self._translate(exc) from exc
                self._set_server_timeout(client)
                self._client = client
                return self._client
            path = self._settings.chroma_path
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreNotWritable(
                    f"cannot create the data directory {path}: {exc.strerror}",
                    "set BYLINE_DATA_DIR to a writable folder",
                ) from exc
            lock = StoreLock(path / ".byline.lock", self._settings.store_lock_timeout_s)
            lock.acquire()
            try:
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            except Exception as exc:
                lock.release()
                raise self._translate(exc) from exc
            self._lock = lock
            return self._client

    def _probe_server(self) -> None:
        """A heartbeat with our timeout before chromadb's client is built: its constructor
        already talks to the server, with no timeout at all, so a server that accepts
        connections but never answers would hang it (and the request) forever."""
        import httpx

        scheme = "https" if self._settings.chroma_ssl else "http"
        url = f"{scheme}://{self._settings.chroma_host}:{self._settings.chroma_port}/api/v2/heartbeat"
        with httpx.Client(timeout=self._settings.chroma_timeout_s, trust_env=False) as http:
            http.get(url).raise_for_status()

    def _set_server_timeout(self, client: Any) -> None:
        """chromadb's HTTP client has no timeout setting (its httpx session is built with
        `timeout=None`): give that session ours, so every later call is bounded too."""
        import httpx

        session = getattr(getattr(client, "_server", None), "_session", None)
        if not isinstance(session, httpx.Client):  # pragma: no cover - a chromadb change
            raise StoreUnavailable(
                "cannot bound requests to the Chroma server: this chromadb version's client "
                "has no httpx session where Byline expects one",
                "install the chromadb version pinned in pyproject.toml",
            )
        session.timeout = httpx.Timeout(self._settings.chroma_timeout_s)

    def _connect(self) -> Any:
        with self._mutex:
            if self._collection is not None:
                return self._collection
            client = self._open_client()
            try:
                collection = client.get_or_create_collection(
                    self._settings.collection,
                    metadata={"embedding_model": self._model, "revision": uuid.uuid4().hex},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            except Exception as exc:
                raise self._translate(exc) from exc
            built_with = (collection.metadata or {}).get("embedding_model")
            if built_with and built_with != self._model:
                raise EmbeddingModelMismatch(
                    f"collection {self._settings.collection!r} was built with {built_with!r}, "
                    f"but the configured embedding model is {self._model!r}",
                    "re-index with `byline ingest --reindex`, or use another BYLINE_COLLECTION",
                )
            self._collection = collection
            return collection

    def _translate(self, exc: Exception) -> Exception:
        text = str(exc)
        lowered = text.lower()
        where = "the Chroma server's disk" if self.is_server else str(self._settings.chroma_path)
        full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        if full or ("disk" in lowered and "full" in lowered):
            return StoreNotWritable(
                f"cannot write to the store: the disk is full ({where}): {text[:200]}",
                "free disk space there (or move BYLINE_DATA_DIR)",
            )
        denied = isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
        if denied or "readonly" in lowered or "read-only" in lowered:
            return StoreNotWritable(
                f"cannot write to the store: {where} is read-only: {text[:200]}",
                "make it writable by the service's user (or mount it read-write)",
            )
        if self.is_server and _is_timeout(exc):
            return StoreUnavailable(
                f"{self.location} did not answer within {self._settings.chroma_timeout_s:g} s",
                "check the Chroma server (hung or overloaded?); BYLINE_CHROMA_TIMEOUT_S sets the limit",
            )
        if self.is_server:
            return StoreUnavailable(
                f"{self.location} is unreachable or failed: {text[:200]}",
                "start `chroma run` or check CHROMA_HOST/CHROMA_PORT",
            )
        return StoreUnavailable(f"vector store error: {text[:200]}", "check the data directory")

    def _call(self, fn_name: str, **kwargs: Any) -> Any:
        collection = self._connect()
        try:
            return getattr(collection, fn_name)(**kwargs)
        except Exception as exc:
            if self.is_server:
                # A restarted server may hold a new collection: look it up again next time.
                self._collection = None
            raise self._translate(exc) from exc

    def close(self) -> None:
        with self._mutex:
            self._collection = None
            self._client = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def reset_collection(self) -> None:
        """Drop every chunk (re-index, e.g. with another embedding model)."""
        client = self._open_client()
        with self._mutex:
            self._collection = None
            try:
                client.delete_collection(self._settings.collection)
            except Exception as exc:
                if "does not exist" not in str(exc).lower():
                    raise self._translate(exc) from exc

    def collection(self) -> Any:
        """The underlying chromadb collection, for tools that read it directly (the eval's
        llama-index baseline)."""
        return self._connect()

    # --- VectorStore -----------------------------------------------------------------
    @property
    def embedding_model(self) -> str | None:
        return self._model

    def _bump_revision(self) -> None:
        """Tells other workers (and this one) that their BM25 index is out of date."""
        collection = self._connect()
        meta = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
        meta["revision"] = uuid.uuid4().hex
        self._call("modify", metadata=meta)

    def upsert(self, chunks: Sequence[Chunk], vectors: Any) -> None:
        if not chunks:
            return
        for b in range(0, len(chunks), GET_PAGE):
            part = chunks[b : b + GET_PAGE]
            self._call(
                "upsert",
                ids=[c.id for c in part],
                embeddings=[[float(x) for x in v] for v in vectors[b : b + GET_PAGE]],
                documents=[c.text for c in part],
                metadatas=[chunk_metadata(c) for c in part],
            )
        self._bump_revision()

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        for b in range(0, len(ids), GET_PAGE):
            self._call("delete", ids=list(ids[b : b + GET_PAGE]))
        self._bump_revision()

    def article_states(self, article_ids: Sequence[str]) -> dict[str, ArticleState]:
        """One round trip for a batch of articles (ingestion decides from this alone)."""
        by_article: dict[str, list[tuple[str, dict[str, Any]]]] = {a: [] for a in article_ids}
        for b in range(0, len(article_ids), 200):
            batch = list(article_ids[b : b + 200])
            where = {"article_id": batch[0]} if len(batch) == 1 else {"article_id": {"$in": batch}}
            result = self._call("get", where=where, include=["metadatas"])
            for cid, meta in zip(result["ids"], result["metadatas"] or [], strict=True):
                by_article.setdefault(str(meta["article_id"]), []).append((cid, meta))
        states = {}
        for article_id, rows in by_article.items():
            ids = [cid for cid, _ in rows]
            hashes = {str(m["content_hash"]) for _, m in rows}
            if len(hashes) != 1:
                states[article_id] = ArticleState(article_id, None, ids, complete=False)
                continue
            expected = int(rows[0][1]["n_chunks"])
            states[article_id] = ArticleState(article_id, hashes.pop(), ids, complete=len(ids) == expected)
        return states

    def list_articles(self) -> list[dict[str, Any]]:
        """One row per stored article, from its first chunk's metadata."""
        rows: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self._call("get", include=["metadatas"], limit=GET_PAGE, offset=offset)
            if not page["ids"]:
                break
            for meta in page["metadatas"] or []:
                row = rows.setdefault(str(meta["article_id"]), {**meta, "chunks": 0})
                row["chunks"] += 1
            offset += len(page["ids"])
        return sorted(rows.values(), key=lambda r: str(r["article_id"]))

    def query(self, vector: Any, n: int, filters: SearchFilters | None = None) -> list[tuple[Chunk, float]]:
        kwargs: dict[str, Any] = {
            "query_embeddings": [list(map(float, vector))],
            "n_results": n,
            "include": ["documents", "metadatas", "distances"],
        }
        where = filters_to_where(filters)
        if where:
            kwargs["where"] = where
        result = self._call("query", **kwargs)
        hits = []
        for cid, doc, meta, dist in zip(
            result["ids"][0],
            result["documents"][0],
            result["metadatas"][0],
            result["distances"][0],
            strict=True,
        ):
            hits.append((chunk_from_record(cid, doc or "", meta or {}), 1.0 - float(dist)))
        return hits

    def iter_chunks(self) -> Iterator[Chunk]:
        offset = 0
        while True:
            page = self._call("get", include=["documents", "metadatas"], limit=GET_PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            for cid, doc, meta in zip(ids, page["documents"], page["metadatas"], strict=True):
                yield chunk_from_record(cid, doc or "", meta or {})
            offset += len(ids)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        page = self._call("get", where={"article_id": article_id}, include=["documents", "metadatas"])
        chunks = [
            chunk_from_record(cid, doc or "", meta or {})
            for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        ]
        return sorted(chunks, key=lambda c: c.index)

    def revision(self) -> str:
        """Changes whenever any process writes: the BM25 index is rebuilt when it does."""
        if self.is_server:
            # Another worker may have written: ask the server, not our cached handle.
            with self._mutex:
                self._collection = None
        collection = self._connect()
        return f"{(collection.metadata or {}).get('revision', '')}:{self.count()}"

    def count(self) -> int:
        return int(self._call("count"))

    def counts(self) -> tuple[int, int]:
        """(articles, chunks). Counting articles reads every chunk's metadata, so it is
        done again only after a write (a new revision)."""
        revision = self.revision()
        cached = self._counts
        if cached is not None and cached[0] == revision:
            return cached[1], cached[2]
        rows = self.list_articles()
        result = (len(rows), sum(int(r["chunks"]) for r in rows))
        self._counts = (revision, *result)
        return result
