"""Byline inside LlamaIndex apps: a retriever and a query engine, in process or over HTTP.

    from rag.llama import BylineQueryEngine
    engine = BylineQueryEngine.from_settings()          # or HttpBylineQueryEngine("http://…:8000")
    response = engine.query("Where will Trump and Xi meet?")
    response.response                                  # the verified answer, [n] markers
    response.source_nodes                               # its citations, node.metadata["n"] == n

- `BylineRetriever` (a `BaseRetriever`) returns the chunks an answer is built from
  (`Pipeline.retrieve`: hybrid search reranked by each chunk's best sentence) as
  `NodeWithScore(TextNode)`: the chunk's text, id and char span (`start_char_idx`,
  `end_char_idx`), its article as `ref_doc_id`, and metadata article_id, title, source,
  date, url, start, end.
- `BylineQueryEngine` (a `BaseQueryEngine`) answers with the whole pipeline — verified,
  cited, or "The articles don't say." — as a `Response`: `response` is the answer's text,
  `source_nodes` are its citations (the verbatim quote as the node's text, metadata n,
  article_id, title, source, date, url, start, end), `metadata` says whether it abstained,
  why, which sources conflict, which backend answered, and carries the `Answer` itself.
- `HttpBylineQueryEngine` / `HttpBylineRetriever` do the same against a running
  `byline serve` (`POST /v1/ask`, `POST /v1/search`), sync and async.

Importing this module imports llama-index-core (a dependency of Byline already); nothing
else in Byline imports it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from rag.config import Settings
from rag.errors import BylineError
from rag.types import Answer, Backend, Citation, Hit, SearchFilters

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

# Span and bookkeeping keys stay out of what an LLM or an embedder sees of a node.
_HIDDEN_KEYS = ["article_id", "start", "end", "n", "url", "vector_similarity", "bm25_score"]


# --- conversions -------------------------------------------------------------------------
def _node(
    node_id: str, text: str, article_id: str, start: int, end: int, metadata: dict[str, Any]
) -> TextNode:
    return TextNode(
        id_=node_id,
        text=text,
        metadata=metadata,
        start_char_idx=start,
        end_char_idx=end,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=article_id)},
        excluded_llm_metadata_keys=[k for k in _HIDDEN_KEYS if k in metadata],
        excluded_embed_metadata_keys=list(metadata),
    )


def hit_to_node(hit: Hit) -> NodeWithScore:
    """A retrieved chunk: its text, id and char span in its article's body."""
    c = hit.chunk
    metadata = {
        "article_id": c.article_id,
        "title": c.title,
        "source": c.source,
        "date": c.date.isoformat() if c.date else None,
        "url": c.url,
        "start": c.start,
        "end": c.end,
        "vector_similarity": hit.vector_similarity,
        "bm25_score": hit.bm25_score,
    }
    return NodeWithScore(node=_node(c.id, c.text, c.article_id, c.start, c.end, metadata), score=hit.score)


def citation_to_node(citation: Citation) -> NodeWithScore:
    """One citation of a verified answer: the verbatim quote, and where it is. `n` is the
    [n] marker in the answer's text."""
    c = citation
    metadata = {
        "n": c.n,
        "article_id": c.article_id,
        "title": c.title,
        "source": c.source,
        "date": c.date.isoformat() if c.date else None,
        "url": c.url,
        "start": c.start,
        "end": c.end,
    }
    node_id = f"{c.article_id}:{c.start}-{c.end}"
    return NodeWithScore(node=_node(node_id, c.quote, c.article_id, c.start, c.end, metadata), score=None)


def answer_to_response(answer: Answer) -> Response:
    """Byline's `Answer` as LlamaIndex's `Response`: the verified text, its citations as
    source nodes (in [n] order), and what LlamaIndex has no field for in `metadata`."""
    return Response(
        response=answer.text,
        source_nodes=[citation_to_node(c) for c in sorted(answer.citations, key=lambda c: c.n)],
        metadata={
            "abstained": answer.abstained,
            "abstain_reason": answer.abstain_reason,
            "conflicts": [c.model_dump(mode="json") for c in answer.conflicts],
            "backend": answer.backend,
            "fallback_reason": answer.fallback_reason,
            "answer": answer,
        },
    )


# --- in process ---------------------------------------------------------------------------
class BylineRetriever(BaseRetriever):
    """Byline's retrieval as a LlamaIndex retriever (no LLM involved)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self._pipeline = pipeline
        self._top_k = top_k
        self._filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._pipeline.retrieve(query_bundle.query_str, self._top_k, self._filters)
        return [hit_to_node(h) for h in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


class BylineQueryEngine(BaseQueryEngine):
    """Byline's verified, cited answers as a LlamaIndex query engine."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        backend: Backend | None = None,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.pipeline = pipeline
        self._backend = backend
        self._top_k = top_k
        self._filters = filters

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, seed: bool = True, **kwargs: Any
    ) -> BylineQueryEngine:
        """A pipeline on `Settings()` (the environment, as the CLI reads it); with `seed`,
        the bundled samples are ingested into an empty store, as on a first `byline ask`."""
        from rag.pipeline import Pipeline

        pipeline = Pipeline(settings or Settings())
        if seed:
            pipeline.ensure_seeded()
        return cls(pipeline, **kwargs)

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}  # Byline's prompts are its own (rag/prompts.py), not LlamaIndex templates

    def retriever(self) -> BylineRetriever:
        return BylineRetriever(self.pipeline, top_k=self._top_k, filters=self._filters)

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.retriever().retrieve(query_bundle)

    def _query(self, query_bundle: QueryBundle) -> Response:
        answer = self.pipeline.ask(
            query_bundle.query_str, top_k=self._top_k, filters=self._filters, backend=self._backend
        )
        return answer_to_response(answer)

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return await asyncio.to_thread(self._query, query_bundle)

    def close(self) -> None:
        """Releases the store (an embedded store is owned by one process at a time)."""
        self.pipeline.close()


# --- over HTTP ----------------------------------------------------------------------------
class RemoteError(BylineError):
    """A problem+json answer from a Byline service, with its status."""

    def __init__(self, status_code: int, title: str, message: str, hint: str | None) -> None:
        super().__init__(message, hint)
        self.status_code = status_code
        self.title = title


def _raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    raise RemoteError(
        response.status_code,
        str(body.get("title") or response.reason_phrase),
        str(body.get("detail") or response.text[:200] or response.reason_phrase),
        body.get("hint"),
    )


class _HttpBase:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        timeout_s: float = 130.0,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._top_k = top_k
        self._filters = filters
        self._timeout_s = timeout_s
        self._client = client
        self._async_client = async_client

    def _body(self, key: str, query: str, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {key: query, **{k: v for k, v in extra.items() if v is not None}}
        if self._top_k is not None:
            body["top_k"] = self._top_k
        if self._filters is not None:
            body["filters"] = self._filters.model_dump(mode="json", exclude_none=True)
        return body

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        if self._client is not None:
            response = self._client.post(f"{self.base_url}{path}", json=body, headers=self._headers)
        else:
            with httpx.Client(timeout=self._timeout_s) as client:
                response = client.post(f"{self.base_url}{path}", json=body, headers=self._headers)
        _raise_for_problem(response)
        return response.json()

    async def _apost(self, path: str, body: dict[str, Any]) -> Any:
        if self._async_client is not None:
            response = await self._async_client.post(
                f"{self.base_url}{path}", json=body, headers=self._headers
            )
        else:
            async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.post(f"{self.base_url}{path}", json=body, headers=self._headers)
        _raise_for_problem(response)
        return response.json()


class HttpBylineRetriever(_HttpBase, BaseRetriever):
    """`POST /v1/search` of a Byline service as a LlamaIndex retriever."""

    def __init__(
        self, base_url: str, *, callback_manager: CallbackManager | None = None, **kwargs: Any
    ) -> None:
        _HttpBase.__init__(self, base_url, **kwargs)
        BaseRetriever.__init__(self, callback_manager=callback_manager)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        data = self._post("/v1/search", self._body("query", query_bundle.query_str))
        return [hit_to_node(Hit.model_validate(h)) for h in data["hits"]]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        data = await self._apost("/v1/search", self._body("query", query_bundle.query_str))
        return [hit_to_node(Hit.model_validate(h)) for h in data["hits"]]


class HttpBylineQueryEngine(_HttpBase, BaseQueryEngine):
    """`POST /v1/ask` of a Byline service as a LlamaIndex query engine."""

    def __init__(
        self,
        base_url: str,
        *,
        backend: Backend | None = None,
        callback_manager: CallbackManager | None = None,
        **kwargs: Any,
    ) -> None:
        _HttpBase.__init__(self, base_url, **kwargs)
        BaseQueryEngine.__init__(self, callback_manager=callback_manager)
        self._backend = backend

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}

    def _query(self, query_bundle: QueryBundle) -> Response:
        data = self._post("/v1/ask", self._body("question", query_bundle.query_str, backend=self._backend))
        return answer_to_response(Answer.model_validate(data))

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        data = await self._apost(
            "/v1/ask", self._body("question", query_bundle.query_str, backend=self._backend)
        )
        return answer_to_response(Answer.model_validate(data))


__all__ = [
    "BylineQueryEngine",
    "BylineRetriever",
    "HttpBylineQueryEngine",
    "HttpBylineRetriever",
    "RemoteError",
    "answer_to_response",
    "citation_to_node",
    "hit_to_node",
]
