"""Assembles the HTTP app: `create_app(settings)` — the factory `byline serve` runs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

from rag.config import Settings
from service.config import ServiceSettings
from service.errors import install_error_handlers
from service.logs import ensure_logging
from service.middleware import BodyLimit, RequestContext
from service.routes import ask, chat, documents, health, meta, search, widget
from service.schemas import CitationsEvent, DeltaEvent, FieldError, Problem, publish_enabled_backends
from service.state import ServiceState

log = logging.getLogger("byline.service")

DESCRIPTION = """Grounded, cited answers from a corpus of news articles.

- `POST /v1/ask` — an answer with verified citations (JSON or server-sent events);
- `POST /v1/chat/completions`, `GET /v1/models` — OpenAI-compatible;
- `POST /v1/search` — retrieval only;
- `/v1/documents` — add, list, read, delete articles (admin keys).

Keys go in `Authorization: Bearer <key>` or `X-API-Key`. Every error is
`application/problem+json` with `detail`, `hint` and `request_id`.
"""

UPLOAD_OVERHEAD_BYTES = 1 << 20  # multipart framing and JSON escaping around a max-size document


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the models no route returns as such (`Problem`, the SSE
    events' payloads), the backends this server enables, and error responses as
    problem+json only."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, FieldError, CitationsEvent, DeltaEvent):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        model_schema.pop("$defs", None)
        components[model.__name__] = model_schema
    state: ServiceState = app.state.byline
    publish_enabled_backends(components, state.backends)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code.isdigit() and int(code) >= 400 and "application/problem+json" in content:
                    content.pop("application/json", None)
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    ensure_logging()
    state = ServiceState(ServiceSettings.of(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if state.keys.open:
            log.warning("no API keys configured: every route, the documents API included, is open")
        else:
            log.info(
                "API keys configured",
                extra={"admin_keys": state.keys.has_admin, "cors_origins": state.keys.allowed_origins},
            )
        state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="Byline",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "ask", "description": "Questions answered from the articles."},
            {"name": "openai-compatible", "description": "For OpenAI clients and chat UIs."},
            {"name": "search", "description": "Retrieval only."},
            {"name": "documents", "description": "The corpus (admin keys)."},
            {"name": "health", "description": "Probes."},
        ],
    )
    app.state.byline = state
    install_error_handlers(app)
    for module in (ask, chat, search, documents, health, meta, widget):
        app.include_router(module.router)
    app.mount(meta.ASSETS_URL, StaticFiles(directory=meta.ASSETS_DIR), name="docs-assets")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    # Added innermost first: RequestContext wraps everything (ids, logs, metrics, last-resort 500).
    app.add_middleware(
        BodyLimit,
        default_limit=state.settings.max_body_bytes,
        upload_limit=state.settings.max_file_bytes + UPLOAD_OVERHEAD_BYTES,
        upload_prefix="/v1/documents",
    )
    if state.keys.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=state.keys.allowed_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestContext, metrics=state.metrics)
    return app
