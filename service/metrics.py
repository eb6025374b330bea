"""Prometheus metrics, in a registry of the app's own (several apps in one process — the
tests — don't collide). Per process: with `--workers N` each worker reports its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: N811
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rag.types import Answer, Backend

if TYPE_CHECKING:
    from rag.generation import CircuitBreaker
    from rag.pipeline import Pipeline

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_STAGE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)

__all__ = ["CONTENT_TYPE", "Metrics", "QueueSource", "breakers_of"]

BreakerSource = Callable[[], Mapping[str, "CircuitBreaker"]]
# Per backend: (questions waiting for one of its slots, questions it is answering now).
QueueSource = Callable[[], Mapping[str, tuple[int, int]]]


def breakers_of(pipeline: Pipeline | None, backends: Iterable[Backend]) -> dict[str, CircuitBreaker]:
    """The circuit breaker of each LLM backend a request may use (extractive has none)."""
    if pipeline is None:
        return {}
    found: dict[str, CircuitBreaker] = {}
    for backend in backends:
        if backend == "extractive":
            continue
        breaker = getattr(pipeline.generator(backend), "breaker", None)
        if breaker is not None:
            found[backend] = breaker
    return found


class _BreakerCollector(Collector):
    """Read at scrape time from the generators' breakers: the state lives there, and a
    breaker opens or closes with no request passing through the service to record it."""

    def __init__(self) -> None:
        self.source: BreakerSource = dict

    def collect(self) -> Iterator[Metric]:
        is_open = GaugeMetricFamily(
            "byline_llm_breaker_open",
            "1 while the LLM circuit breaker is open or half-open: questions skip the LLM "
            "(answered extractively) until a trial call succeeds.",
            labels=["backend"],
        )
        refused = CounterMetricFamily(
            "byline_llm_breaker_short_circuited",
            "LLM calls refused by the open circuit breaker, without reaching the upstream.",
            labels=["backend"],
        )
        for backend, breaker in sorted(self.source().items()):
            is_open.add_metric([backend], 0.0 if breaker.state == "closed" else 1.0)
            refused.add_metric([backend], float(breaker.short_circuited))
        yield is_open
        yield refused

    def describe(self) -> Iterator[Metric]:
        return iter(())


class _QueueCollector(Collector):
    """Read at scrape time from the generation queue, one series per backend: a busy local
    model must show as the local backend's queue, not as everyone's."""

    def __init__(self) -> None:
        self.source: QueueSource = dict

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "byline_queue_depth",
            "Questions waiting for a generation slot of the backend (extractive: never waits).",
            labels=["backend"],
        )
        in_flight = GaugeMetricFamily(
            "byline_generation_in_flight", "Questions the backend is answering now.", labels=["backend"]
        )
        for backend, (n_waiting, n_in_flight) in sorted(self.source().items()):
            waiting.add_metric([backend], float(n_waiting))
            in_flight.add_metric([backend], float(n_in_flight))
        yield waiting
        yield in_flight

    def describe(self) -> Iterator[Metric]:
        return iter(())


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "byline_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "byline_http_request_duration_seconds",
            "Time to the end of the response (streams included), by route.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.retrieval = Histogram(
            "byline_retrieval_seconds",
            "Retrieval and context building per answer.",
            ["backend"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.generation = Histogram(
            "byline_generation_seconds",
            "Generation per answer.",
            ["backend"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.answers = Counter("byline_answers", "Answers given.", ["backend"], registry=r)
        self.abstentions = Counter(
            "byline_abstentions",
            "Answers that said the articles don't hold the answer.",
            ["backend"],
            registry=r,
        )
        self.fallbacks = Counter(
            "byline_fallbacks", "Answers given extractively because the LLM failed.", ["backend"], registry=r
        )
        self.rejected = Counter(
            "byline_rejected", "Requests turned away before any work.", ["reason"], registry=r
        )
        self.ready = Gauge("byline_ready", "1 once the pipeline is loaded.", registry=r)
        self._breakers = _BreakerCollector()
        r.register(self._breakers)
        self._queue = _QueueCollector()
        r.register(self._queue)

    def track_queue(self, source: QueueSource) -> None:
        self._queue.source = source

    def track_breakers(self, source: BreakerSource) -> None:
        self._breakers.source = source

    def observe_answer(self, answer: Answer) -> None:
        backend = answer.backend
        self.answers.labels(backend).inc()
        self.retrieval.labels(backend).observe(answer.timings.retrieve_s)
        self.generation.labels(backend).observe(answer.timings.generate_s)
        if answer.abstained:
            self.abstentions.labels(backend).inc()
        if answer.fallback_reason:
            # Labelled by the backend that failed (the answer's own is the extractive one).
            self.fallbacks.labels(answer.fallback_from or backend).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
