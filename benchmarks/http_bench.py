"""HTTP under load: a real `byline serve` (uvicorn) on 127.0.0.1 and the load generator
(`benchmarks.loadgen`, async httpx) in a separate process, closed-loop clients.

    python -m benchmarks.http_bench --json-out http.json [--duration 15] [--quick]

Runs, each against a freshly started service on the seed corpus:
 - one worker, embedded Chroma: `/v1/search`, `/v1/ask` extractive, `/v1/ask` local, at
   1, 8 and 32 clients; cold start (spawn → `/readyz` 200, local model loaded) and the
   service's memory before and after;
 - one worker vs two workers, both on a `chroma run` server (the only way to run more
   than one: an embedded store belongs to one process);
 - the in-process `Pipeline.search` on the same questions, for the HTTP overhead ratio.
The rate limit is off for these runs (`BYLINE_RATE_LIMIT_PER_MINUTE=0`): it would
measure the limiter, not the service. Back-pressure (queue full → 503 with Retry-After)
stays on, as users get it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import rss_mb, summary
from benchmarks.scale_corpus import queries
from rag.config import PROJECT_ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: only what the run sets (a developer's .env must not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BYLINE_", "CHROMA_", "OPENAI_"))}
    env.update(
        {
            "BYLINE_DATA_DIR": str(data_dir),
            "BYLINE_RATE_LIMIT_PER_MINUTE": "0",
            "BYLINE_LLM_BACKEND": "local",
        }
    )
    env.update(extra or {})
    return env


def tree_rss_mb(pid: int) -> float:
    """The process and its children (uvicorn workers)."""
    total = 0.0
    pending = [pid]
    while pending:
        p = pending.pop()
        try:
            total += rss_mb(p)
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, ValueError):
            continue
        pending.extend(int(c) for c in children)
    return total


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = (path.parent / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chroma run did not start")
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


@contextmanager
def service(
    data_dir: Path, workers: int = 1, extra: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    port = free_port()
    log = (data_dir.parent / f"serve-{port}.log").open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "byline"), "serve", "--port", str(port), "--workers", str(workers)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(data_dir, extra),
        cwd=data_dir.parent,
        start_new_session=True,
    )
    info: dict[str, Any] = {"url": f"http://127.0.0.1:{port}", "pid": proc.pid, "workers": workers}
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(info["url"] + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"byline serve did not get ready; see {log.name}")
            time.sleep(0.1)
        info["cold_start_to_ready_s"] = time.perf_counter() - started
        info["rss_ready_mb"] = tree_rss_mb(proc.pid)
        yield info
        info["rss_end_mb"] = tree_rss_mb(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def load(
    url: str, path: str, clients: int, duration: float, questions: Path, backend: str = ""
) -> dict[str, Any]:
    """One load run, the generator in its own process."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            "--url",
            url,
            "--path",
            path,
            "--concurrency",
            str(clients),
            "--duration",
            str(duration),
            "--warmup",
            str(min(2.0, duration / 5)),
            "--questions",
            str(questions),
            "--ask-backend",
            backend,
            "--timeout",
            "150",
            "--json-out",
            out.name,
        ]
        subprocess.run(cmd, check=True, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
        result = json.loads(Path(out.name).read_text())
    keep = ("requests", "requests_per_s", "latency_ms", "status_codes", "errors")
    row = {k: result.get(k) for k in keep}
    row["errors"] = {k: v for k, v in (row["errors"] or {}).items() if k != "unexpected_samples"} | {
        "unexpected_samples": (result.get("errors") or {}).get("unexpected_samples", [])[:3]
    }
    return {"path": path, "backend": backend or None, "clients": clients, **row}


def _ingest_seeds(data_dir: Path, extra: dict[str, str] | None = None) -> None:
    subprocess.run(
        [str(BIN / "byline"), "ingest", str(PROJECT_ROOT / "seeds")],
        check=True,
        env=_env(data_dir, extra),
        stdout=subprocess.DEVNULL,
    )


def in_process_search(data_dir: Path, qs: list[str]) -> dict[str, Any]:
    """The same questions through `Pipeline.search` in this process (a copy of the store:
    the embedded one belongs to the service while it runs)."""
    from rag.config import Settings
    from rag.pipeline import Pipeline

    copy = data_dir.parent / "inproc"
    shutil.copytree(data_dir, copy)
    pipeline = Pipeline(Settings(data_dir=copy, llm_backend="extractive"))
    pipeline.retriever.warm_up()
    for q in qs[:10]:
        pipeline.search(q)
    times = []
    for q in qs:
        started = time.perf_counter()
        pipeline.search(q)
        times.append(time.perf_counter() - started)
    pipeline.close()
    shutil.rmtree(copy, ignore_errors=True)
    return summary(times, 1000)


def run(duration: float, local_duration: float, clients: list[int], quick: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="byline-bench-http-"))
    try:
        # Unique questions for search (no query-embedding cache hits: each is a new
        # question); the gold set for answers.
        search_q = work / "search-questions.txt"
        unique = list(dict.fromkeys(queries(20_000)))
        search_q.write_text("\n".join(unique) + "\n")
        gold = PROJECT_ROOT / "eval" / "gold" / "qa.jsonl"
        data = work / "embedded" / "data"
        data.mkdir(parents=True)
        _ingest_seeds(data)
        result: dict[str, Any] = {"rate_limit": "off", "runs": []}
        result["in_process_search_ms"] = in_process_search(data, unique[-300:])
        backend = {"BYLINE_LLM_BACKEND": "extractive"} if quick else None
        with service(data, extra=backend) as svc:
            for n in clients:
                result["runs"].append(
                    load(svc["url"], "/v1/search", n, duration, search_q) | {"setup": "1 worker"}
                )
            for n in clients:
                result["runs"].append(
                    load(svc["url"], "/v1/ask", n, duration, gold, "extractive") | {"setup": "1 worker"}
                )
            if not quick:
                for n in clients:
                    result["runs"].append(
                        load(svc["url"], "/v1/ask", n, local_duration, gold, "local") | {"setup": "1 worker"}
                    )
        result["embedded_service"] = {
            k: svc[k] for k in ("cold_start_to_ready_s", "rss_ready_mb", "rss_end_mb", "workers")
        }
        one = next(r for r in result["runs"] if r["path"] == "/v1/search" and r["clients"] == 1)
        result["http_over_in_process_search_p50"] = (
            one["latency_ms"]["p50"] / result["in_process_search_ms"]["p50"]
        )

        # Workers sharing a Chroma server.
        server_dir = work / "server"
        server_dir.mkdir()
        result["workers"] = []
        with chroma_server(server_dir / "chroma") as (host, port):
            extra = {"CHROMA_HOST": host, "CHROMA_PORT": str(port), "BYLINE_LLM_BACKEND": "extractive"}
            _ingest_seeds(server_dir / "data", extra)
            for workers in (1, 2):
                with service(server_dir / "data", workers, extra) as svc:
                    for n in clients[1:]:
                        result["workers"].append(
                            load(svc["url"], "/v1/search", n, duration, search_q) | {"workers": workers}
                        )
                        result["workers"].append(
                            load(svc["url"], "/v1/ask", n, duration, gold, "extractive")
                            | {"workers": workers}
                        )
                result["workers"].append(
                    {
                        "workers": workers,
                        "service": {k: svc[k] for k in ("cold_start_to_ready_s", "rss_ready_mb")},
                    }
                )
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--local-duration", type=float, default=30.0, help="per run with the local model")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--quick", action="store_true", help="no local-model runs")
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    result = run(args.duration, args.local_duration, clients, args.quick)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
