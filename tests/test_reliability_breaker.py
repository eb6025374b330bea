"""The LLM circuit breaker against a real scripted OpenAI-compatible server on 127.0.0.1.

A dead upstream (500s) opens the breaker after N failures: the upstream then sees no
requests while it is open (counted server-side), answers stay extractive and flagged; once
the cool-down has passed and the upstream is healthy again, answers come from it again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import GenerationFailed
from rag.generation import CircuitBreaker, OpenAIChatGenerator
from rag.pipeline import Pipeline

ANSWER = "Trump and Xi will meet in South Korea on October 30 [1]."
QUESTION = "When and where will Trump and Xi meet?"
FAILURES = 3
COOLDOWN_S = 0.5
LONG_S = 60.0


class _Upstream(BaseHTTPRequestHandler):
    healthy = False
    count = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        del args

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with _Upstream.lock:
            _Upstream.count += 1
        if not _Upstream.healthy:
            self._send(500, b'{"error": {"message": "upstream down"}}')
            return
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunk = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "delta": {"content": ANSWER}}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
            return
        response = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
            ],
        }
        self._send(200, json.dumps(response).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pipeline(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        seeds_dir=Path(__file__).resolve().parents[1] / "seeds",
        openai_base_url=upstream,
        openai_model="scripted",
        llm_timeout_s=5.0,
        llm_max_retries=0,
        llm_breaker_failures=FAILURES,
        llm_breaker_cooldown_s=COOLDOWN_S,
    )
    p = Pipeline(settings)
    p.ensure_seeded()
    yield p
    p.close()


def _breaker(pipeline: Pipeline) -> CircuitBreaker:
    generator = pipeline.generator("openai")
    assert isinstance(generator, OpenAIChatGenerator)
    return generator.breaker


def _half_open(breaker: CircuitBreaker, timeout_s: float = 10.0) -> None:
    """Ends the cool-down and waits until the breaker admits a trial. (Tests hold the
    cool-down at LONG_S while they count requests, so a slow machine can't end an "open"
    phase early; they set it back to LONG_S after the trial.)"""
    breaker.cooldown_s = COOLDOWN_S
    deadline = time.monotonic() + timeout_s
    while breaker.state == "open":
        assert time.monotonic() < deadline, "the breaker never left the open state"
        time.sleep(0.05)


def test_breaker_opens_stops_hammering_and_recovers(pipeline: Pipeline) -> None:
    _Upstream.healthy = False
    _Upstream.count = 0
    breaker = _breaker(pipeline)
    breaker.record_success()
    breaker.cooldown_s = LONG_S
    assert breaker.state == "closed"

    # N failures reach the upstream, each answered extractively and flagged.
    for _ in range(FAILURES):
        answer = pipeline.ask(QUESTION)
        assert answer.backend == "extractive" and answer.citations and not answer.abstained
        assert answer.fallback_reason and "openai backend failed" in answer.fallback_reason
    assert _Upstream.count == FAILURES
    assert breaker.state == "open"

    # Open: many questions, concurrently too, and not one request reaches the upstream.
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: pipeline.ask(QUESTION), range(8)))
    for answer in answers:
        assert answer.backend == "extractive" and answer.citations and not answer.abstained
        assert answer.fallback_reason and "circuit open" in answer.fallback_reason
    assert _Upstream.count == FAILURES

    # Half-open with the upstream still down: one trial request, then open again.
    _half_open(breaker)
    answer = pipeline.ask(QUESTION)
    breaker.cooldown_s = LONG_S
    assert answer.backend == "extractive"
    assert _Upstream.count == FAILURES + 1
    assert breaker.state == "open"
    assert "circuit open" in (pipeline.ask(QUESTION).fallback_reason or "")
    assert _Upstream.count == FAILURES + 1

    # Upstream back: after the cool-down the trial succeeds and the breaker closes.
    _Upstream.healthy = True
    _half_open(breaker)
    answer = pipeline.ask(QUESTION)
    assert answer.backend == "openai" and answer.fallback_reason is None
    assert breaker.state == "closed"
    answer = pipeline.ask(QUESTION)
    assert answer.backend == "openai"
    assert _Upstream.count == FAILURES + 3


def test_non_streaming_generate_uses_the_breaker(pipeline: Pipeline) -> None:
    generator = pipeline.generator("openai")
    breaker = _breaker(pipeline)
    breaker.record_success()
    breaker.cooldown_s = LONG_S
    _Upstream.healthy = False
    _Upstream.count = 0
    context = pipeline._prepare(QUESTION, None, None, None, "openai")[2]
    for _ in range(FAILURES):
        with pytest.raises(GenerationFailed, match="LLM request failed"):
            generator.generate(context)
    with pytest.raises(GenerationFailed, match="circuit open"):
        generator.generate(context)
    assert _Upstream.count == FAILURES
    _Upstream.healthy = True
    _half_open(breaker)
    assert generator.generate(context).text == ANSWER
    assert breaker.state == "closed"
    assert _Upstream.count == FAILURES + 1


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_state_machine() -> None:
    clock = _Clock()
    breaker = CircuitBreaker(failures=2, cooldown_s=10.0, clock=clock)
    breaker.before_call()
    breaker.record_failure()
    breaker.before_call()
    breaker.record_success()  # a success resets the count: failures must be consecutive
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(GenerationFailed, match="circuit open"):
        breaker.before_call()
    clock.now = 10.0
    breaker.before_call()  # the half-open trial
    with pytest.raises(GenerationFailed):
        breaker.before_call()  # only one trial at a time
    breaker.release()  # the trial's caller went away: another may try
    breaker.before_call()
    breaker.record_failure()  # a failed trial re-opens at once
    assert breaker.state == "open"
    clock.now = 20.0
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"


def test_breaker_disabled_with_zero_failures() -> None:
    breaker = CircuitBreaker(failures=0, cooldown_s=10.0)
    for _ in range(10):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "closed"


def test_breaker_is_thread_safe() -> None:
    clock = _Clock()
    breaker = CircuitBreaker(failures=1000, cooldown_s=10.0, clock=clock)

    def fail(_: int) -> None:
        breaker.record_failure()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fail, range(999)))
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 10.0
    admitted = []

    def trial(_: int) -> None:
        try:
            breaker.before_call()
            admitted.append(1)
        except GenerationFailed:
            pass

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(trial, range(50)))
    assert len(admitted) == 1  # exactly one half-open trial
