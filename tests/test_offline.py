"""Nothing in ingestion or answering may reach past loopback.

Two layers: a guard on Python's socket API that records (and refuses) every connection,
DNS lookup or datagram to a non-loopback address, used in-process and, through a
`sitecustomize`, inside `byline` subprocesses; and a run of the CLI inside a network
namespace that has nothing but `lo` (`unshare -n`), which also covers native code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings

QUESTION = "Where and when will Trump and Xi meet?"

# Stdlib only: it is also written out as a sitecustomize for subprocesses.
GUARD_SOURCE = '''
import errno
import ipaddress
import socket

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_INET = {socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET)}


def _text(host):
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    return str(host).strip("[]").split("%")[0].lower()


def _ip(host):
    try:
        return ipaddress.ip_address(_text(host))
    except ValueError:
        return None


def is_loopback(host):
    if _text(host) in _LOOPBACK_NAMES:
        return True
    ip = _ip(host)
    if ip is None:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


class Guard:
    """Records and refuses non-loopback connects, lookups and datagrams."""

    def __init__(self, log_path=None):
        self.attempts = []
        self.log_path = log_path
        self._saved = []

    def _refuse(self, what, target, exc_type=OSError):
        entry = f"{what} {target!r}"
        self.attempts.append(entry)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(entry + "\\n")
        if exc_type is socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, "name lookup forbidden in tests: " + entry)
        raise OSError(errno.ENETUNREACH, "network access forbidden in tests: " + entry)

    def _check(self, family, address, what):
        if family in _INET and isinstance(address, tuple) and not is_loopback(address[0]):
            self._refuse(what, address)

    def _patch(self, owner, name, replacement):
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def install(self):
        guard = self
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
        sendto, create_connection = socket.socket.sendto, socket.create_connection
        getaddrinfo = socket.getaddrinfo

        def guarded_connect(sock, address):
            guard._check(sock.family, address, "connect")
            return connect(sock, address)

        def guarded_connect_ex(sock, address):
            guard._check(sock.family, address, "connect_ex")
            return connect_ex(sock, address)

        def guarded_sendto(sock, data, *args):
            guard._check(sock.family, args[-1] if args else None, "sendto")
            return sendto(sock, data, *args)

        def guarded_create_connection(address, *args, **kwargs):
            if not is_loopback(address[0]):
                guard._refuse("create_connection", address)
            return create_connection(address, *args, **kwargs)

        def guarded_getaddrinfo(host, *args, **kwargs):
            # A name that is neither loopback nor an IP literal needs DNS: the network.
            if host is not None and not is_loopback(host) and _ip(host) is None:
                guard._refuse("getaddrinfo", host, socket.gaierror)
            return getaddrinfo(host, *args, **kwargs)

        self._patch(socket.socket, "connect", guarded_connect)
        self._patch(socket.socket, "connect_ex", guarded_connect_ex)
        self._patch(socket.socket, "sendto", guarded_sendto)
        self._patch(socket, "create_connection", guarded_create_connection)
        self._patch(socket, "getaddrinfo", guarded_getaddrinfo)
        return self

    def uninstall(self):
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)
'''


def _guard_module() -> Any:
    module = types.ModuleType("byline_test_netguard")
    exec(compile(GUARD_SOURCE, "<byline network guard>", "exec"), module.__dict__)
    return module


@pytest.fixture
def network_guard() -> Iterator[Any]:
    guard = _guard_module().Guard().install()
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


def _unshare_prefix() -> list[str] | None:
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return None
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh"]


def test_cli_ingest_and_ask_without_network(seeds_dir: Path, tmp_path: Path, run_byline: Any) -> None:
    prefix = _unshare_prefix()
    if prefix is None:
        pytest.skip("cannot create a network namespace here (unshare -n needs root or user namespaces)")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        GUARD_SOURCE + "\nimport os\nGuard(os.environ['BYLINE_TEST_NET_LOG']).install()\n"
    )
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
