"""The embeddable chat widget: `GET /widget.js` (one self-contained script, a custom element
with shadow DOM), `GET /` (a demo page with the snippet to paste and the widget live on it),
and `GET /widget/check` (tells a widget whether its key may be used from the page's origin).

Why the check: a key used from an origin it isn't bound to gets no CORS headers, so the
browser refuses the preflight and the widget sees only a network error — the same as when
the service is down. This simple GET (no custom headers, so no preflight) answers every
origin, so the widget can tell the reader "this site isn't allowed" instead of "offline".
It says no more than `POST /v1/ask` would say to the same key from the same origin.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service.deps import State, record_key_failure, refuse_if_guessing
from service.errors import RateLimited, problem_body, problem_from_error, problem_response
from service.keys import _parse_public, _split, normalize_origin
from service.state import ServiceState

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
WIDGET_PATH = STATIC_DIR / "widget.js"
# Browsers revalidate after an hour (ETag → 304), so a new release reaches sites quickly.
WIDGET_CACHE = "public, max-age=3600, stale-while-revalidate=86400"


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes
    etag: str


@lru_cache(maxsize=2)
def _load(path: Path, mtime_ns: int) -> _Asset:  # noqa: ARG001 - mtime_ns is the cache key
    body = path.read_bytes()
    return _Asset(body, gzip.compress(body, 9, mtime=0), '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def widget_asset() -> _Asset:
    return _load(WIDGET_PATH, WIDGET_PATH.stat().st_mtime_ns)


@router.get("/widget.js")
async def widget_js(request: Request) -> Response:
    asset = widget_asset()
    headers = {
        "Cache-Control": WIDGET_CACHE,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # Pages that set Cross-Origin-Embedder-Policy may still load it.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = asset.body
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


def _origin_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _demo_key(state: ServiceState, origin: str) -> str | None:
    """A public key the operator bound to this service's own origin, if any: only such a
    key is shown on the demo page (an unbound public key is not published here)."""
    for entry in _split(state.settings.public_keys):
        key, origins = _parse_public(entry)
        if normalize_origin(origin) in origins:
            return key
    return None


@router.get("/widget/check")
async def widget_check(
    request: Request, state: State, key: str = Query(default="", max_length=500)
) -> JSONResponse:
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
    if state.keys.open:
        return JSONResponse({"allowed": True}, headers=headers)
    # The same throttle as every keyed route: otherwise this GET would be a free oracle
    # for guessing keys. Only public keys count as valid here — an admin key has no place
    # in a web page (nor in a query string, which proxies log).
    try:
        refuse_if_guessing(request, state)
    except RateLimited as exc:
        return problem_response(problem_from_error(exc), {**headers, "Retry-After": str(exc.retry_after)})
    principal = state.keys.identify(key) if key else None
    if principal is None or principal.kind != "public":
        record_key_failure(request, state)
        body = problem_body(
            401,
            "Unauthorized",
            "the widget's key is not valid",
            kind="unauthorized",
            hint="set data-key to a public key of this service",
        )
        return problem_response(body, headers)
    origin = request.headers.get("origin")
    if principal.kind == "public" and principal.origins and origin:
        if normalize_origin(origin) not in principal.origins:
            body = problem_body(
                403,
                "Forbidden",
                f"this key may not be used from {origin}",
                kind="forbidden",
                hint="use the key on one of the sites it is bound to, or ask the operator to add this origin",
            )
            return problem_response(body, headers)
    return JSONResponse({"allowed": True}, headers=headers)


DEMO_PATH = STATIC_DIR / "demo.html"


@router.get("/", response_class=HTMLResponse)
async def demo_page(request: Request, state: State) -> HTMLResponse:
    base = str(request.base_url).rstrip("/")  # includes any root_path
    origin = _origin_of(request)
    key = _demo_key(state, origin)
    script = f"{base}/widget.js"
    shown_key = "PUBLIC_KEY" if state.keys.open or key is None else key
    snippet = f'<script src="{script}" data-key="{shown_key}" defer></script>'
    if state.keys.open:
        key_note = (
            "This service has no keys configured, so the widget works without one here (loopback only). "
            "In production set BYLINE_PUBLIC_KEYS=key@https://your.site and use that key."
        )
    elif key is None:
        key_note = (
            f"Use a public key bound to your site's origin: BYLINE_PUBLIC_KEYS=key@https://your.site. "
            f"The live widget below needs one bound to {origin}."
        )
    else:
        key_note = f"This page uses the public key bound to {origin}; use one bound to your own site."
    live = f'<script src="{html.escape(script)}" data-key="{html.escape(key or "")}" defer></script>'
    template = string.Template(DEMO_PATH.read_text(encoding="utf-8"))
    page = template.substitute(snippet=html.escape(snippet), key_note=html.escape(key_note), live=live)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
