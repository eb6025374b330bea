"""What one app instance holds: settings, keys, limits, metrics, and the pipeline — built
once, in the background after start-up, so `/healthz` answers at once and `/readyz`
says when questions can be answered."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from rag.errors import BylineError, InvalidInput
from rag.types import Backend
from service.config import ServiceSettings
from service.errors import NotReady
from service.keys import KeyRing
from service.limits import GenerationQueue, RateLimiter
from service.metrics import Metrics, breakers_of

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

log = logging.getLogger("byline.service")


class ServiceState:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.keys = KeyRing(settings)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.queue = GenerationQueue(settings.queue_max, settings.generation_concurrency)
        self.metrics = Metrics()
        self.metrics.track_queue(
            lambda: {b: (self.queue.waiting(b), self.queue.in_flight(b)) for b in self.backends}
        )
        self.metrics.track_breakers(lambda: breakers_of(self.pipeline, self.backends))
        self.pipeline: Pipeline | None = None
        self.load_error: BylineError | None = None
        self._loader: asyncio.Task[None] | None = None
        self._in_thread = False
        self._stopping = False

    # --- lifecycle -----------------------------------------------------------------------
    def _load(self) -> Pipeline:
        from rag.pipeline import Pipeline

        started = time.perf_counter()
        pipeline = Pipeline(self.settings)
        try:
            report = pipeline.ensure_seeded()
            if report is not None:
                log.info(
                    "store was empty: ingested the seeds",
                    extra={"articles": len(report.added), "chunks": report.chunks_written},
                )
                if pipeline.store_status().chunks == 0:
                    empty = pipeline.empty_store_error()
                    log.warning("%s (%s)", empty.message, empty.hint, extra={"error": "StoreEmpty"})
            pipeline.warm_up()
        except BaseException:
            pipeline.close()
            raise
        log.info(
            "ready",
            extra={
                "backend": pipeline.default_backend,
                "store": pipeline.store_location,
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        return pipeline

    async def _load_in_background(self) -> None:
        """Load; when the cause may pass (the store busy or unreachable, e.g. a Chroma
        server that starts after us), keep retrying with backoff while /readyz says why."""
        delay = 1.0
        while True:
            self._in_thread = True
            try:
                self.pipeline = await asyncio.to_thread(self._load)
            except BylineError as exc:
                self.load_error = exc
                if exc.status_code != 503:
                    log.error("start-up failed: %s", exc, extra={"error": type(exc).__name__})
                    return
                log.warning(
                    "start-up failed, retrying in %.0f s: %s", delay, exc, extra={"error": type(exc).__name__}
                )
            except Exception:
                # A bug in loading (domain errors are the branch above): recorded for /readyz
                # instead of dying unseen inside a background task.
                log.exception("start-up failed")
                self.load_error = BylineError("the pipeline failed to load; see the service log")
                return
            else:
                self.load_error = None
                self.metrics.ready.set(1)
                return
            finally:
                self._in_thread = False
            if self._stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def start(self) -> None:
        # asyncio primitives belong to the loop that serves: made afresh for each start-up.
        self.queue = GenerationQueue(self.settings.queue_max, self.settings.generation_concurrency)
        self._stopping = False
        self._loader = asyncio.create_task(self._load_in_background())

    async def stop(self) -> None:
        self._stopping = True
        if self._loader is not None and not self._loader.done():
            if self._in_thread:
                # A load runs in a thread that can't be interrupted: let it finish, then close.
                await asyncio.shield(self._loader)
            else:  # waiting to retry
                self._loader.cancel()
        if self.pipeline is not None:
            pipeline, self.pipeline = self.pipeline, None
            await asyncio.to_thread(pipeline.close)
        self.metrics.ready.set(0)

    # --- backends ---------------------------------------------------------------------------
    @property
    def backends(self) -> list[Backend]:
        """What a request may pick: the default, extractive, and openai when configured. The
        local model is loaded only when it is the default — a request must not make a
        server load a 2 GB model its operator didn't choose."""
        s = self.settings
        default = s.resolved_llm_backend
        available: list[Backend] = [default]
        if default != "extractive":
            available.append("extractive")
        if default != "openai" and (s.openai_api_key or s.openai_base_url):
            available.append("openai")
        return available

    def check_backend(self, requested: Backend | None) -> Backend | None:
        if requested is None or requested in self.backends:
            return requested
        raise InvalidInput(
            f"the {requested} backend is not enabled on this server",
            f"use one of {', '.join(self.backends)}, or leave `backend` out for the default",
        )

    # --- access ----------------------------------------------------------------------------
    def require_pipeline(self) -> Pipeline:
        if self.pipeline is not None:
            return self.pipeline
        if self.load_error is not None:
            retrying = self.load_error.status_code == 503 and not self._stopping
            raise NotReady(
                f"the service {'is not ready yet (retrying)' if retrying else 'failed to start'}: "
                f"{self.load_error.message}",
                self.load_error.hint or "see the service log",
                retry_after_s=5 if retrying else 30,
            )
        raise NotReady("the service is still loading its models", "retry in a few seconds", retry_after_s=3)
