"""The baseline every report is measured against: the plain llama-index recipe.

`VectorStoreIndex.from_vector_store` over the *same* Chroma collection, with the *same*
embedding model and the *same* LLM as our pipeline, queried through llama-index's default
query engine (top-2 similarity, "compact" synthesis, its stock QA prompt). Only the
pipeline differs — hybrid retrieval, sentence selection, the tuned prompt, verification,
conflict detection and abstention — so the gap in the report is what those buy.

Two deliberate choices: `llm`/`embed_model` are passed explicitly (never llama-index's
global `Settings`), and the answer length is capped at the same
`max_answer_tokens` our pipeline uses, so the comparison is about the pipeline, not about
one side rambling. The recipe has no verifier, so every retrieved node counts as cited and
abstention is read from the wording of its reply.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from rag.errors import BylineError, GenerationFailed, InvalidInput
from rag.types import Answer, Backend, Citation, Timings

if TYPE_CHECKING:
    from rag.embedding import Embedder
    from rag.pipeline import Pipeline

DEFAULT_TOP_K = 2  # llama-index's default `similarity_top_k`

# The stock prompt makes models say "the context does not provide…" rather than a fixed
# phrase; these cover what the local model and OpenAI models write when they decline.
_DECLINES = re.compile(
    r"\b(?:don'?t know|do not know|not (?:provided|mentioned|specified|stated|available|included)"
    r"|no (?:information|mention|details?)|does not (?:provide|mention|say|specify|contain|include)"
    r"|doesn'?t (?:provide|mention|say|specify|contain|include)|cannot (?:be )?(?:determine|answer)"
    r"|unable to (?:determine|answer)|not possible to determine)",
    re.I,
)


def looks_like_abstention(text: str) -> bool:
    """A keyword heuristic, kept simple on purpose: the baseline has no abstention logic
    of its own to report."""
    return not text.strip() or bool(_DECLINES.search(text.replace("\u2019", "'")))


class EmbedderAdapter(BaseEmbedding):
    """Our `rag.embedding.Embedder` behind llama-index's embedding interface, so the index
    queries the collection with exactly the vectors it was built with."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.embed([query])[0]]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_query_embedding(text)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self._embedder.embed(texts)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class NaivePipeline:
    """Answers like `Pipeline.ask`, the llama-index way. Built lazily: the LLM and index
    are created on the first question."""

    def __init__(self, pipeline: Pipeline, backend: Backend, top_k: int = DEFAULT_TOP_K) -> None:
        if backend == "extractive":
            raise InvalidInput(
                "the naive baseline needs an LLM; the extractive backend has none",
                "use --backend local or --backend openai with --pipeline naive",
            )
        self.pipeline = pipeline
        self.backend: Backend = backend
        self.top_k = top_k
        self._engine: Any = None

    def _llm(self) -> Any:
        from llama_index.llms.openai_like import OpenAILike

        settings = self.pipeline.settings
        common: dict[str, Any] = {
            "is_chat_model": True,
            "temperature": 0.0,
            "max_tokens": settings.max_answer_tokens,
            "timeout": settings.llm_timeout_s,
            "max_retries": settings.llm_max_retries,
        }
        if self.backend == "local":
            # Same in-process xllamacpp server (and loaded model) our pipeline uses.
            address = self.pipeline.local_llm_base_url()
            return OpenAILike(
                api_base=address,
                api_key="not-needed",
                model="local",
                context_window=settings.local_n_ctx,
                **common,
            )
        key = settings.openai_api_key
        return OpenAILike(
            api_base=settings.openai_base_url or "https://api.openai.com/v1",
            api_key=key.get_secret_value() if key else "not-needed",
            model=settings.openai_model,
            **common,
        )

    def engine(self) -> Any:
        if self._engine is None:
            from llama_index.core import VectorStoreIndex
            from llama_index.vector_stores.chroma import ChromaVectorStore

            # The records are plain documents + flat metadata (no `_node_content`):
            # ChromaVectorStore falls back to building TextNodes from them.
            collection = self.pipeline.vector_collection()
            index = VectorStoreIndex.from_vector_store(
                ChromaVectorStore(chroma_collection=collection),
                embed_model=EmbedderAdapter(self.pipeline.embedder),
            )
            self._engine = index.as_query_engine(llm=self._llm(), similarity_top_k=self.top_k)
        return self._engine

    def ask(self, question: str) -> tuple[Answer, list[str]]:
        """The answer, and the retrieved articles' file names in rank order."""
        if not question.strip():
            raise InvalidInput("the question is empty", "ask a question in words")
        engine = self.engine()
        started = time.perf_counter()
        try:
            response = engine.query(question)
        except BylineError:
            raise
        except Exception as exc:  # llama-index/openai/httpx errors: one row, not the run
            raise GenerationFailed(f"naive pipeline failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
        total = time.perf_counter() - started
        text = str(getattr(response, "response", "") or "").strip()
        citations = []
        retrieved = []
        for n, scored in enumerate(getattr(response, "source_nodes", []) or [], 1):
            node = scored.node
            meta = dict(node.metadata or {})
            body = node.get_content()
            file_name = str(meta.get("file_name") or "") or None
            article_id = str(meta.get("article_id") or node.node_id)
            retrieved.append(file_name or article_id)
            citations.append(
                Citation(
                    n=n,
                    article_id=article_id,
                    title=str(meta.get("title") or ""),
                    source=str(meta.get("source") or "") or None,
                    date=_date(meta.get("date")),
                    url=str(meta.get("url") or "") or None,
                    file_name=file_name,
                    quote=body,
                    start=_int(meta.get("start")),
                    end=_int(meta.get("end")),
                )
            )
        abstained = looks_like_abstention(text)
        answer = Answer(
            question=question,
            standalone_question=question,
            text=text,
            citations=citations,
            abstained=abstained,
            abstain_reason="the reply declines to answer" if abstained else None,
            backend=self.backend,
            timings=Timings(generate_s=total, total_s=total),
        )
        return answer, retrieved
