"""Nothing in ingestion or answering may reach past loopback.

Two layers: a guard on Python's socket API that records (and refuses) every connection,
DNS lookup or datagram to a non-loopback address, used in-process and, through a
`sitecustomize`, inside `byline` subprocesses; and a run of the CLI inside a network
namespace that has nothing but `lo` (`unshare -n`), which also covers native code.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.netguard import guard_module, unshare_prefix, write_guard_sitecustomize

from rag.config import Settings

QUESTION = "Where and when will Trump and Xi meet?"


@pytest.fixture
def network_guard() -> Iterator[Any]:
    guard = guard_module().Guard().install()
    try:
        yield guard
    finally:
        guard.uninstall()


def test_guard_refuses_outside_and_allows_loopback(network_guard: Any) -> None:
    import socket

    with pytest.raises(OSError, match="forbidden"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never routed
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(OSError, match="forbidden"):
        s.connect(("8.8.8.8", 53))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(OSError, match="forbidden"):
        s.sendto(b"x", ("1.1.1.1", 53))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.openai.com", 443)
    assert len(network_guard.attempts) == 4

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=5):
            pass
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            assert client.connect_ex(("127.0.0.1", port)) == 0
    assert len(network_guard.attempts) == 4


def _ingest_search_ask(pipeline: Any, seeds_dir: Path) -> None:
    report = pipeline.ingest([seeds_dir])
    assert len(report.added) == 5
    hits = pipeline.search(QUESTION)
    assert hits
    answer = pipeline.ask(QUESTION, backend="extractive")
    assert answer.backend == "extractive"
    assert not answer.abstained and answer.citations, answer.text
    assert pipeline.ingest([seeds_dir]).embeddings_computed == 0


def test_embedded_pipeline_stays_on_loopback(
    settings: Settings, seeds_dir: Path, pipeline_factory: Any, network_guard: Any
) -> None:
    _ingest_search_ask(pipeline_factory(settings), seeds_dir)
    assert network_guard.attempts == []


def test_server_pipeline_stays_on_loopback(
    server_settings: Settings, seeds_dir: Path, pipeline_factory: Any, network_guard: Any
) -> None:
    _ingest_search_ask(pipeline_factory(server_settings), seeds_dir)
    assert network_guard.attempts == []


def test_cli_ingest_and_ask_without_network(seeds_dir: Path, tmp_path: Path, run_byline: Any) -> None:
    prefix = unshare_prefix()
    if prefix is None:
        pytest.skip("cannot create a network namespace here (unshare -n needs root or user namespaces)")
    site = write_guard_sitecustomize(tmp_path / "site")
    log = tmp_path / "net-attempts.log"
    env = run_byline.env({"PYTHONPATH": str(site), "BYLINE_TEST_NET_LOG": str(log)})

    def offline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *run_byline.argv(*args)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    ingest = offline("ingest", str(seeds_dir))
    assert ingest.returncode == 0, ingest.stderr
    assert "added 5" in ingest.stdout

    ask = offline("ask", "--backend", "extractive", "--json", QUESTION)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["backend"] == "extractive"
    assert answer["citations"] and not answer["abstained"]

    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network access attempted:\n{attempts}"
