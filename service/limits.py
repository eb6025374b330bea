"""Back-pressure: a token bucket per caller, and a bounded queue in front of the generator.

The local model answers one question at a time; letting requests pile up behind it would
turn a burst into minutes of waiting and then timeouts. So a question either gets a
generation slot, waits in a queue of at most `queue_max`, or is told at once to come back
later (503 + Retry-After estimated from recent answer times) — never a hang.

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
    """A held generation slot; `release()` is idempotent and may come from a done-callback."""

    def __init__(self, queue: GenerationQueue, semaphore: asyncio.Semaphore) -> None:
        self._queue = queue
        self._semaphore = semaphore
        self._started = time.monotonic()
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._queue._done(time.monotonic() - self._started)
        self._semaphore.release()


class GenerationQueue:
    def __init__(self, max_waiting: int, remote_concurrency: int) -> None:
        self.max_waiting = max_waiting
        self.remote_concurrency = remote_concurrency
        self._local = asyncio.Semaphore(1)
        self._remote = asyncio.Semaphore(remote_concurrency)
        self.waiting = 0
        self.in_flight = 0
        self._typical_s = 3.0  # an estimate of one answer's time, updated as answers finish

    def _semaphore(self, backend: Backend) -> tuple[asyncio.Semaphore, int]:
        if backend == "local":
            return self._local, 1
        return self._remote, self.remote_concurrency

    def retry_after_s(self, backend: Backend) -> float:
        _, width = self._semaphore(backend)
        return max(1.0, self._typical_s * (self.waiting + 1) / width)

    async def acquire(self, backend: Backend, timeout_s: float) -> Slot:
        semaphore, _ = self._semaphore(backend)
        if semaphore.locked():
            if self.waiting >= self.max_waiting:
                raise QueueFull(
                    f"the {backend} generator is busy and {self.waiting} question(s) are already waiting",
                    "retry after the Retry-After seconds",
                    retry_after_s=self.retry_after_s(backend),
                )
            self.waiting += 1
            try:
                await asyncio.wait_for(semaphore.acquire(), timeout_s)
            except TimeoutError:
                raise QueueFull(
                    f"no {backend} generator became free within {timeout_s:g} s",
                    "retry after the Retry-After seconds",
                    retry_after_s=self.retry_after_s(backend),
                ) from None
            finally:
                self.waiting -= 1
        else:
            await semaphore.acquire()
        self.in_flight += 1
        return Slot(self, semaphore)

    def _done(self, held_s: float) -> None:
        self.in_flight -= 1
        self._typical_s = 0.8 * self._typical_s + 0.2 * held_s
