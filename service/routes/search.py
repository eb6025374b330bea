"""`POST /v1/search`: retrieval only (fused hits with their scores), for debugging and tools."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import PipelineDep, PublicAccess, State
from service.schemas import SearchRequest, SearchResponse, error_responses
from service.work import run_blocking

router = APIRouter(prefix="/v1", tags=["search"])


@router.post(
    "/search",
    response_model=SearchResponse,
    summary="Retrieve the passages a question would be answered from",
    responses=error_responses(401, 403, 409, 413, 422, 429, 503, 504),
)
async def search(
    body: SearchRequest, _caller: PublicAccess, state: State, pipeline: PipelineDep
) -> SearchResponse:
    filters = body.filters.to_filters() if body.filters else None
    hits = await run_blocking(
        lambda: pipeline.search(body.query, body.top_k, filters), timeout_s=state.settings.request_timeout_s
    )
    return SearchResponse(query=body.query, hits=hits)
