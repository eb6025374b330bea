"""Access-control audit of the real app (lifespan, pipeline on the extractive backend,
embedded Chroma on tmp_path), in-process over httpx, plus `byline serve` as a real
uvicorn process for its logs.

The routes are not listed by hand: they are read from the app (its routes and its
OpenAPI schema), so a route added later is audited without touching this file — and a
route that checks no key at all fails `test_every_route_is_guarded_or_open_by_design`
unless it is added to `OPEN_BY_DESIGN` on purpose.

Proved here: every documents operation refuses a missing or wrong key (401) and a public
key (403) and lets an admin key through, in every accepted header form; ask/chat/search
take an origin-bound public key only from its origins; no key (right or wrong) ever
reaches a log record, a response body or a header; keys are compared in constant time
against every configured key; an address that keeps failing is refused before any key is
compared; CORS echoes only allowed origins, never `*` with credentials, with
`Vary: Origin`."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from support.app import ADMIN, OTHER_SITE, PUBLIC, QUESTION, SITE, WIDGET, fresh_copy, make_settings, running
from support.serve import ServeProcess

import service.keys
from service.deps import admin_access, public_access
from service.keys import KeyRing
from service.logs import JsonFormatter
from service.main import create_app

# Starlette's TestClient answers with httpx2 responses, the real-server test with httpx's:
# the same interface, two types.
HttpResponse = Any

ADMIN_2 = "second-admin-key-cdef"
WRONG = "wrong-key-7f3a9c2e51"
EVIL = "https://evil.example"
ALL_SECRETS = (ADMIN, ADMIN_2, PUBLIC, WIDGET, WRONG)

# Routes that answer without a key, each for a reason: probes (a load balancer has no key),
# metrics (scraped from inside the network), API docs and schema (public anyway), the
# widget's script, demo page and origin check (loaded by any reader's browser).
OPEN_BY_DESIGN = {"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json", "/widget.js", "/"}
OPEN_BY_DESIGN |= {"/widget/check", "/docs-assets"}


# --- the inventory: read from the app, not hand-listed --------------------------------------
@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    guard: str | None  # "admin", "public", or None (no key checked)

    @property
    def is_documents(self) -> bool:
        return self.path == "/v1/documents" or self.path.startswith("/v1/documents/")


def _guards(dependant: Any) -> set[str]:
    found: set[str] = set()
    for dep in getattr(dependant, "dependencies", []):
        if dep.call is admin_access:
            found.add("admin")
        elif dep.call is public_access:
            found.add("public")
        found |= _guards(dep)
    return found


def _flat_routes(app: FastAPI) -> list[Any]:
    """Every route of the app, however routers were included (FastAPI ≥0.13x keeps included
    routers as branches; `iter_route_contexts` walks them, older versions are flat)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def inventory(app: FastAPI) -> list[Operation]:
    ops = []
    for route in _flat_routes(app):
        path = str(getattr(route, "path", ""))
        dependant = getattr(route, "dependant", None)
        guards = _guards(dependant) if dependant is not None else set()
        assert len(guards) <= 1, (path, guards)
        guard = next(iter(guards), None)
        for method in sorted(getattr(route, "methods", None) or {"*"}):
            ops.append(Operation(path, method, guard))
    return ops


def schema_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {(path, m.upper()) for path, ops in app.openapi()["paths"].items() for m in ops}


# --- requests built from the schema -----------------------------------------------------------
def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def sample_instance(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A valid instance of a (pydantic-made) JSON schema: its own example when it has one,
    else its required fields filled in, so an authorised request reaches the handler."""
    schema = _resolve(schema, components)
    if schema.get("examples"):
        return schema["examples"][0]
    if "anyOf" in schema:
        return sample_instance(schema["anyOf"][0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: sample_instance(props[name], components) for name in schema.get("required", [])}
    if kind == "array":
        return [sample_instance(schema.get("items", {}), components)] * max(1, schema.get("minItems", 0))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return QUESTION


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    json_body: Any = None


def probe_for(app: FastAPI, op: Operation) -> Probe:
    schema = app.openapi()
    spec = schema["paths"].get(op.path, {}).get(op.method.lower(), {})
    components = schema.get("components", {}).get("schemas", {})
    url = re.sub(r"\{(\w+)\}", lambda m: f"probe-{m.group(1)}", op.path)
    params = [p for p in spec.get("parameters", []) if p["in"] == "query" and p.get("required")]
    if params:
        url += "?" + "&".join(f"{p['name']}={sample_instance(p['schema'], components)}" for p in params)
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return Probe(op.method, url, sample_instance(body, components) if body else None)


# --- key presentations --------------------------------------------------------------------
def accepted_forms(key: str) -> dict[str, dict[str, str]]:
    """Every way service/deps.py `presented_key` accepts a key."""
    return {
        "bearer": {"Authorization": f"Bearer {key}"},
        "bearer-lowercase": {"Authorization": f"bearer {key}"},
        "bearer-extra-spaces": {"Authorization": f"Bearer   {key}"},
        "x-api-key": {"X-API-Key": key},
        "x-api-key-lowercase": {"x-api-key": key},
    }


NO_KEY: dict[str, dict[str, str]] = {
    "none": {},
    "empty-bearer": {"Authorization": "Bearer"},
    "empty-x-api-key": {"X-API-Key": ""},
    # The admin key in forms that are not accepted is no key at all.
    "raw-authorization": {"Authorization": ADMIN},
    "basic": {"Authorization": "Basic " + base64.b64encode(f"{ADMIN}:".encode()).decode()},
    "token-scheme": {"Authorization": f"Token {ADMIN}"},
    "cookie": {"Cookie": f"api_key={ADMIN}; key={ADMIN}"},
}
QUERY_KEYS = {"api_key": ADMIN, "key": ADMIN, "access_token": ADMIN}  # keys never go in URLs

WRONG_KEYS: dict[str, dict[str, str]] = {
    **{f"wrong/{form}": h for form, h in accepted_forms(WRONG).items()},
    "admin-prefix": {"X-API-Key": ADMIN[:-1]},
    "admin-extended": {"X-API-Key": ADMIN + "0"},
    "admin-uppercase": {"X-API-Key": ADMIN.upper()},
    "admin-one-char-off": {"X-API-Key": ADMIN[:-1] + chr(ord(ADMIN[-1]) + 1)},
    "two-keys-joined": {"X-API-Key": f"{ADMIN},{PUBLIC}"},
    "key-with-origin-suffix": {"X-API-Key": f"{WIDGET}@{SITE}"},
    # A wrong bearer wins over a right X-API-Key: one key per request, the Authorization one.
    "wrong-bearer-right-x-api-key": {"Authorization": f"Bearer {WRONG}", "X-API-Key": ADMIN},
}

PUBLIC_KEYS: dict[str, dict[str, str]] = {
    **{f"public/{form}": h for form, h in accepted_forms(PUBLIC).items()},
    **{f"widget/{form}": h for form, h in accepted_forms(WIDGET).items()},
    "widget-from-its-site": {"X-API-Key": WIDGET, "Origin": SITE},
    "widget-from-its-other-site": {"Authorization": f"Bearer {WIDGET}", "Origin": OTHER_SITE},
}

ADMIN_KEYS: dict[str, dict[str, str]] = {
    **{f"admin/{form}": h for form, h in accepted_forms(ADMIN).items()},
    **{f"admin2/{form}": h for form, h in accepted_forms(ADMIN_2).items()},
    "admin-from-a-browser": {"X-API-Key": ADMIN, "Origin": SITE},
}


# --- the app under audit, and a record of every response it gave ---------------------------
class AuditClient:
    """The app's TestClient, remembering every response so the whole audit's responses can
    be checked for secrets and CORS mistakes at the end."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.responses: list[HttpResponse] = []

    @property
    def app(self) -> FastAPI:
        app: FastAPI = self.client.app  # type: ignore[assignment]
        return app

    def send(
        self, probe: Probe, headers: dict[str, str], params: dict[str, str] | None = None
    ) -> HttpResponse:
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if probe.json_body is not None:
            kwargs["json"] = probe.json_body
        response = self.client.request(probe.method, probe.url, **kwargs)
        self.responses.append(response)
        return response

    def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        response = self.client.request(method, url, **kwargs)
        self.responses.append(response)
        return response


@pytest.fixture(scope="module")
def audit(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditClient]:
    """Two admin keys, an unbound public key, a widget key bound to two sites. No rate
    limit: the audit sends hundreds of requests from one client (limits are tested in
    test_service_api.py)."""
    data = fresh_copy(seeded_dir, tmp_path_factory.mktemp("audit") / "data")
    settings = make_settings(
        data,
        admin_keys=f"{ADMIN},{ADMIN_2}",
        public_keys=f"{PUBLIC},{WIDGET}@{SITE}|{OTHER_SITE}/",
        rate_limit_per_minute=0,
    )
    with running(create_app(settings)) as client:
        yield AuditClient(client)


def describe(response: HttpResponse) -> str:
    return f"{response.request.method} {response.request.url} → {response.status_code} {response.text[:200]}"


def check_all(
    audit: AuditClient, ops: list[Operation], cases: dict[str, dict[str, str]], ok: Callable[[int], bool]
) -> list[str]:
    failures = []
    for op in ops:
        probe = probe_for(audit.app, op)
        for name, headers in cases.items():
            response = audit.send(probe, headers)
            if not ok(response.status_code):
                failures.append(f"[{name}] {describe(response)}")
    return failures


def reached_handler(status: int) -> bool:
    """The key was accepted: not 401/403, and the handler answered (2xx, or 404 for the
    probe ids that don't exist) — never a server error."""
    return 200 <= status < 300 or status == 404


# --- the inventory itself ---------------------------------------------------------------------
def test_every_route_is_guarded_or_open_by_design(audit: AuditClient) -> None:
    ops = inventory(audit.app)
    documents = [op for op in ops if op.is_documents]
    assert len(documents) >= 4, documents  # POST, GET list, GET one, DELETE (at least)
    # The documents API as the schema publishes it is exactly what the app routes.
    schema_docs = {(p, m) for p, m in schema_operations(audit.app) if Operation(p, m, None).is_documents}
    assert schema_docs == {(op.path, op.method) for op in documents}
    problems = [
        f"{op.method} {op.path}: documents route not admin-only" for op in documents if op.guard != "admin"
    ]
    for op in ops:
        if op.is_documents:
            continue
        if op.path.startswith("/v1/") and op.guard is None:
            problems.append(f"{op.method} {op.path}: an API route that checks no key")
        if op.guard is None and op.path not in OPEN_BY_DESIGN:
            problems.append(f"{op.method} {op.path}: checks no key and is not in OPEN_BY_DESIGN")
    assert not problems, "\n".join(problems)


# --- the documents API ------------------------------------------------------------------------
def documents_ops(audit: AuditClient) -> list[Operation]:
    return [op for op in inventory(audit.app) if op.is_documents]


def test_documents_refuse_a_missing_key(audit: AuditClient) -> None:
    ops = documents_ops(audit)
    failures = check_all(audit, ops, NO_KEY, lambda s: s == 401)
    for op in ops:  # a key in the query string is not a key
        response = audit.send(probe_for(audit.app, op), {}, params=QUERY_KEYS)
        if response.status_code != 401:
            failures.append(f"[query-string] {describe(response)}")
    assert not failures, "\n".join(failures)
    for response in audit.responses[-len(ops) :]:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/problem+json")


def test_documents_refuse_a_wrong_key(audit: AuditClient) -> None:
    failures = check_all(audit, documents_ops(audit), WRONG_KEYS, lambda s: s == 401)
    assert not failures, "\n".join(failures)


def test_documents_refuse_public_keys(audit: AuditClient) -> None:
    failures = check_all(audit, documents_ops(audit), PUBLIC_KEYS, lambda s: s == 403)
    assert not failures, "\n".join(failures)


def test_documents_let_admin_keys_through(audit: AuditClient) -> None:
    failures = check_all(audit, documents_ops(audit), ADMIN_KEYS, reached_handler)
    assert not failures, "\n".join(failures)


def test_documents_methods_not_offered_are_refused(audit: AuditClient) -> None:
    """A method a documents path doesn't route (HEAD, PUT, PATCH…) never succeeds, with or
    without a key — no side door around the guarded handlers."""
    ops = documents_ops(audit)
    offered: dict[str, set[str]] = {}
    for op in ops:
        offered.setdefault(op.path, set()).add(op.method)
    for path, methods in offered.items():
        url = re.sub(r"\{(\w+)\}", lambda m: f"probe-{m.group(1)}", path)
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} - methods:
            for headers in ({}, accepted_forms(PUBLIC)["bearer"]):
                response = audit.request(method, url, headers=headers)
                assert response.status_code in (401, 403, 405), describe(response)


# --- ask / chat / search / models: public keys, bound to origins -----------------------------
def public_ops(audit: AuditClient) -> list[Operation]:
    ops = [op for op in inventory(audit.app) if op.guard == "public"]
    paths = {op.path for op in ops}
    assert {"/v1/ask", "/v1/search", "/v1/chat/completions"} <= paths, paths
    return ops


def test_public_routes_take_a_bound_key_only_from_its_origins(audit: AuditClient) -> None:
    ops = public_ops(audit)
    allowed = {
        f"{origin}/{form}": {**headers, "Origin": origin}
        for origin in (SITE, OTHER_SITE, SITE.upper() + "/")  # the configured "…/": normalised
        for form, headers in accepted_forms(WIDGET).items()
    }
    # Without an Origin the caller is not a browser (a server-side integration): Origin
    # binding is a browser protection, and any non-browser client could forge the header.
    allowed["no-origin"] = {"X-API-Key": WIDGET}
    refused = {
        f"{origin}/{form}": {**headers, "Origin": origin}
        for origin in (
            EVIL,
            "null",  # sandboxed iframes, file:// pages
            "http://site.example",  # same host, other scheme
            "https://site.example:8443",  # same host, other port
            "https://site.example.evil.example",  # a suffix trick
            "https://evil.example/https://site.example",
        )
        for form, headers in accepted_forms(WIDGET).items()
        if form in ("bearer", "x-api-key")
    }
    failures = check_all(audit, ops, allowed, reached_handler)
    failures += check_all(audit, ops, refused, lambda s: s == 403)
    assert not failures, "\n".join(failures)
    refusal = audit.send(probe_for(audit.app, ops[0]), {"X-API-Key": WIDGET, "Origin": EVIL})
    assert refusal.headers["content-type"].startswith("application/problem+json")
    assert "evil.example" in refusal.json()["detail"]


def test_public_routes_keys_and_refusals(audit: AuditClient) -> None:
    """Unbound public keys and admin keys work from any origin; no key or a wrong one is 401."""
    ops = public_ops(audit)
    anywhere = {
        f"{name}@evil": {**h, "Origin": EVIL} for name, h in PUBLIC_KEYS.items() if name.startswith("public/")
    }
    anywhere |= ADMIN_KEYS
    anywhere |= {f"{name}@evil": {**h, "Origin": EVIL} for name, h in accepted_forms(ADMIN).items()}
    failures = check_all(audit, ops, anywhere, reached_handler)
    failures += check_all(audit, ops, NO_KEY, lambda s: s == 401)
    failures += check_all(audit, ops, WRONG_KEYS, lambda s: s == 401)
    assert not failures, "\n".join(failures)


# --- CORS -------------------------------------------------------------------------------------
def _vary(response: HttpResponse) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("vary", "").split(",") if v.strip()}


def test_cors_preflight(audit: AuditClient) -> None:
    for op in public_ops(audit):
        path = re.sub(r"\{(\w+)\}", "probe", op.path)
        for origin in (SITE, OTHER_SITE):
            preflight = audit.request(
                "OPTIONS",
                path,
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": op.method,
                    "Access-Control-Request-Headers": "authorization, x-api-key, content-type",
                },
            )
            assert preflight.status_code == 200, describe(preflight)
            assert preflight.headers["access-control-allow-origin"] == origin
            assert "origin" in _vary(preflight)
            assert "access-control-allow-credentials" not in preflight.headers
            allowed_headers = preflight.headers["access-control-allow-headers"].lower()
            assert "authorization" in allowed_headers and "x-api-key" in allowed_headers
        for origin in (EVIL, "null", "http://site.example"):
            refused = audit.request(
                "OPTIONS", path, headers={"Origin": origin, "Access-Control-Request-Method": op.method}
            )
            assert "access-control-allow-origin" not in refused.headers, describe(refused)
            assert "origin" in _vary(refused)
            assert refused.status_code >= 400


def test_cors_simple_requests(audit: AuditClient) -> None:
    for op in public_ops(audit):
        probe = probe_for(audit.app, op)
        for origin in (SITE, OTHER_SITE):
            ok = audit.send(probe, {"X-API-Key": WIDGET, "Origin": origin})
            assert reached_handler(ok.status_code), describe(ok)
            assert ok.headers["access-control-allow-origin"] == origin
            assert "origin" in _vary(ok)
            assert "x-request-id" in ok.headers["access-control-expose-headers"].lower()
        for headers in ({"X-API-Key": WIDGET, "Origin": EVIL}, {"X-API-Key": PUBLIC, "Origin": EVIL}):
            other = audit.send(probe, headers)
            assert "access-control-allow-origin" not in other.headers, describe(other)
            assert "origin" in _vary(other)  # a cache must not serve it to an allowed site
        no_origin = audit.send(probe, {"X-API-Key": PUBLIC})
        assert "access-control-allow-origin" not in no_origin.headers
        assert "origin" in _vary(no_origin)


def test_no_response_combines_a_wildcard_with_credentials(audit: AuditClient) -> None:
    """Every route with every kind of key from allowed and other origins (plus every response
    of the tests above): credentials are never allowed cross-origin, `*` only where no
    credentials are (the widget's origin check), and an echoed origin is always one of the
    configured sites, with `Vary: Origin`."""
    keys = {
        "none": {},
        "admin": {"X-API-Key": ADMIN},
        "public": {"X-API-Key": PUBLIC},
        "widget": {"X-API-Key": WIDGET},
    }
    for op in inventory(audit.app):
        if op.method not in ("GET", "POST", "DELETE") or "{" in op.path and op.guard is None:
            continue
        probe = probe_for(audit.app, op)
        for origin in (SITE, OTHER_SITE, EVIL, "null"):
            for headers in keys.values():
                audit.send(probe, {**headers, "Origin": origin, "Cookie": "session=1"})
    audit.request("GET", "/widget/check", params={"key": WIDGET}, headers={"Origin": SITE})
    assert len(audit.responses) > 200
    for response in audit.responses:
        acao = response.headers.get("access-control-allow-origin")
        assert "access-control-allow-credentials" not in response.headers, describe(response)
        if acao == "*":
            assert response.request.url.path == "/widget/check", describe(response)
        elif acao is not None:
            assert acao in (SITE, OTHER_SITE), describe(response)
            assert "origin" in _vary(response), describe(response)


# --- keys never leave: not in logs, bodies or headers -------------------------------------------
class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# The test's own HTTP client (TestClient is an httpx/httpx2 client) logs the URLs it
# requests, query strings included; those records come from the caller, not the service.
CLIENT_LOGGERS = ("httpx", "httpcore")  # prefixes: httpx2, httpcore2 too


def _rendered(record: logging.LogRecord) -> str:
    """Everything a handler could write: the message, every `extra` field (as the JSON
    formatter writes them), the traceback."""
    return "\n".join((record.getMessage(), JsonFormatter().format(record), repr(vars(record))))


def _secrets_in(text: str) -> list[str]:
    return [s for s in ALL_SECRETS if s in text]


def test_keys_never_logged_nor_echoed(audit: AuditClient, caplog: pytest.LogCaptureFixture) -> None:
    """Every key presentation of this module once more, with every logger at DEBUG (and a
    handler on any logger that doesn't propagate to caplog's)."""
    names = ["", *[n for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)]]
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
    extra = _ListHandler()
    stragglers = [logging.getLogger(n) for n in names if n and not logging.getLogger(n).propagate]
    for logger in stragglers:
        logger.addHandler(extra)
    before = len(audit.responses)
    try:
        all_cases = {**NO_KEY, **WRONG_KEYS, **PUBLIC_KEYS, **ADMIN_KEYS}
        for op in inventory(audit.app):
            if op.guard is None:
                continue
            probe = probe_for(audit.app, op)
            for headers in all_cases.values():
                audit.send(probe, {**headers, "X-Request-ID": "keys-audit"})
            audit.send(probe, {"X-API-Key": WIDGET, "Origin": EVIL})
            audit.send(probe, {}, params={**QUERY_KEYS, "wrong": WRONG})
        # The one route that takes a key in its query string (the widget's origin check).
        for key in ALL_SECRETS:
            for origin in (SITE, EVIL):
                audit.request("GET", "/widget/check", params={"key": key}, headers={"Origin": origin})
        # A request that fails validation and one that hits no route, with keys around.
        audit.request("POST", "/v1/ask", json={"question": ""}, headers={"X-API-Key": ADMIN})
        audit.request("POST", "/v1/ask", content=b"{not json", headers={"X-API-Key": WRONG})
        audit.request("GET", "/no/such/route", headers={"X-API-Key": ADMIN})
        metrics = audit.request("GET", "/metrics")
    finally:
        for logger in stragglers:
            logger.removeHandler(extra)
    records = [r for r in [*caplog.records, *extra.records] if not r.name.startswith(CLIENT_LOGGERS)]
    assert len(records) >= 100  # the access log saw the requests: the check below isn't vacuous
    assert any(
        r.name == "byline.access" and str(getattr(r, "principal", None)).startswith("admin:") for r in records
    )
    leaked = [
        f"{r.name}: {_secrets_in(_rendered(r))} in {r.getMessage()!r}"
        for r in records
        if _secrets_in(_rendered(r))
    ]
    assert not leaked, "\n".join(leaked[:20])
    assert not _secrets_in(metrics.text)  # metrics label by route and reason, never by key
    responses = audit.responses[before:]
    assert len(responses) > 300
    for response in responses:
        assert not _secrets_in(response.text), describe(response)
        assert not _secrets_in(json.dumps(dict(response.headers))), describe(response)


def test_keys_never_in_a_real_servers_log(
    start_service: Callable[..., ServeProcess],
    seeded_dir: Path,
    tmp_path: Path,
) -> None:
    """`byline serve` (a real uvicorn on a socket, its own JSON logging) sees every kind of
    key; its whole log — uvicorn's and ours — holds none of them."""
    fresh_copy(seeded_dir, tmp_path / "keys-data")  # the data dir start_service("keys") uses
    service = start_service(
        "keys",
        env={
            "BYLINE_ADMIN_KEYS": f"{ADMIN},{ADMIN_2}",
            "BYLINE_PUBLIC_KEYS": f"{PUBLIC},{WIDGET}@{SITE}",
            "BYLINE_RATE_LIMIT_PER_MINUTE": "0",
        },
    )
    statuses: list[int] = []
    with httpx.Client(base_url=service.url, trust_env=False, timeout=30) as http:
        for headers in (
            *accepted_forms(ADMIN).values(),
            *NO_KEY.values(),
            *WRONG_KEYS.values(),
            *PUBLIC_KEYS.values(),
        ):
            for method, url, body in (
                ("GET", "/v1/documents", None),
                ("POST", "/v1/search", {"query": QUESTION}),
                ("DELETE", "/v1/documents/probe", None),
            ):
                r = http.request(method, url, json=body, headers=headers, params={"api_key": ADMIN_2})
                statuses.append(r.status_code)
                assert not _secrets_in(r.text) and not _secrets_in(json.dumps(dict(r.headers)))
        for key in ALL_SECRETS:
            statuses.append(
                http.get("/widget/check", params={"key": key}, headers={"Origin": EVIL}).status_code
            )
    assert {200, 401, 403} <= set(statuses)
    service.stop()
    log = service.log()
    access = [line for line in log.splitlines() if '"byline.access"' in line]
    assert len(access) >= len(statuses)  # every request was logged, so the check isn't vacuous
    assert not _secrets_in(log), [line for line in log.splitlines() if _secrets_in(line)][:5]


# --- key guessing ---------------------------------------------------------------------------
def test_key_guessing_is_throttled_per_address(
    tmp_path: Path, compare_spy: list[tuple[bytes, bytes]]
) -> None:
    """Missing or wrong keys drain a bucket of the client IP's own; once it is empty the IP
    is refused (429 + Retry-After) before any key is compared — the right key included, or
    a refused guesser would still see which guess was right. Other addresses and valid
    keys are unaffected; the bucket refills at the configured rate."""
    settings = make_settings(
        tmp_path / "data", admin_keys=ADMIN, public_keys=PUBLIC, rate_limit_per_minute=120, rate_limit_burst=3
    )
    app = create_app(settings)  # no lifespan needed: /v1/models doesn't use the pipeline
    guesser = TestClient(app, client=("203.0.113.7", 40000))
    neighbour = TestClient(app, client=("203.0.113.8", 40000))
    for _ in range(20):  # valid keys never count as failures (admin keys: not rate limited)
        assert guesser.get("/v1/models", headers={"X-API-Key": ADMIN}).status_code == 200
    for headers in ({"X-API-Key": WRONG}, {}, {"Authorization": f"Bearer {WRONG}x"}):
        assert guesser.get("/v1/models", headers=headers).status_code == 401
    compare_spy.clear()
    refused = guesser.get("/v1/models", headers={"X-API-Key": ADMIN})
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    assert compare_spy == []  # refused before any comparison: no oracle
    assert guesser.get("/v1/documents", headers={"X-API-Key": WRONG}).status_code == 429
    assert neighbour.get("/v1/models", headers={"X-API-Key": ADMIN}).status_code == 200
    assert neighbour.get("/v1/models", headers={"X-API-Key": WRONG}).status_code == 401
    time.sleep(int(refused.headers["retry-after"]) + 0.1)
    assert guesser.get("/v1/models", headers={"X-API-Key": ADMIN}).status_code == 200
    metrics = guesser.get("/metrics").text
    assert 'reason="rate_limited"' in metrics and not _secrets_in(metrics)


def test_widget_check_is_no_key_oracle(tmp_path: Path) -> None:
    """`GET /widget/check` answers every origin (CORS `*`), so it must not be a way around
    the throttle, nor confirm admin keys (which don't belong in a page or a query string):
    an admin key there is "not valid", failures drain the same bucket, and the 429 still
    carries CORS and Retry-After so the widget can say "busy"."""
    settings = make_settings(
        tmp_path / "data", admin_keys=ADMIN, public_keys=PUBLIC, rate_limit_per_minute=120, rate_limit_burst=3
    )
    guesser = TestClient(create_app(settings), client=("203.0.113.9", 40000))
    assert guesser.get("/widget/check", params={"key": PUBLIC}).status_code == 200
    admin = guesser.get("/widget/check", params={"key": ADMIN})
    assert admin.status_code == 401 and "allowed" not in admin.text
    for _ in range(2):
        assert guesser.get("/widget/check", params={"key": WRONG}).status_code == 401
    refused = guesser.get("/widget/check", params={"key": PUBLIC})
    assert refused.status_code == 429, refused.text
    assert refused.headers["access-control-allow-origin"] == "*" and int(refused.headers["retry-after"]) >= 1
    assert guesser.get("/v1/models", headers={"X-API-Key": ADMIN}).status_code == 429  # one bucket


# --- constant-time comparison -------------------------------------------------------------
CONFIGURED = {"admin": ["k-admin-1", "k-admin-2-longer"], "public": ["k-pub-1", "k-pub-2"]}


def _ring(tmp_path: Path) -> KeyRing:
    return KeyRing(
        make_settings(
            tmp_path / "data",
            admin_keys=",".join(CONFIGURED["admin"]),
            public_keys=f"{CONFIGURED['public'][0]},{CONFIGURED['public'][1]}@{SITE}",
        )
    )


@pytest.fixture
def compare_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Records every `hmac.compare_digest` call made by service.keys (and only by it)."""
    calls: list[tuple[bytes, bytes]] = []
    real = service.keys.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(service.keys, "hmac", SimpleNamespace(compare_digest=spy))
    return calls


@pytest.mark.parametrize(
    "presented",
    ["k-admin-1", "k-admin-2-longer", "k-pub-1", "k-pub-2", "wrong", "k-admin-", "k-admin-1x", "x" * 4096],
)
def test_every_key_is_compared_in_constant_time(
    presented: str, tmp_path: Path, compare_spy: list[tuple[bytes, bytes]]
) -> None:
    """`hmac.compare_digest` against every configured key, even when the first one matches
    (no early exit), on equal-length values (compare_digest exits early on a length
    mismatch, which would time the keys' lengths)."""
    ring = _ring(tmp_path)
    principal = ring.identify(presented)
    n_keys = len(CONFIGURED["admin"]) + len(CONFIGURED["public"])
    assert len(compare_spy) == n_keys
    assert len({b for _, b in compare_spy}) == n_keys  # each configured key once
    assert len({a for a, _ in compare_spy}) == 1  # always the presented key
    assert all(len(a) == len(b) for a, b in compare_spy)
    assert not any(presented.encode() in (a, b) for a, b in compare_spy)  # no raw key compared
    if presented in CONFIGURED["admin"]:
        assert principal is not None and principal.kind == "admin"
    elif presented in CONFIGURED["public"]:
        assert principal is not None and principal.kind == "public"
    else:
        assert principal is None
    if principal is not None:  # its id is a hash, never the key
        assert presented not in principal.id
        assert principal.id.endswith(hashlib.sha256(presented.encode()).hexdigest()[:12])


def test_requests_go_through_the_constant_time_check(
    audit: AuditClient, compare_spy: list[tuple[bytes, bytes]]
) -> None:
    """The HTTP path uses the same comparison: one request, every configured key (4) compared,
    whether the key is the first configured, the last, or none."""
    for key in (ADMIN, WIDGET, WRONG):
        compare_spy.clear()
        audit.request("GET", "/v1/models", headers={"X-API-Key": key})
        assert len(compare_spy) == 4, key
