"""Pure-ASGI middleware (no buffering, so SSE streams pass straight through).

- `RequestContext`: request id (a client's `X-Request-ID` if sane, else a new one) on the
  response and on every log line; one access-log line and the request metrics per
  request; and the last line of defence — an exception nothing handled becomes a bare 500
  problem naming the request id, its traceback goes to the log.
- `BodyLimit`: 413 for a declared or streamed body over the limit, before it is buffered.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge, internal_error_body, problem_body, problem_response
from service.logs import request_id_var
from service.metrics import Metrics

access_log = logging.getLogger("byline.access")
error_log = logging.getLogger("byline.errors")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET = {"/healthz", "/readyz", "/metrics"}


def _route_label(scope: Scope) -> str:
    """The route's path template (`/v1/documents/{document_id}`), never the raw path: a
    metrics label must not grow with every id or random URL a client sends."""
    route = scope.get("route")
    if getattr(route, "path", None):
        return str(route.path)  # type: ignore[union-attr]
    app = scope.get("app")
    for candidate in getattr(app, "routes", []):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", "unmatched"))
    return "unmatched"


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The last resort, not error mapping: domain errors and bad input are turned into
            # 4xx/503 problems by the handlers in service/errors.py before they get here, so
            # only a bug arrives, and it still leaves as a problem+json 500 with its request id.
            error_log.exception(
                "unhandled error",
                extra={"request_id": request_id, "method": scope.get("method"), "path": scope.get("path")},
            )
            if not response_started:
                await problem_response(internal_error_body())(scope, receive, send_with_id)
            status = 500
        finally:
            elapsed = time.perf_counter() - started
            route_path = _route_label(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route_path, str(status)).inc()
            self.metrics.latency.labels(method, route_path).observe(elapsed)
            path = str(scope.get("path", ""))
            state: dict[str, Any] = scope.get("state", {})
            client = scope.get("client")
            access_log.log(
                logging.DEBUG if path in _QUIET and status < 400 else logging.INFO,
                "%s %s %d",
                method,
                path,
                status,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "route": route_path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "client": client[0] if client else None,
                    "principal": state.get("principal"),
                },
            )
            request_id_var.reset(token)


class BodyLimit:
    """`limit_for(path)` gives each path's limit (document uploads may be larger)."""

    def __init__(self, app: ASGIApp, default_limit: int, upload_limit: int, upload_prefix: str) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limit = upload_limit
        self.upload_prefix = upload_prefix

    def limit_for(self, path: str) -> int:
        return self.upload_limit if path.startswith(self.upload_prefix) else self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(str(scope.get("path", "")))
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, limit)
            return
        received = 0
        exceeded = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise PayloadTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app made of the interrupted read, the client gets the 413.
            nonlocal replaced
            if replaced:
                return
            if exceeded and message["type"] == "http.response.start" and message["status"] != 413:
                replaced = True
                await self._reject(scope, receive, send, limit)
                return
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        body = problem_body(
            413,
            "Request body too large",
            f"the request body is larger than {limit} bytes",
            kind="payload-too-large",
            hint="send a smaller body (documents: split the file)",
        )
        await problem_response(body, {"Connection": "close"})(scope, receive, send)
