"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: questions can be
answered — the pipeline and its models are loaded)."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import State
from service.schemas import Health, Ready, error_responses

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: always 200 while the process runs")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness: 200 once the pipeline is loaded, 503 until then (or if it failed)",
    responses=error_responses(503),
)
async def readyz(state: State) -> Ready:
    pipeline = state.require_pipeline()
    return Ready(
        backend=pipeline.default_backend,
        store="server" if pipeline.store.is_server else "embedded",
        auth="open" if state.keys.open else "keys",
    )
