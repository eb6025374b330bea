"""Every error leaves as `application/problem+json` (RFC 9457), from this one module.

Domain errors (`rag.errors.BylineError` and the service's own subclasses below) carry
their status code, title, message and hint; validation errors name the offending field;
anything unexpected is a bare 500 that says only which request id to quote — the
traceback goes to the log under that id, never to the client.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from rag.errors import BylineError
from service.logs import request_id_var

log = logging.getLogger("byline.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


# --- the service's own domain errors --------------------------------------------------
class ServiceError(BylineError):
    """A BylineError that may add response headers (Retry-After, WWW-Authenticate)."""

    def __init__(self, message: str, hint: str | None = None, *, headers: Mapping[str, str] | None = None):
        super().__init__(message, hint)
        self.headers: dict[str, str] = dict(headers or {})


class Unauthorized(ServiceError):
    status_code = 401
    title = "Unauthorized"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint, headers={"WWW-Authenticate": 'Bearer realm="byline"'})


class Forbidden(ServiceError):
    status_code = 403
    title = "Forbidden"


class _RetryLater(ServiceError):
    def __init__(self, message: str, hint: str | None = None, *, retry_after_s: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after_s))
        super().__init__(message, hint, headers={"Retry-After": str(self.retry_after)})


class RateLimited(_RetryLater):
    status_code = 429
    title = "Too many requests"


class QueueFull(_RetryLater):
    status_code = 503
    title = "Busy"


class NotReady(_RetryLater):
    status_code = 503
    title = "Not ready"


class RequestTimedOut(ServiceError):
    status_code = 504
    title = "Request timed out"


class PayloadTooLarge(StarletteHTTPException):
    """Raised from inside the body reader (so FastAPI's body parsing re-raises it as is)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


# --- bodies -----------------------------------------------------------------------------
def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem_body(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    hint: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:byline:problem:{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if hint:
        body["hint"] = hint
    body["request_id"] = request_id_var.get()
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(body: dict[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body, status_code=int(body["status"]), headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE
    )


# A 503 from a backend that is down (vector store, model) says when to come back too,
# so clients back off instead of retrying at once (the schema promises Retry-After).
UNAVAILABLE_RETRY_AFTER_S = 5


def _retry_after(exc: BylineError) -> int | None:
    explicit = getattr(exc, "retry_after", None)
    if explicit is not None:
        return int(explicit)
    return UNAVAILABLE_RETRY_AFTER_S if exc.status_code == 503 else None


def problem_from_error(exc: BylineError) -> dict[str, Any]:
    return problem_body(
        exc.status_code,
        exc.title,
        exc.message,
        kind=_slug(type(exc).__name__),
        hint=exc.hint,
        retry_after=_retry_after(exc),
    )


def stream_problem(exc: Exception) -> dict[str, Any]:
    """The problem body for an error raised after a streamed response has started (no
    HTTP status can change any more): the one place both streams map errors, domain
    errors as themselves, anything else logged and reported as an internal error."""
    if isinstance(exc, BylineError):
        return problem_from_error(exc)
    log.error("stream failed", exc_info=exc)
    return internal_error_body()


def internal_error_body() -> dict[str, Any]:
    return problem_body(
        500,
        "Internal error",
        "an unexpected error occurred; it has been logged",
        kind="internal-error",
        hint="retry later, and quote the request_id when reporting it",
    )


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _json_invalid(error: Mapping[str, Any]) -> dict[str, str]:
    """FastAPI puts the character offset where a field goes (`loc: ("body", 12)`): the
    field is the body, the offset belongs in the message."""
    loc = error.get("loc", ())
    reason = (error.get("ctx") or {}).get("error")
    message = str(error.get("msg", "JSON decode error")) + (f": {reason}" if reason else "")
    if len(loc) > 1 and isinstance(loc[1], int):
        message += f" (at character {loc[1]})"
    return {"field": "body", "message": message, "type": "json_invalid"}


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    out = []
    for error in errors:
        if error.get("type") == "json_invalid":
            out.append(_json_invalid(error))
            continue
        out.append(
            {
                "field": _field(error.get("loc", ())),
                "message": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return out


# --- handlers -------------------------------------------------------------------------
async def _byline_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BylineError)
    if exc.status_code >= 500 and not isinstance(exc, _RetryLater):  # busy/not ready: expected
        log.warning(
            "request failed: %s", exc.message, extra={"error": type(exc).__name__, "status": exc.status_code}
        )
    headers = dict(getattr(exc, "headers", None) or {})
    retry_after = _retry_after(exc)
    if retry_after is not None:
        headers.setdefault("Retry-After", str(retry_after))
    return problem_response(problem_from_error(exc), headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "invalid request"
    body = problem_body(
        422,
        "Invalid request",
        detail,
        kind="validation-error",
        hint="fix the named field(s); the OpenAPI schema at /openapi.json gives every bound",
        errors=errors,
    )
    return problem_response(body)


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _documented_methods(request: Request) -> str | None:
    """The methods the published schema gives the request's path, or None for a path it
    doesn't describe. Starlette's router stops at the first route whose path matches and
    names only that route's methods — one, where `/v1/documents` has two (GET and POST, in
    two routes); the schema is the contract the Allow header must agree with."""
    path = request.scope["path"]
    root_path = request.scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    for template, operations in request.app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(path):
            return ", ".join(sorted(m.upper() for m in operations if m in _HTTP_METHODS)) or None
    return None


def _unreadable_body(exc: StarletteHTTPException) -> JSONResponse:
    """A body FastAPI or Starlette could not read (JSON that isn't UTF-8, a broken
    multipart form) comes as a bare 400 — the only 400 this app has. It is answered like
    malformed JSON: 422 naming `body`, the status every route with a body documents, so a
    client handles one status for "fix the body", whichever way it is broken."""
    if isinstance(exc.__cause__, UnicodeDecodeError):
        kind, detail = "json_invalid", "the body is not valid JSON: it is not UTF-8 text"
    else:
        kind, detail = "body_unreadable", f"the body could not be read: {exc.detail}"
    body = problem_body(
        422,
        "Invalid request",
        detail,
        kind="validation-error",
        hint="send a UTF-8 JSON body (documents: or a multipart form with one `file=`); "
        "the OpenAPI schema at /openapi.json describes it",
        errors=[{"field": "body", "message": detail, "type": kind}],
    )
    return problem_response(body)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        return _unreadable_body(exc)
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _documented_methods(request)):
        headers["Allow"] = allowed  # RFC 9110: a 405 lists what the resource supports
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) else title
    kind = _slug(title.replace(" ", ""))
    hint = None
    if exc.status_code == 404:
        hint = "see /docs for the routes"
    elif exc.status_code == 413:
        hint = "send a smaller body (documents: split the file)"
    return problem_response(problem_body(exc.status_code, title, detail, kind=kind, hint=hint), headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BylineError, _byline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
