"""Asking the pipeline from async routes: a slot in the backend's lane of the generation
queue (extractive: counted, never waits), the work in a worker thread, one deadline for
both, metrics from the answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from rag.pipeline import Pipeline, StreamEvent
from rag.types import Answer, Backend, Citation, Context, SearchFilters, Turn
from service.state import ServiceState
from service.work import BlockingStream, run_blocking


@dataclass(frozen=True)
class AskJob:
    """One question as the routes hand it to the pipeline (the HTTP body's `Question` is
    only its text, validated)."""

    text: str
    history: list[Turn] = field(default_factory=list)
    top_k: int | None = None
    filters: SearchFilters | None = None
    backend: Backend | None = None


def context_citations(context: Context) -> list[Citation]:
    """The passages as the draft will cite them ([n]); `quote` is the whole passage."""
    return [p.cite() for p in context.passages]


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._end = self._loop.time() + seconds
        self.at = time.monotonic() + seconds  # the same instant, for the pipeline's threads

    def remaining(self) -> float:
        return max(0.001, self._end - self._loop.time())


def _options(q: AskJob, deadline: _Deadline) -> dict[str, Any]:
    """`Pipeline.ask`'s and `ask_stream`'s keyword arguments for one job."""
    return {
        "history": q.history,
        "top_k": q.top_k,
        "filters": q.filters,
        "backend": q.backend,
        "deadline": deadline.at,
    }


async def answer_once(state: ServiceState, pipeline: Pipeline, q: AskJob) -> Answer:
    backend = q.backend or pipeline.default_backend
    deadline = _Deadline(state.settings.request_timeout_s)
    slot = await state.queue.acquire(backend, deadline.remaining())
    # The worker's done-callback releases the slot, when the thread really ends.
    answer = await run_blocking(
        lambda: pipeline.ask(q.text, **_options(q, deadline)),
        timeout_s=deadline.remaining(),
        on_done=slot.release,
    )
    state.metrics.observe_answer(answer)
    return answer


class AnswerStream:
    """`context` (the numbered passages) is known before the response starts, so errors
    up to retrieval are ordinary HTTP errors; `events()` yields the rest."""

    def __init__(self, state: ServiceState, context: Context, stream: BlockingStream) -> None:
        self._state = state
        self.context = context
        self._stream = stream

    async def events(self) -> AsyncIterator[StreamEvent]:
        try:
            async for event in self._stream:
                if event.kind == "answer" and event.answer is not None:
                    self._state.metrics.observe_answer(event.answer)
                yield event
        finally:
            self._stream.close()

    def close(self) -> None:
        self._stream.close()


async def open_stream(state: ServiceState, pipeline: Pipeline, q: AskJob) -> AnswerStream:
    backend = q.backend or pipeline.default_backend
    deadline = _Deadline(state.settings.request_timeout_s)
    slot = await state.queue.acquire(backend, deadline.remaining())
    stream = BlockingStream(
        lambda: pipeline.ask_stream(q.text, **_options(q, deadline)),
        timeout_s=deadline.remaining(),
        on_done=slot.release,
    ).start()
    try:
        first: StreamEvent = await stream.next()
    except BaseException:
        stream.close()
        raise
    assert first.kind == "sources" and first.context is not None
    return AnswerStream(state, first.context, stream)
