"""Running the synchronous pipeline off the event loop, with a deadline.

A worker thread can't be killed, so a timed-out request is answered (504) while its
thread finishes on its own; whatever the request held (a generation slot) is released
only when the thread really ends — the next question never shares the local model with
an abandoned one.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from service.errors import RequestTimedOut

T = TypeVar("T")


def _timed_out(timeout_s: float) -> RequestTimedOut:
    return RequestTimedOut(
        f"the request took longer than {timeout_s:g} s",
        "retry later, or ask a narrower question; the operator can raise BYLINE_REQUEST_TIMEOUT_S",
    )


async def run_blocking(
    fn: Callable[[], T], *, timeout_s: float, on_done: Callable[[], None] | None = None
) -> T:
    """`fn()` in a worker thread (request id and other context carried over)."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    future = loop.run_in_executor(None, context.run, fn)
    if on_done is not None:
        future.add_done_callback(lambda _f: on_done())
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout_s)
    except TimeoutError:
        raise _timed_out(timeout_s) from None


class BlockingStream:
    """Iterates a synchronous iterator in one worker thread, handing items to the event
    loop as they come. Stops the iterator early when the consumer goes away."""

    _END = object()

    def __init__(
        self,
        make: Callable[[], Iterator[Any]],
        *,
        timeout_s: float,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self._make = make
        self._timeout_s = timeout_s
        self._on_done = on_done
        self._items: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadline = 0.0

    def _put(self, ok: bool, item: Any) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, (ok, item))
        except RuntimeError:  # the loop is gone (shutdown): nobody is listening
            self._stop.set()

    def _produce(self) -> None:
        try:
            iterator = self._make()
            try:
                for item in iterator:
                    self._put(True, item)
                    if self._stop.is_set():
                        break
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(False, exc)
        else:
            self._put(True, self._END)

    def start(self) -> BlockingStream:
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + self._timeout_s
        future = self._loop.run_in_executor(None, contextvars.copy_context().run, self._produce)
        if self._on_done is not None:
            on_done = self._on_done
            future.add_done_callback(lambda _f: on_done())
        return self

    async def next(self) -> Any:
        """The next item; StopAsyncIteration at the end; the producer's exception as is;
        RequestTimedOut past the deadline."""
        assert self._loop is not None
        remaining = self._deadline - self._loop.time()
        try:
            if remaining <= 0:
                raise TimeoutError
            ok, item = await asyncio.wait_for(self._items.get(), remaining)
        except TimeoutError:
            self._stop.set()
            raise _timed_out(self._timeout_s) from None
        if not ok:
            raise item
        if item is self._END:
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        self._stop.set()

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            while True:
                try:
                    yield await self.next()
                except StopAsyncIteration:
                    return
        finally:
            self.close()
