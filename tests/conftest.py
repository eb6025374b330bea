"""Shared fixtures: every test gets its own data dir, settings and (when asked) a real
`chroma run` server, `byline serve` processes or a scripted LLM upstream. Nothing here
fakes our own code; nothing touches the network. The helpers behind them are in support/."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Self
from uuid import uuid4

import pytest
from support.app import seeded_dir  # noqa: F401 - a fixture: one seeded store per module that asks
from support.contract import fuzz_app  # noqa: F401 - a fixture: the app as schemathesis fuzzes it
from support.environment import is_machine_setting, isolated_environ
from support.llm import ScriptedLLM
from support.net import free_port
from support.serve import BIN_DIR, BYLINE, ServeProcess

from rag.config import Settings

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every data dir under tmp_path; no key, server or BYLINE_* setting from the machine;
    cwd = tmp_path so a stray `.env` is never read."""
    for name in list(os.environ):
        if is_machine_setting(name):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BYLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", llm_backend="extractive")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return ROOT / "seeds"


class ChromaServer(ServeProcess):
    """A real `chroma run` subprocess on loopback; `start()` returns once it answers, so a
    test that stopped it can start it again (same port, same data) and use it at once."""

    def __init__(self, path: Path, workdir: Path) -> None:
        exe = BIN_DIR / "chroma"
        if not exe.exists():
            found = shutil.which("chroma")
            if found is None:
                pytest.skip("the `chroma` CLI is not installed")
            exe = Path(found)
        port = free_port()
        super().__init__(
            [exe, "run", "--path", path, "--host", "127.0.0.1", "--port", port],
            port=port,
            env=isolated_environ(),
            workdir=workdir,
            log_name="chroma",
            ready_path="/api/v2/heartbeat",
            stop_timeout_s=10,
        )

    def start(self) -> Self:
        super().start()
        self.wait_ready(60)
        return self


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    base = tmp_path_factory.mktemp("chroma-server")
    with ChromaServer(base / "db", base) as server:
        yield server


@pytest.fixture
def server_settings(tmp_path: Path, chroma_server: ChromaServer) -> Settings:
    """Settings for the shared server with a collection of this test's own."""
    return Settings(
        data_dir=tmp_path / "data",
        llm_backend="extractive",
        chroma_host=chroma_server.host,
        chroma_port=chroma_server.port,
        collection=f"t{uuid4().hex[:12]}",
    )


@pytest.fixture
def pipeline_factory() -> Iterator[Callable[[Settings], Pipeline]]:
    """Builds Pipelines and closes every one of them (releasing store locks) at teardown."""
    from rag.pipeline import Pipeline

    created: list[Pipeline] = []

    def make(settings: Settings) -> Pipeline:
        pipeline = Pipeline(settings)
        created.append(pipeline)
        return pipeline

    yield make
    for pipeline in reversed(created):
        pipeline.close()


class BylineRunner:
    """Runs the installed `byline` console script as a subprocess. A wide COLUMNS keeps
    rich from folding long paths and summary lines, so assertions can match them."""

    def __init__(self, exe: Path) -> None:
        self.exe = exe

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, "COLUMNS": "1000", "NO_COLOR": "1", **(extra or {})}

    def argv(self, *args: object) -> list[str]:
        return [str(self.exe), *map(str, args)]

    def __call__(
        self, *args: object, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def popen(self, *args: object, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            env=self.env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def run_byline() -> BylineRunner:
    """`run_byline("ingest", path, env={...})` → CompletedProcess; `.popen(...)` for concurrency."""
    if not BYLINE.exists():
        pytest.skip("the `byline` console script is not installed (pip install -e .)")
    return BylineRunner(BYLINE)


@pytest.fixture
def corpus_dir(tmp_path: Path, seeds_dir: Path) -> Path:
    """A writable copy of the seeds, for tests that edit, add or remove articles."""
    target = tmp_path / "corpus"
    shutil.copytree(seeds_dir, target)
    return target


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """`start_service(name, env)` starts `byline serve --port <free>` (extractive backend,
    data in tmp_path/<name>-data, log in tmp_path/<name>.log, `env` on top) and, unless
    `wait=False`, waits until it is ready; every one is stopped at teardown."""
    started: list[ServeProcess] = []

    def start(
        name: str = "svc", env: dict[str, str] | None = None, wait: bool = True, timeout_s: float = 90.0
    ) -> ServeProcess:
        defaults = {
            "BYLINE_DATA_DIR": str(tmp_path / f"{name}-data"),
            "BYLINE_LLM_BACKEND": "extractive",
            "BYLINE_EMBED_THREADS": "2",
        }
        service = ServeProcess.byline(tmp_path, {**defaults, **(env or {})}, log_name=name)
        started.append(service.start())
        if wait:
            service.wait_ready(timeout_s)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture(scope="module")
def llm_server() -> Iterator[ScriptedLLM]:
    """One scripted OpenAI-compatible upstream per module (a pipeline or service bound to
    its URL lives as long); tests take it through `llm`, which resets its script."""
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def llm(llm_server: ScriptedLLM) -> ScriptedLLM:
    """The module's scripted upstream with a fresh script and no recorded requests, so
    what one test scripted never reaches the next."""
    llm_server.reset()
    return llm_server
