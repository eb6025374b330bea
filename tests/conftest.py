"""Shared fixtures: every test gets its own data dir, settings and (when asked) a real
`chroma run` server. Nothing here fakes our own code; nothing touches the network."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest

from rag.config import Settings

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
BIN_DIR = Path(sys.executable).parent

# Variables a developer's shell may export that would point tests at real services.
_LEAKY_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "CHROMA_HOST",
    "CHROMA_PORT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every data dir under tmp_path; no key, server or BYLINE_* setting from the machine;
    cwd = tmp_path so a stray `.env` is never read."""
    for name in list(os.environ):
        if name.startswith("BYLINE_") or name in _LEAKY_ENV:
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ChromaServer:
    """A real `chroma run` subprocess on loopback."""

    path: Path
    log_path: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        exe = BIN_DIR / "chroma"
        if not exe.exists():
            found = shutil.which("chroma")
            if found is None:
                pytest.skip("the `chroma` CLI is not installed")
            exe = Path(found)
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(exe), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.log_path.parent,
            )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                with opener.open(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma run did not answer within {timeout_s:.0f}s: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        """Same data, same port: what a client sees when the server is restarted."""
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    base = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(path=base / "db", log_path=base / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


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
    exe = BIN_DIR / "byline"
    if not exe.exists():
        pytest.skip("the `byline` console script is not installed (pip install -e .)")
    return BylineRunner(exe)


@pytest.fixture
def corpus_dir(tmp_path: Path, seeds_dir: Path) -> Path:
    """A writable copy of the seeds, for tests that edit, add or remove articles."""
    target = tmp_path / "corpus"
    shutil.copytree(seeds_dir, target)
    return target
