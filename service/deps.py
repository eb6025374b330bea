"""Route dependencies: who is calling (keys, origins), may they (rate limit), and the
pipeline once it is loaded."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from rag.pipeline import Pipeline
from service.errors import Forbidden, RateLimited, Unauthorized
from service.keys import Principal, normalize_origin
from service.state import ServiceState

KEY_HINT = "send `Authorization: Bearer <key>` or `X-API-Key: <key>`"


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.byline
    return state


State = Annotated[ServiceState, Depends(get_state)]


def get_pipeline(state: State) -> Pipeline:
    return state.require_pipeline()


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def refuse_if_guessing(request: Request, state: ServiceState) -> None:
    """429 for a client IP whose missing or wrong keys used up its bucket.

    Without it a client could guess keys as fast as it can send requests: the rate limit
    applies only once a key is known. So each failed key takes a token from a bucket of the
    client IP's own (the same rate and burst as the public limit); when it is empty the IP
    is refused *before* any key is compared, even a right one — otherwise a refused
    guesser would still learn which guess was right.
    """
    wait_s = state.limiter.wait_s(_failures_bucket(request))
    if wait_s > 0:
        state.metrics.rejected.labels("rate_limited").inc()
        raise RateLimited(
            "too many requests without a valid API key from this address",
            f"wait for the Retry-After seconds, then {KEY_HINT} with a valid key",
            retry_after_s=wait_s,
        )


def record_key_failure(request: Request, state: ServiceState) -> None:
    state.metrics.rejected.labels("unauthorized").inc()
    with contextlib.suppress(RateLimited):  # this one is still answered 401
        state.limiter.check(_failures_bucket(request))


def _failures_bucket(request: Request) -> str:
    return f"auth-failures:{client_ip(request)}"


def _identify(request: Request, state: ServiceState) -> Principal:
    """Who is calling, or 401 — and 429 for a client IP that keeps failing."""
    if state.keys.open:
        return Principal(kind="anonymous", id=f"ip:{client_ip(request)}")
    refuse_if_guessing(request, state)
    key = presented_key(request)
    principal = state.keys.identify(key) if key is not None else None
    if principal is None:
        record_key_failure(request, state)
        if key is None:
            raise Unauthorized("this route needs an API key", KEY_HINT)
        raise Unauthorized("the API key is not valid", KEY_HINT)
    return principal


def _rate_limit(request: Request, state: ServiceState, principal: Principal) -> None:
    """Admin keys are not limited; nor is loopback when no keys are configured (a local
    tool: the eval harness, a script). Public keys are limited per key and client IP, so
    one busy reader doesn't use up a whole site's widget."""
    ip = client_ip(request)
    if principal.kind == "admin" or (principal.kind == "anonymous" and _is_loopback(ip)):
        return
    bucket = f"{principal.id}|{ip}" if principal.kind == "public" else principal.id
    try:
        state.limiter.check(bucket)
    except RateLimited:
        state.metrics.rejected.labels("rate_limited").inc()
        raise


def _check_origin(request: Request, state: ServiceState, principal: Principal) -> None:
    origin = request.headers.get("origin")
    if principal.kind == "public" and principal.origins and origin:
        if normalize_origin(origin) not in principal.origins:
            state.metrics.rejected.labels("forbidden").inc()
            raise Forbidden(
                f"this key may not be used from {origin}",
                "use the key on one of the sites it is bound to, or ask the operator to add this origin",
            )


async def public_access(request: Request, state: State) -> Principal:
    """ask, chat, search: an admin or public key (or none when no keys are configured)."""
    principal = _identify(request, state)
    _check_origin(request, state, principal)
    _rate_limit(request, state, principal)
    request.state.principal = principal.id
    return principal


async def admin_access(request: Request, state: State) -> Principal:
    """The documents API: an admin key (or none when no keys are configured)."""
    principal = _identify(request, state)
    if principal.kind == "public":
        state.metrics.rejected.labels("forbidden").inc()
        raise Forbidden("a public key can't change or list documents", "use an admin key (BYLINE_ADMIN_KEYS)")
    _rate_limit(request, state, principal)
    request.state.principal = principal.id
    return principal


PublicAccess = Annotated[Principal, Depends(public_access)]
AdminAccess = Annotated[Principal, Depends(admin_access)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
