"""The LLM circuit breaker against a real scripted OpenAI-compatible server on 127.0.0.1.

A dead upstream (500s) opens the breaker after N failures: the upstream then sees no
requests while it is open (counted server-side), answers stay extractive and flagged; once
the cool-down has passed and the upstream is healthy again, answers come from it again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.llm import OK, Reply, ScriptedLLM
from support.pipelines import scripted_openai_settings, seeded_pipeline

from rag.errors import GenerationFailed
from rag.generation import CircuitBreaker, OpenAIChatGenerator
from rag.pipeline import Pipeline

QUESTION = "When and where will Trump and Xi meet?"
FAILURES = 3
COOLDOWN_S = 0.5
LONG_S = 60.0
DOWN = Reply(status=500, error="upstream down")


@pytest.fixture(scope="module")
def pipeline(llm_server: ScriptedLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    settings = scripted_openai_settings(
        llm_server.url,
        tmp_path_factory.mktemp("data"),
        llm_timeout_s=5.0,
        llm_breaker_failures=FAILURES,
        llm_breaker_cooldown_s=COOLDOWN_S,
    )
    with seeded_pipeline(settings) as p:
        yield p


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


def test_breaker_opens_stops_hammering_and_recovers(pipeline: Pipeline, llm: ScriptedLLM) -> None:
    llm.reply_with(DOWN)
    breaker = _breaker(pipeline)
    breaker.record_success()
    breaker.cooldown_s = LONG_S
    assert breaker.state == "closed"

    # N failures reach the upstream, each answered extractively and flagged.
    for _ in range(FAILURES):
        answer = pipeline.ask(QUESTION)
        assert answer.backend == "extractive" and answer.citations and not answer.abstained
        assert answer.fallback_reason and "openai backend failed" in answer.fallback_reason
    assert llm.hits == FAILURES
    assert breaker.state == "open"

    # Open: many questions, concurrently too, and not one request reaches the upstream.
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: pipeline.ask(QUESTION), range(8)))
    for answer in answers:
        assert answer.backend == "extractive" and answer.citations and not answer.abstained
        assert answer.fallback_reason and "circuit open" in answer.fallback_reason
    assert llm.hits == FAILURES

    # Half-open with the upstream still down: one trial request, then open again.
    _half_open(breaker)
    answer = pipeline.ask(QUESTION)
    breaker.cooldown_s = LONG_S
    assert answer.backend == "extractive"
    assert llm.hits == FAILURES + 1
    assert breaker.state == "open"
    assert "circuit open" in (pipeline.ask(QUESTION).fallback_reason or "")
    assert llm.hits == FAILURES + 1

    # Upstream back: after the cool-down the trial succeeds and the breaker closes.
    llm.reply_with(OK)
    _half_open(breaker)
    answer = pipeline.ask(QUESTION)
    assert answer.backend == "openai" and answer.fallback_reason is None
    assert breaker.state == "closed"
    answer = pipeline.ask(QUESTION)
    assert answer.backend == "openai"
    assert llm.hits == FAILURES + 3


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
