"""The real ASGI app in process (lifespan, pipeline on the extractive backend, embedded
Chroma on tmp_path) for the service tests: its settings, a seeded store to copy, and
waiting until it is ready.

Seeding embeds every seed article (seconds on two cores), so a module seeds one store
(`seeded_dir`) and every app gets a copy of it (`fresh_copy`)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from service.config import ServiceSettings

# Keys and origins the service tests configure.
ADMIN = "admin-test-key-0123"
PUBLIC = "public-test-key-4567"
WIDGET = "widget-test-key-89ab"
SITE = "https://site.example"
OTHER_SITE = "https://other.example"
QUESTION = "Where will Trump and Xi meet?"


def make_settings(data_dir: Path, **overrides: Any) -> ServiceSettings:
    """Extractive backend, two embedding threads, no `.env` read: only what the test says.
    The service's settings (keys, limits…) extend the pipeline's, so either may be given."""
    base: dict[str, Any] = {"data_dir": data_dir, "llm_backend": "extractive", "embed_threads": 2}
    return ServiceSettings(_env_file=None, **{**base, **overrides})


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the seeds ingested once; each app gets a copy (seeding costs seconds)."""
    from support.pipelines import seeded_pipeline  # heavy (the pipeline): only when asked for

    data = tmp_path_factory.mktemp("seeded") / "data"
    with seeded_pipeline(make_settings(data)):
        pass  # the seeded store stays on disk for the apps to copy
    return data


def fresh_copy(seeded_dir: Path, target: Path) -> Path:
    shutil.copytree(seeded_dir, target)
    return target


class _Getter(Protocol):
    def get(self, url: str) -> Any: ...


def wait_until_ready(client: _Getter, timeout_s: float = 60.0) -> None:
    """Until /readyz is 200; meanwhile it may only say 503 (loading), never anything else."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            return
        assert response.status_code == 503, response.text
        time.sleep(0.05)
    raise AssertionError(f"not ready after {timeout_s}s: {client.get('/readyz').text}")


@contextmanager
def running(app: FastAPI) -> Iterator[TestClient]:
    """The app with its lifespan running, ready to answer."""
    with TestClient(app) as client:
        wait_until_ready(client)
        yield client
