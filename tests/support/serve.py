"""A server as a real subprocess on a loopback port: `byline serve` (uvicorn) in the tests
that need its own socket, signals and logging, or another server such as `chroma run`.

Every test starts, waits for and stops one the same way: its output goes to a log file,
and when it exits early or never becomes ready the assertion carries the log's tail, so a
failure says why without a rerun. Stopping is terminate, wait, then kill: a hung process
never outlives its test."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Self

import httpx
import pytest

from support.environment import isolated_environ
from support.net import LOOPBACK, free_port

BIN_DIR = Path(sys.executable).parent
BYLINE = BIN_DIR / "byline"
LOG_TAIL_CHARS = 3000


def answered_200(response: httpx.Response) -> bool:
    return response.status_code == 200


class ServeProcess:
    """One server subprocess: `argv` must make it listen on 127.0.0.1:`port`. Its stdout and
    stderr are appended to `workdir/<log_name>.log` (a restart keeps the earlier output);
    it runs in `workdir` with exactly `env`. Not started until `start()` or `with`."""

    def __init__(
        self,
        argv: Sequence[object],
        *,
        port: int,
        env: Mapping[str, str],
        workdir: Path,
        log_name: str = "serve",
        ready_path: str = "/readyz",
        stop_timeout_s: float = 30.0,
    ) -> None:
        self.argv = [str(arg) for arg in argv]
        self.port = port
        self.env = dict(env)
        self.workdir = workdir
        self.log_path = workdir / f"{log_name}.log"
        self.ready_path = ready_path
        self.stop_timeout_s = stop_timeout_s
        self.host = LOOPBACK
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def byline(
        cls,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        exe: Path = BYLINE,
        prefix: Sequence[str] = (),
        log_name: str = "serve",
        port: int | None = None,
    ) -> ServeProcess:
        """`byline serve --port <port>` (default: a free one): `environ` (default: this
        process's environment without the machine's settings) plus `env`; `prefix` runs it
        under another command (setpriv, say). Skips the test when the console script
        isn't installed."""
        if not exe.exists():
            pytest.skip(f"the `byline` console script is not installed at {exe} (pip install -e .)")
        workdir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        base = isolated_environ() if environ is None else dict(environ)
        return cls(
            [*prefix, exe, "serve", "--port", port],
            port=port,
            env={**base, **(env or {})},
            workdir=workdir,
            log_name=log_name,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Self:
        assert not self.running, f"{self.argv[0]} is already running"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    def wait_ready(
        self,
        timeout_s: float = 120.0,
        *,
        path: str | None = None,
        until: Callable[[httpx.Response], bool] = answered_200,
    ) -> httpx.Response:
        """Polls GET `path` (default: the ready path, /readyz) until `until(response)` holds
        (default: a 200) and returns that response. Fails, with the log's tail, as soon as
        the process exits, or when `timeout_s` have passed."""
        url = f"{self.url}{path or self.ready_path}"
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(trust_env=False, timeout=5.0) as http:
            while True:
                self.assert_running()
                try:
                    response = http.get(url)
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if until(response):
                        return response
                    last = f"{response.status_code} {response.text[:300]}"
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"{self._name()} not ready within {timeout_s:.0f}s at {url} (last: {last}); "
                        f"log tail:\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def assert_running(self) -> None:
        assert self.proc is not None, f"{self._name()} was never started"
        code = self.proc.poll()
        assert code is None, f"{self._name()} exited with {code}; log tail:\n{self.log_tail()}"

    def stop(self) -> None:
        """Terminate, wait `stop_timeout_s`, then kill: never leaves the process behind."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return self.log()[-chars:]

    def _name(self) -> str:
        return " ".join(Path(arg).name if i == 0 else arg for i, arg in enumerate(self.argv[:2]))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
