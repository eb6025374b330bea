"""Back-pressure: a token bucket per caller, and a bounded queue per generating backend.

The local model answers one question at a time; letting requests pile up behind it would
turn a burst into minutes of waiting and then timeouts. So a question for a generating
backend either gets one of its slots, waits in its queue of at most `queue_max`, or is
told at once to come back later (503 + Retry-After estimated from that backend's recent
answer times) — never a hang.

Each backend has its own slots, waiting line and Retry-After: questions waiting for the
local model say nothing about how soon OpenAI (or the extractive backend) can answer.
The extractive backend takes no slot at all: it is CPU-cheap and bounded (milliseconds
per answer), so it is answered at once however busy the LLMs are — only counted, so the
metrics show it in flight.

Both are per process: with N workers the effective limits are N times larger.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from rag.types import Backend
from service.errors import QueueFull, RateLimited


class RateLimiter:
    """Token buckets keyed by caller (key hash or client IP), LRU-bounded in memory."""

    def __init__(self, per_minute: float, burst: int, max_callers: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_callers = max_callers
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def wait_s(self, caller: str, now: float | None = None) -> float:
        """Seconds until `caller` has a token (0: it has one now), taking none — so a
        caller can be refused before any work is done for it (see deps: key guessing)."""
        if not self.enabled or caller not in self._buckets:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets[caller]
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def check(self, caller: str, now: float | None = None) -> None:
        """Take one token or raise RateLimited saying when the next one is due."""
        if not self.enabled:
            return
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[caller] = (tokens, now)
            raise RateLimited(
                f"rate limit of {self.rate * 60:g} requests per minute (burst {self.burst:g}) exceeded",
                "wait for the Retry-After seconds, or ask the operator for a higher limit",
                retry_after_s=(1.0 - tokens) / self.rate,
            )
        self._buckets[caller] = (tokens - 1.0, now)
        while len(self._buckets) > self.max_callers:
            self._buckets.popitem(last=False)


class Slot:
    """A held place in a backend's lane; `release()` is idempotent and may come from a
    done-callback (when the worker thread really ends)."""

    def __init__(self, lane: _Lane) -> None:
        self._lane = lane
        self._started = time.monotonic()
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._lane.done(time.monotonic() - self._started)


class _Lane:
    """One backend: `width` questions answered at once (None: no limit, nobody waits)."""

    def __init__(self, backend: Backend, width: int | None, max_waiting: int) -> None:
        self.backend = backend
        self.width = width
        self.max_waiting = max_waiting
        self._semaphore = asyncio.Semaphore(width) if width is not None else None
        self.waiting = 0
        self.in_flight = 0
        self._typical_s = 3.0  # an estimate of one answer's time, updated as answers finish

    def retry_after_s(self) -> float:
        return max(1.0, self._typical_s * (self.waiting + 1) / (self.width or 1))

    def _busy(self, message: str) -> QueueFull:
        return QueueFull(message, "retry after the Retry-After seconds", retry_after_s=self.retry_after_s())

    async def acquire(self, timeout_s: float) -> Slot:
        semaphore = self._semaphore
        if semaphore is not None:
            if semaphore.locked():
                if self.waiting >= self.max_waiting:
                    raise self._busy(
                        f"the {self.backend} generator is busy and {self.waiting} question(s) "
                        "are already waiting for it"
                    )
                self.waiting += 1
                try:
                    await asyncio.wait_for(semaphore.acquire(), timeout_s)
                except TimeoutError:
                    raise self._busy(
                        f"no {self.backend} generator became free within {timeout_s:g} s"
                    ) from None
                finally:
                    self.waiting -= 1
            else:
                await semaphore.acquire()
        self.in_flight += 1
        return Slot(self)

    def done(self, held_s: float) -> None:
        self.in_flight -= 1
        self._typical_s = 0.8 * self._typical_s + 0.2 * held_s
        if self._semaphore is not None:
            self._semaphore.release()


class GenerationQueue:
    """A lane per backend: the local model one slot, remote backends
    `remote_concurrency` each, extractive unbounded; each with its own waiting line."""

    def __init__(self, max_waiting: int, remote_concurrency: int) -> None:
        self.max_waiting = max_waiting
        self.remote_concurrency = remote_concurrency
        self._lanes: dict[Backend, _Lane] = {
            "local": _Lane("local", 1, max_waiting),
            "openai": _Lane("openai", remote_concurrency, max_waiting),
            "extractive": _Lane("extractive", None, 0),
        }

    def waiting(self, backend: Backend) -> int:
        return self._lanes[backend].waiting

    def in_flight(self, backend: Backend) -> int:
        return self._lanes[backend].in_flight

    def retry_after_s(self, backend: Backend) -> float:
        return self._lanes[backend].retry_after_s()

    async def acquire(self, backend: Backend, timeout_s: float) -> Slot:
        """A slot of `backend`'s lane, or QueueFull (503 + that backend's Retry-After) when
        its line is full or the wait outlasts `timeout_s`."""
        return await self._lanes[backend].acquire(timeout_s)
