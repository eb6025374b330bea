"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: questions can be
answered — the pipeline and its models are loaded), with what the store holds."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from rag.errors import BylineError
from service.deps import State
from service.schemas import Health, Ready, error_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: always 200 while the process runs")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness: 200 once the pipeline is loaded, 503 until then (or if it failed); "
    "with the stored article and chunk counts",
    responses=error_responses(503),
)
async def readyz(state: State) -> Ready:
    pipeline = state.require_pipeline()
    articles: int | None = None
    chunks: int | None = None
    warning: str | None = None
    try:
        status = await asyncio.to_thread(pipeline.store_status)
        articles, chunks = status.articles, status.chunks
    except BylineError as exc:
        # Readiness is about this process; a store that is down is reported, and every
        # store-backed route answers 503 meanwhile.
        warning = f"the store could not be read: {exc}"
    if articles == 0:
        warning = str(pipeline.empty_store_error())
    return Ready(
        backend=pipeline.default_backend,
        store=pipeline.store_kind,
        auth="open" if state.keys.open else "keys",
        data_dir=str(pipeline.settings.data_dir),
        collection=pipeline.settings.collection,
        articles=articles,
        chunks=chunks,
        warning=warning,
    )
