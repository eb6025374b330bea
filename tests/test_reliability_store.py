"""Vector store faults through the real service: `byline serve` (a uvicorn subprocess)
on a real `chroma run` server, which is stopped mid-traffic and started again.

While the store is down, /v1/ask and /v1/search answer 503 problem+json with Retry-After
— never a 500, never a hang — and once it is back the same service process answers
again, with no restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from support.serve import ServeProcess

QUESTION = "Where will Trump and Xi meet?"
ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/ask", {"question": QUESTION}),
    ("/v1/search", {"query": QUESTION}),
]
REQUEST_BUDGET_S = 15.0  # a down store must be reported well within this


@pytest.fixture
def service(start_service: Callable[..., ServeProcess], chroma_server: Any) -> Iterator[str]:
    """A ready `byline serve` on the shared Chroma server (a collection of its own); the
    server is started again afterwards if the test left it down."""
    env = {
        "CHROMA_HOST": chroma_server.host,
        "CHROMA_PORT": str(chroma_server.port),
        "BYLINE_COLLECTION": f"rel{uuid4().hex[:12]}",
        "BYLINE_RATE_LIMIT_PER_MINUTE": "0",
    }
    try:
        yield start_service("serve", env).url
    finally:
        if not chroma_server.running:  # never leave the shared server down for other tests
            chroma_server.start()


class _Traffic:
    """Clients asking and searching in a loop, recording (route, status, seconds, response)."""

    def __init__(self, url: str, clients: int = 3) -> None:
        self.url = url
        self.results: list[tuple[str, int, float, httpx.Response]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def _run(self, i: int) -> None:
        with httpx.Client(trust_env=False, timeout=REQUEST_BUDGET_S * 2) as http:
            n = i
            while not self._stop.is_set():
                route, body = ROUTES[n % len(ROUTES)]
                n += 1
                started = time.monotonic()
                try:
                    response = http.post(f"{self.url}{route}", json=body)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.errors.append(f"{route}: {type(exc).__name__}: {exc}")
                    continue
                with self._lock:
                    self.results.append((route, response.status_code, time.monotonic() - started, response))
                time.sleep(0.02)

    def __enter__(self) -> _Traffic:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=REQUEST_BUDGET_S * 3)

    def snapshot(self) -> list[tuple[str, int, float, httpx.Response]]:
        with self._lock:
            return list(self.results)

    def wait_for(self, predicate: Any, timeout_s: float, since: int = 0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.snapshot()[since:]):
                return
            time.sleep(0.05)
        raise AssertionError(f"traffic never matched; last statuses {[r[1] for r in self.snapshot()[-20:]]}")


def _both_routes(status: int) -> Any:
    return lambda rows: {route for route, code, _, _ in rows if code == status} == {r for r, _ in ROUTES}


def test_chroma_server_killed_and_restarted_mid_traffic(service: str, chroma_server: Any) -> None:
    with _Traffic(service) as traffic:
        traffic.wait_for(_both_routes(200), timeout_s=60)

        chroma_server.stop()
        down_from = len(traffic.snapshot())
        traffic.wait_for(_both_routes(503), timeout_s=60, since=down_from)
        time.sleep(1.0)  # more traffic against the dead store

        restarted_at = len(traffic.snapshot())
        chroma_server.start()
        traffic.wait_for(_both_routes(200), timeout_s=60, since=restarted_at)
        time.sleep(0.5)

    rows = traffic.snapshot()
    assert not traffic.errors, traffic.errors[:5]
    statuses = {code for _, code, _, _ in rows}
    assert statuses <= {200, 503}, sorted(statuses)
    down = [r for r in rows[down_from:restarted_at] if r[1] == 503]
    assert down
    for route, _, seconds, response in down:
        assert seconds < REQUEST_BUDGET_S, (route, seconds)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["Retry-After"]) >= 1
        problem = response.json()
        assert problem["status"] == 503 and problem["retry_after"] >= 1
        assert problem["title"] == "Vector store unavailable", problem
        assert "Traceback" not in response.text
    # After the restart the same process answers again.
    with httpx.Client(trust_env=False, timeout=60) as http:
        answer = http.post(f"{service}/v1/ask", json={"question": QUESTION})
        assert answer.status_code == 200, answer.text
        assert answer.json()["citations"] and not answer.json()["abstained"]
        hits = http.post(f"{service}/v1/search", json={"query": QUESTION})
        assert hits.status_code == 200 and hits.json()["hits"]
