"""Upstream and disk faults through the service: `byline serve` as a real uvicorn process,
asked over HTTP on 127.0.0.1, while what it depends on misbehaves for real.

- The LLM (a scripted OpenAI-compatible server, `support.llm.ScriptedLLM`) is slow past the
  request timeout, hangs, answers 5xx, malformed JSON, a stream cut midway, or a citation
  to a passage that doesn't exist: /v1/ask (JSON and SSE) and /v1/chat/completions
  (JSON and stream) still answer — extractively, flagged in `fallback_reason` — inside
  the request timeout; never a 500.
- The circuit breaker, seen from outside: after N failures the upstream stops being
  called (its own hit counter stands still), /metrics shows it open, and after the
  cool-down a recovered upstream answers again and the gauge drops back to 0.
- A Chroma server that accepts connections and never answers (a TCP proxy in front of a
  real `chroma run`, switched to swallow everything): 503 + Retry-After within
  `BYLINE_CHROMA_TIMEOUT_S`, /healthz still 200, and the same process recovers.
- The embedded store's disk full (a small tmpfs, filled) or read-only (its files made
  read-only, the service running without CAP_DAC_OVERRIDE): POST /v1/documents answers
  507 problem+json saying what to fix, reads keep working, the article is all-old after
  the failed write, and the same write succeeds once the disk is fixed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from support.llm import (
    ANSWER,
    CITES_A_MISSING_PASSAGE,
    CUT_STREAM,
    HANG,
    MALFORMED,
    OK,
    OVERLOADED,
    SERVER_ERROR,
    Reply,
    ScriptedLLM,
)
from support.serve import BYLINE, ServeProcess

ROOT = Path(__file__).resolve().parents[1]
SEED_FILES = ("002_a70022376a9dca2a.txt", "004_36119deba365cd7b.txt")
QUESTION = "When and where will Trump and Xi meet?"
REQUEST_TIMEOUT_S = 4.0  # the services' BYLINE_REQUEST_TIMEOUT_S
SLACK_S = 1.5  # process start of a request, JSON, loopback: well under this
CHROMA_TIMEOUT_S = 1.5
BREAKER_FAILURES = 3
BREAKER_COOLDOWN_S = 3.0

pytestmark = pytest.mark.skipif(not BYLINE.exists(), reason="the `byline` console script is not installed")


# --- the service under test ---------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two of the five seed articles (both on the Trump-Xi meeting): start-up embeds a
    third as much text, and these tests don't measure retrieval quality."""
    target = tmp_path_factory.mktemp("seeds")
    for name in SEED_FILES:
        shutil.copy(ROOT / "seeds" / name, target / name)
    return target


def upstream_service(
    workdir: Path,
    env: dict[str, str],
    *,
    seeds: Path,
    prefix: Sequence[str] = (),
    data_dir: Path | None = None,
) -> ServeProcess:
    """`byline serve` on a free loopback port (not started yet), extractive unless `env`
    says otherwise, ingesting `seeds` into an empty store; its log in `workdir`, its data
    in `data_dir` (default: workdir/data). `prefix` runs it under another command (setpriv)."""
    defaults = {
        "BYLINE_DATA_DIR": str(data_dir or workdir / "data"),
        "BYLINE_SEEDS_DIR": str(seeds),
        "BYLINE_LLM_BACKEND": "extractive",
        "BYLINE_EMBED_THREADS": "1",
        "BYLINE_RATE_LIMIT_PER_MINUTE": "0",
        "BYLINE_REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S),
    }
    return ServeProcess.byline(workdir, {**defaults, **env}, prefix=prefix)


# --- what one call returned -----------------------------------------------------------------
@dataclass
class Call:
    status: int
    seconds: float
    headers: httpx.Headers
    body: Any = None  # JSON body, or the parsed stream
    text: str = ""
    events: list[tuple[str, Any]] = field(default_factory=list)


def _timed(http: httpx.Client, method: str, url: str, **kwargs: Any) -> Call:
    started = time.monotonic()
    response = http.request(method, url, **kwargs)
    seconds = time.monotonic() - started
    body = None
    with contextlib.suppress(ValueError):
        body = response.json()
    return Call(response.status_code, seconds, response.headers, body, response.text)


def _ask_sse(http: httpx.Client, url: str, question: str) -> Call:
    """POST /v1/ask with stream=true; (event, data) pairs as they come."""
    started = time.monotonic()
    events: list[tuple[str, Any]] = []
    with http.stream("POST", f"{url}/v1/ask", json={"question": question, "stream": True}) as response:
        status, headers = response.status_code, response.headers
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
                name = None
        if status != 200:
            response.read()
    return Call(status, time.monotonic() - started, headers, events=events)


def _chat_stream(http: httpx.Client, url: str, question: str) -> Call:
    started = time.monotonic()
    chunks: list[Any] = []
    body = {"model": "byline", "messages": [{"role": "user", "content": question}], "stream": True}
    with http.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
        status, headers = response.status_code, response.headers
        for line in response.iter_lines():
            if line.startswith("data:"):
                data = line.split(":", 1)[1].strip()
                chunks.append(data if data == "[DONE]" else json.loads(data))
    return Call(status, time.monotonic() - started, headers, events=[("chunk", c) for c in chunks])


def assert_problem(call: Call, status: int, *, retry_after: bool = True) -> dict[str, Any]:
    assert call.status == status, (call.status, call.text[:500])
    assert call.headers["content-type"].startswith("application/problem+json"), call.headers
    assert "Traceback" not in call.text
    problem = call.body
    assert isinstance(problem, dict) and problem["status"] == status and problem["detail"], problem
    if retry_after:
        assert int(call.headers["Retry-After"]) >= 1 and problem["retry_after"] >= 1, call.headers
    return problem


def _metric(url: str, name: str, labels: str, missing: float | None = None) -> float:
    """A sample's value; `missing` when given stands for a labelled series not yet created."""
    text = httpx.get(f"{url}/metrics", trust_env=False, timeout=5).text
    for line in text.splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.rsplit(" ", 1)[1])
    if missing is not None:
        return missing
    raise AssertionError(f"{name}{{{labels}}} not in /metrics:\n{text[-2000:]}")


# === LLM upstream faults =======================================================================
# Each fault the `faults` service meets, by the name its test is parametrized with.
FAULTS = {
    "slow": Reply(delay_s=10.0),  # longer than the request timeout
    "hang": HANG,
    "500": SERVER_ERROR,
    "503": OVERLOADED,
    "malformed": MALFORMED,
    "cut": CUT_STREAM,
}


@pytest.fixture(scope="module")
def breaker_llm_server() -> Iterator[ScriptedLLM]:
    """The `breaker` service's own upstream, so its counts are its own."""
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def breaker_llm(breaker_llm_server: ScriptedLLM) -> ScriptedLLM:
    breaker_llm_server.reset()
    return breaker_llm_server


@pytest.fixture(scope="module")
def llm_services(
    llm_server: ScriptedLLM,
    breaker_llm_server: ScriptedLLM,
    seeds: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, ServeProcess]]:
    """Two services on the openai backend, started side by side: `faults` with no breaker
    (each fault must reach the upstream) and `breaker` with a 3-failure breaker. Neither
    sets BYLINE_LLM_TIMEOUT_S: its 60 s default is capped by the 4 s request timeout."""
    base = tmp_path_factory.mktemp("llm-services")
    common = {"BYLINE_LLM_BACKEND": "openai", "BYLINE_OPENAI_MODEL": "scripted"}
    faults = upstream_service(
        base / "faults",
        {**common, "BYLINE_OPENAI_BASE_URL": llm_server.url, "BYLINE_LLM_BREAKER_FAILURES": "0"},
        seeds=seeds,
    )
    breaker = upstream_service(
        base / "breaker",
        {
            **common,
            "BYLINE_OPENAI_BASE_URL": breaker_llm_server.url,
            "BYLINE_LLM_BREAKER_FAILURES": str(BREAKER_FAILURES),
            "BYLINE_LLM_BREAKER_COOLDOWN_S": str(BREAKER_COOLDOWN_S),
        },
        seeds=seeds,
    )
    with faults, breaker:
        with httpx.Client(trust_env=False, timeout=60) as http:
            for service in (faults, breaker):
                service.wait_ready()
                # One question first: retrieval's one-off first-use cost (~1 s on 2 cores)
                # is not what these tests measure.
                warm = http.post(f"{service.url}/v1/ask", json={"question": QUESTION})
                assert warm.status_code == 200 and warm.json()["backend"] == "openai", warm.text
        yield {"faults": faults, "breaker": breaker}


def _assert_fallback(answer: dict[str, Any]) -> None:
    assert answer["backend"] == "extractive", answer
    assert "openai backend failed" in (answer["fallback_reason"] or ""), answer
    assert answer["citations"] and not answer["abstained"], answer


def _assert_in_time(call: Call, what: str) -> None:
    assert call.seconds < REQUEST_TIMEOUT_S + SLACK_S, f"{what} took {call.seconds:.2f}s"


@pytest.mark.parametrize("mode", list(FAULTS))
def test_llm_fault_answers_extractively_in_time(
    llm_services: dict[str, ServeProcess], llm: ScriptedLLM, mode: str, record_property: Any
) -> None:
    url = llm_services["faults"].url
    llm.reply_with(FAULTS[mode])
    hits = llm.hits
    fallbacks = _metric(url, "byline_fallbacks_total", 'backend="openai"', missing=0.0)
    calls: dict[str, Call] = {}
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S * 3) as http:
        calls["ask"] = _timed(http, "POST", f"{url}/v1/ask", json={"question": QUESTION})
        calls["ask-sse"] = _ask_sse(http, url, QUESTION)
        chat_body = {"model": "byline", "messages": [{"role": "user", "content": QUESTION}]}
        calls["chat"] = _timed(http, "POST", f"{url}/v1/chat/completions", json=chat_body)
        calls["chat-stream"] = _chat_stream(http, url, QUESTION)
    for what, call in calls.items():
        record_property(f"{what}_status", call.status)
        record_property(f"{what}_seconds", round(call.seconds, 3))
        _assert_in_time(call, what)
        assert call.status == 200, (what, call.status, call.text[:500])
    assert llm.hits >= hits + 4, "every question must have tried the upstream"
    # Counted under the backend that failed, not the extractive one that answered.
    assert _metric(url, "byline_fallbacks_total", 'backend="openai"') >= fallbacks + 4

    _assert_fallback(calls["ask"].body)

    names = [name for name, _ in calls["ask-sse"].events]
    assert names[0] == "citations" and names[-1] == "done" and "error" not in names, names
    _assert_fallback(calls["ask-sse"].events[-1][1])

    chat = calls["chat"].body
    content = chat["choices"][0]["message"]["content"]
    assert chat["citations"] and not chat["abstained"] and ANSWER not in content, chat
    _assert_fallback(chat)

    chunks = [data for _, data in calls["chat-stream"].events]
    assert chunks[-1] == "[DONE]" and not any("error" in c for c in chunks[:-1]), chunks[-3:]
    final = [c for c in chunks[:-1] if c["choices"] and c["choices"][0].get("finish_reason") == "stop"]
    assert final and final[0]["citations"], chunks[-3:]


def test_llm_citing_a_missing_passage_is_not_trusted(
    llm_services: dict[str, ServeProcess], llm: ScriptedLLM
) -> None:
    url = llm_services["faults"].url
    llm.reply_with(CITES_A_MISSING_PASSAGE)
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S * 3) as http:
        ask = _timed(http, "POST", f"{url}/v1/ask", json={"question": QUESTION})
        sse = _ask_sse(http, url, QUESTION)
        chat_body = {"model": "byline", "messages": [{"role": "user", "content": QUESTION}]}
        chat = _timed(http, "POST", f"{url}/v1/chat/completions", json=chat_body)
    for call in (ask, sse, chat):
        _assert_in_time(call, "bad citation")
        assert call.status == 200
    for answer in (ask.body, sse.events[-1][1]):
        assert answer["backend"] == "openai" and "[99]" not in answer["text"], answer
        # The claim's citation to a passage the prompt never had is dropped; it gives no
        # date for a "when" question, so the best source sentence is quoted instead.
        assert 99 not in answer["claims"][0]["cited"], answer
        assert not answer["abstained"] and answer["citations"], answer
        assert "soybeans" not in answer["text"].lower(), answer
        assert len(answer["citations"]) <= 8  # only passages that exist
    assert "[99]" not in chat.body["choices"][0]["message"]["content"]


def test_breaker_through_http(llm_services: dict[str, ServeProcess], breaker_llm: ScriptedLLM) -> None:
    url = llm_services["breaker"].url
    labels = 'backend="openai"'
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S * 3) as http:

        def ask() -> dict[str, Any]:
            call = _timed(http, "POST", f"{url}/v1/ask", json={"question": QUESTION})
            _assert_in_time(call, "ask")
            assert call.status == 200, call.text[:500]
            body: dict[str, Any] = call.body
            return body

        breaker_llm.reply_with(OK)
        assert ask()["backend"] == "openai"
        assert _metric(url, "byline_llm_breaker_open", labels) == 0.0

        # The upstream dies: N failing questions reach it (each retried once), then it opens.
        breaker_llm.reply_with(SERVER_ERROR)
        before = breaker_llm.hits
        for _ in range(BREAKER_FAILURES):
            _assert_fallback(ask())
        opened_at = time.monotonic()
        failed_hits = breaker_llm.hits
        assert failed_hits - before == BREAKER_FAILURES * 2  # llm_max_retries=1 (the default)
        assert _metric(url, "byline_llm_breaker_open", labels) == 1.0
        refused_before = _metric(url, "byline_llm_breaker_short_circuited_total", labels)

        # Open: questions (JSON, SSE, chat) are answered at once, and none reaches the upstream.
        asked = 0
        while time.monotonic() - opened_at < BREAKER_COOLDOWN_S - 1.0 and asked < 6:
            answer = ask()
            _assert_fallback(answer)
            assert "circuit open" in answer["fallback_reason"], answer
            asked += 1
        sse = _ask_sse(http, url, QUESTION)
        chat_body = {"model": "byline", "messages": [{"role": "user", "content": QUESTION}]}
        chat = _timed(http, "POST", f"{url}/v1/chat/completions", json=chat_body)
        if time.monotonic() - opened_at < BREAKER_COOLDOWN_S:  # else a trial may have gone out
            assert breaker_llm.hits == failed_hits, "the open breaker let a request through"
        assert asked >= 2
        assert sse.status == 200 and "circuit open" in sse.events[-1][1]["fallback_reason"]
        assert chat.status == 200 and chat.body["citations"]
        assert "circuit open" in chat.body["fallback_reason"] and chat.body["backend"] == "extractive"
        refused = _metric(url, "byline_llm_breaker_short_circuited_total", labels)
        assert refused >= refused_before + asked + 1

        # The upstream recovers; after the cool-down the next question is the trial, and it
        # comes from the LLM again.
        breaker_llm.reply_with(OK)
        time.sleep(max(0.0, opened_at + BREAKER_COOLDOWN_S + 0.2 - time.monotonic()))
        answer = ask()
        assert answer["backend"] == "openai" and answer["fallback_reason"] is None, answer
        assert _metric(url, "byline_llm_breaker_open", labels) == 0.0
        assert ask()["backend"] == "openai"


# === a Chroma server that never answers ===============================================
class BlackHoleProxy:
    """A TCP proxy on 127.0.0.1 in front of `target`; `hang()` makes it accept connections
    and swallow every byte both ways, old connections included — a hung server, as seen
    by its clients. With no target it is a black hole from the start."""

    def __init__(self, target: tuple[str, int] | None = None) -> None:
        self.target = target
        self.hung = target is None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self) -> None:
        self.hung = True

    def resume(self) -> None:
        self.hung = False

    def _keep(self, *socks: socket.socket) -> None:
        with self._lock:
            self._sockets.extend(socks)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._keep(client)
            if self.hung or self.target is None:
                threading.Thread(target=self._pump, args=(client, None), daemon=True).start()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self._keep(server)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket | None) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if dst is not None and not self.hung:
                    dst.sendall(data)
        for sock in (src, dst):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> BlackHoleProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def _store_routes(http: httpx.Client, url: str) -> dict[str, Call]:
    return {
        "search": _timed(http, "POST", f"{url}/v1/search", json={"query": QUESTION}),
        "ask": _timed(http, "POST", f"{url}/v1/ask", json={"question": QUESTION}),
        "ask-sse": _timed(http, "POST", f"{url}/v1/ask", json={"question": QUESTION, "stream": True}),
    }


@pytest.mark.slow
def test_hung_chroma_server_is_a_bounded_503(
    chroma_server: Any, seeds: Path, tmp_path: Path, record_property: Any
) -> None:
    with BlackHoleProxy((chroma_server.host, chroma_server.port)) as proxy:
        env = {
            "CHROMA_HOST": "127.0.0.1",
            "CHROMA_PORT": str(proxy.port),
            "BYLINE_COLLECTION": f"hung{uuid4().hex[:12]}",
            "BYLINE_CHROMA_TIMEOUT_S": str(CHROMA_TIMEOUT_S),
            "BYLINE_REQUEST_TIMEOUT_S": "20",  # so the bound seen is the store's, not the request's
        }
        with (
            upstream_service(tmp_path / "svc", env, seeds=seeds) as service,
            httpx.Client(trust_env=False, timeout=60) as http,
        ):
            service.wait_ready()
            assert http.post(f"{service.url}/v1/search", json={"query": QUESTION}).status_code == 200

            proxy.hang()
            calls = _store_routes(http, service.url)
            health = _timed(http, "GET", f"{service.url}/healthz")
            for what, call in calls.items():
                record_property(f"{what}_status", call.status)
                record_property(f"{what}_seconds", round(call.seconds, 3))
                problem = assert_problem(call, 503)
                assert problem["title"] == "Vector store unavailable", problem
                assert "did not answer within" in problem["detail"], problem
                assert "BYLINE_CHROMA_TIMEOUT_S" in problem["hint"], problem
                # One store call times out (no retry storm): the timeout plus a little.
                assert call.seconds < 2 * CHROMA_TIMEOUT_S + SLACK_S, (what, call.seconds)
            assert health.status == 200 and health.seconds < 1.0

            proxy.resume()  # the same process answers again, no restart
            deadline = time.monotonic() + 20
            while (
                status := _timed(http, "POST", f"{service.url}/v1/search", json={"query": QUESTION}).status
            ) != 200:
                assert status == 503 and time.monotonic() < deadline, status
                time.sleep(0.2)
            assert http.post(f"{service.url}/v1/ask", json={"question": QUESTION}).json()["citations"]


def test_chroma_server_hung_from_start(seeds: Path, tmp_path: Path) -> None:
    """Start-up against a server that never answers: the loader gives up on each attempt
    after the timeout and retries; meanwhile routes say 503 at once and /healthz is 200."""
    with BlackHoleProxy() as proxy:
        env = {
            "CHROMA_HOST": "127.0.0.1",
            "CHROMA_PORT": str(proxy.port),
            "BYLINE_CHROMA_TIMEOUT_S": str(CHROMA_TIMEOUT_S),
        }
        with upstream_service(tmp_path / "svc", env, seeds=seeds) as service:
            service.wait_ready(60, path="/healthz")  # the pipeline never loads
            ready = service.wait_ready(30, until=lambda r: "did not answer" in r.text)
            assert ready.status_code == 503
            with httpx.Client(trust_env=False, timeout=30) as http:
                for what, call in _store_routes(http, service.url).items():
                    problem = assert_problem(call, 503)
                    assert "did not answer within" in problem["detail"], (what, problem)
                    assert call.seconds < 1.0, (what, call.seconds)
                assert http.get(f"{service.url}/healthz").status_code == 200


# === the embedded store's disk: full, read-only ======================================
OLD = {
    "id": "quillon-canal",
    "title": "Quillon canal reopens",
    "text": "The Quillon canal reopened to barges on 12 May 2025 after a dredging project "
    "that cost 9 million euros.",
    "source": "Canal Gazette",
}
NEW = {
    **OLD,
    "text": " ".join(
        f"Update {i}: the Quillon canal reopened to barges on {i} June 2025 after a second dredging "
        f"project, the canal authority said, and traffic rose by {i} percent in the first week."
        for i in range(1, 25)
    ),
}


def _chunks(http: httpx.Client, url: str, article_id: str) -> list[str]:
    response = http.get(f"{url}/v1/documents/{article_id}")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return [c["text"] for c in response.json()["chunks"]]


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "byline-test", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here (needs root with CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(path: Path) -> Path:
    filler = path / "filler"
    block = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    with contextlib.suppress(OSError), filler.open("ab", buffering=0) as f:  # the last partial block
        while True:
            f.write(b"\0" * 4096)
    return filler


DROP_CAPS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _can_drop_dac_override() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    return subprocess.run([*DROP_CAPS, "true"], capture_output=True).returncode == 0


@pytest.mark.slow
def test_disk_full_is_a_clear_507_and_leaves_the_article_whole(
    seeds: Path, tmp_path: Path, record_property: Any
) -> None:
    """The data dir on a small tmpfs, filled up while the service runs: writes answer 507
    saying what to fix, reads keep working, the article stays all-old, and once space is
    freed the same write succeeds (all-new) in the same process."""
    with _tmpfs(tmp_path / "mnt", "48m") as disk:
        with upstream_service(tmp_path / "svc", {}, seeds=seeds, data_dir=disk / "data") as service:
            service.wait_ready()
            url = service.url
            with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S * 3) as http:
                assert http.post(f"{url}/v1/documents", json=OLD).status_code == 200
                old_chunks = _chunks(http, url, OLD["id"])
                assert old_chunks

                filler = _fill(disk)
                ask = _timed(http, "POST", f"{url}/v1/ask", json={"question": QUESTION})
                assert ask.status == 200 and ask.body["citations"], ask.text[:500]

                # A changed article, and a new one: 507 saying what to fix, never a 500.
                for doc in (NEW, {**NEW, "id": "quillon-canal-2"}):
                    call = _timed(http, "POST", f"{url}/v1/documents", json=doc)
                    record_property(f"{doc['id']}_status", call.status)
                    record_property(f"{doc['id']}_seconds", round(call.seconds, 3))
                    problem = assert_problem(call, 507, retry_after=False)
                    assert problem["title"] == "Store not writable", problem
                    assert "disk is full" in problem["detail"] and "free disk space" in problem["hint"], (
                        problem
                    )
                    assert call.seconds < REQUEST_TIMEOUT_S + SLACK_S
                # All-old: nothing of the failed writes is visible.
                assert _chunks(http, url, OLD["id"]) == old_chunks
                assert _chunks(http, url, "quillon-canal-2") == []

                filler.unlink()
                retried = http.post(f"{url}/v1/documents", json=NEW)
                assert retried.status_code == 200, retried.text
                assert retried.json()["updated"] == [OLD["id"]]
                new_chunks = _chunks(http, url, OLD["id"])
                assert len(new_chunks) > len(old_chunks) and all("Update" in c for c in new_chunks)
                assert (
                    http.post(f"{url}/v1/documents", json={**NEW, "id": "quillon-canal-2"}).status_code == 200
                )
                answer = http.post(f"{url}/v1/ask", json={"question": "By how much did canal traffic rise?"})
                assert answer.status_code == 200 and answer.json()["citations"], answer.text


@pytest.mark.slow
@pytest.mark.skipif(
    not _can_drop_dac_override(), reason="needs root and setpriv to run without CAP_DAC_OVERRIDE"
)
def test_read_only_store_is_a_clear_503_until_fixed(
    seeds: Path, tmp_path: Path, record_property: Any
) -> None:
    """Root ignores file modes, so the service runs as root without CAP_DAC_OVERRIDE (still
    uid 0: the venv under /root stays readable) and must obey them like any user.

    Chroma's embedded store writes when it opens (and the store's lock file must be
    writable), so a read-only one can't be served at all: the service stays up (/healthz
    200) and every store route — the documents API included — answers 503 naming the
    directory and the fix, never a 500. Once it is writable again, a restarted service
    takes the write, and the article is whole."""
    workdir = tmp_path / "svc"
    with upstream_service(workdir, {}, seeds=seeds, prefix=DROP_CAPS) as service:
        service.wait_ready()
        with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S * 3) as http:
            assert http.post(f"{service.url}/v1/documents", json=OLD).status_code == 200
            old_chunks = _chunks(http, service.url, OLD["id"])

    chroma = workdir / "data" / "chroma"
    for path in [chroma, *chroma.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    with upstream_service(workdir, {}, seeds=seeds, prefix=DROP_CAPS) as service:
        service.wait_ready(60, path="/healthz")  # the pipeline never loads
        service.wait_ready(60, until=lambda r: "failed to start" in r.text)
        with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S * 3) as http:
            calls = {
                "documents": _timed(http, "POST", f"{service.url}/v1/documents", json=NEW),
                "ask": _timed(http, "POST", f"{service.url}/v1/ask", json={"question": QUESTION}),
                "search": _timed(http, "POST", f"{service.url}/v1/search", json={"query": QUESTION}),
            }
            for what, call in calls.items():
                record_property(f"{what}_status", call.status)
                record_property(f"{what}_seconds", round(call.seconds, 3))
                problem = assert_problem(call, 503)
                assert str(chroma) in problem["detail"] and "Permission denied" in problem["detail"], problem
                assert "writable" in problem["hint"], (what, problem)
                assert call.seconds < 1.0, (what, call.seconds)
            assert http.get(f"{service.url}/healthz").status_code == 200

    for path in [chroma, *chroma.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    with upstream_service(workdir, {}, seeds=seeds, prefix=DROP_CAPS) as service:
        service.wait_ready()
        with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT_S * 3) as http:
            assert _chunks(http, service.url, OLD["id"]) == old_chunks  # all-old
            retried = http.post(f"{service.url}/v1/documents", json=NEW)
            assert retried.status_code == 200, retried.text
            new_chunks = _chunks(http, service.url, OLD["id"])
            assert len(new_chunks) > len(old_chunks) and all("Update" in c for c in new_chunks)
