"""The documents API (admin keys): add, list, read and delete articles.

`POST /v1/documents` takes one article as JSON or a file upload (`file=` of
.txt/.md/.html/.json/.jsonl, parsed as `byline ingest` parses files) and runs the same
idempotent ingestion: the same content twice changes nothing, a changed article has its
chunks replaced.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from rag.corpus import SUPPORTED_SUFFIXES, article_from_record, articles_from_bytes
from rag.errors import DocumentTooLarge, InvalidInput
from rag.types import Article, StoredArticle
from service.deps import AdminAccess, PipelineDep, State
from service.errors import ServiceError
from service.schemas import (
    ChunkOut,
    Deleted,
    DocumentDetail,
    DocumentIn,
    DocumentList,
    DocumentSummary,
    IngestResult,
    error_responses,
)
from service.work import run_blocking

router = APIRouter(prefix="/v1/documents", tags=["documents"])

DocumentId = PathParam(min_length=1, max_length=200, description="An article id (see GET /v1/documents).")


class UnsupportedMediaType(ServiceError):
    status_code = 415
    title = "Unsupported media type"


_UPLOAD_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "An article file, read by its name's suffix: .txt .md .html .htm .json .jsonl "
            "(UTF-8 or another text encoding). Any other suffix is answered 415; a file of a "
            "supported type that holds no readable article, 422.",
        }
    },
    "required": ["file"],
    "additionalProperties": False,
}
_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": DocumentIn.model_json_schema(ref_template="#/components/schemas/{model}")
            },
            "multipart/form-data": {
                "schema": _UPLOAD_SCHEMA,
                "encoding": {
                    "file": {
                        "contentType": "text/plain, text/markdown, text/html, application/json, "
                        "application/x-ndjson"
                    }
                },
            },
        },
    }
}


def _too_large(size: int, limit: int) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"the document is {size} bytes; the limit is {limit}", "split it, or raise BYLINE_MAX_FILE_BYTES"
    )


def _from_json(payload: Any, limit: int) -> list[Article]:
    try:
        doc = DocumentIn.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from None
    size = len(doc.text.encode())
    if size > limit:
        raise _too_large(size, limit)
    default_id = doc.id or "doc-" + hashlib.sha256(doc.text.encode()).hexdigest()[:16]
    record = doc.model_dump(exclude_none=True)
    return [article_from_record(record, default_id, None)]


async def _from_upload(request: Request, limit: int) -> list[Article]:
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    # The schema allows `file` only; anything else, or no file, is named in one 422.
    errors: list[dict[str, Any]] = [
        {
            "type": "extra_forbidden",
            "loc": ("body", name),
            "msg": "Extra inputs are not permitted: send only `file`",
        }
        for name in sorted({name for name in form.keys() if name != "file"})[:10]
    ]
    if not isinstance(upload, UploadFile):
        errors.append(
            {"type": "missing", "loc": ("body", "file"), "msg": "Field required: a file upload named `file`"}
        )
    if errors:
        raise RequestValidationError(errors)
    assert isinstance(upload, UploadFile)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise _too_large(upload.size or len(data), limit)
    name = PurePath((upload.filename or "").replace("\\", "/")).name
    if not name:
        raise InvalidInput(
            "the upload has no file name", "send a file name with a .txt/.md/.html/.json/.jsonl suffix"
        )
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedMediaType(
            f"can't read a {suffix or 'suffix-less'} file ({name})",
            f"upload one of {' '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    try:
        return articles_from_bytes(data, name)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}", "fix the file and upload it again") from None


@router.post(
    "",
    response_model=IngestResult,
    summary="Add or update an article (JSON, or a file upload as `file=`)",
    openapi_extra=_REQUEST_BODY,
    responses=error_responses(401, 403, 413, 415, 422, 429, 503, 504, 507),
)
async def add_document(
    request: Request, _caller: AdminAccess, state: State, pipeline: PipelineDep
) -> IngestResult:
    limit = state.settings.max_file_bytes
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        articles = await _from_upload(request, limit)
    elif content_type in ("", "application/json") or content_type.endswith("+json"):
        raw = await request.body()
        if len(raw) > limit + 65536:
            raise _too_large(len(raw), limit)
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body",), "msg": f"JSON decode error: {exc}"}]
            ) from None
        articles = _from_json(payload, limit)
    else:
        raise UnsupportedMediaType(
            f"can't read a {content_type} body", "send application/json or multipart/form-data with file="
        )
    report = await run_blocking(
        lambda: pipeline.ingest_articles(articles), timeout_s=state.settings.request_timeout_s
    )
    return IngestResult(**report.model_dump(), articles=[a.id for a in articles])


def _summary(article: StoredArticle) -> DocumentSummary:
    """The response shows the stored article's fields by the same names, less its chunk
    version (internal) and its chunks (only the detail route shows them)."""
    return DocumentSummary(**article.model_dump(exclude={"version", "chunks"}))


@router.get(
    "",
    response_model=DocumentList,
    summary="List stored articles",
    responses=error_responses(401, 403, 422, 429, 503, 504),
)
async def list_documents(
    _caller: AdminAccess,
    state: State,
    pipeline: PipelineDep,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> DocumentList:
    rows = await run_blocking(pipeline.list_articles, timeout_s=state.settings.request_timeout_s)
    return DocumentList(total=len(rows), documents=[_summary(r) for r in rows[offset : offset + limit]])


@router.get(
    "/{document_id}",
    response_model=DocumentDetail,
    summary="One article: its metadata and stored chunks",
    responses=error_responses(401, 403, 404, 422, 429, 503, 504),
)
async def get_document(
    _caller: AdminAccess, state: State, pipeline: PipelineDep, document_id: str = DocumentId
) -> DocumentDetail:
    article = await run_blocking(
        lambda: pipeline.get_article(document_id), timeout_s=state.settings.request_timeout_s
    )
    return DocumentDetail(
        **_summary(article).model_dump(),
        chunks=[ChunkOut(index=c.index, text=c.text, start=c.start, end=c.end) for c in article.chunks],
    )


@router.delete(
    "/{document_id}",
    response_model=Deleted,
    summary="Delete an article and its chunks",
    responses=error_responses(401, 403, 404, 422, 429, 503, 504, 507),
)
async def delete_document(
    _caller: AdminAccess, state: State, pipeline: PipelineDep, document_id: str = DocumentId
) -> Deleted:
    n = await run_blocking(
        lambda: pipeline.delete_article(document_id), timeout_s=state.settings.request_timeout_s
    )
    return Deleted(id=document_id, chunks_deleted=n)
