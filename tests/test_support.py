"""The shared test helpers (tests/support/) do what the tests that rely on them assume: a
server that dies or never becomes ready fails with its log's tail, a stopped one is gone,
and each scripted LLM answers from its own script."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import httpx
import pytest
from support.environment import isolated_environ
from support.llm import ANSWER, CUT_STREAM, MALFORMED, OVERLOADED, SERVER_ERROR, Reply, ScriptedLLM
from support.net import free_port
from support.serve import ServeProcess


def test_free_port_has_no_listener() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        assert client.connect_ex(("127.0.0.1", free_port())) != 0


def http_server(workdir: Path, argv_tail: tuple[str, ...] = ()) -> ServeProcess:
    """Python's own http.server as a stand-in for `byline serve` (ready at "/")."""
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", *argv_tail]
    return ServeProcess(argv, port=port, env=isolated_environ(), workdir=workdir, ready_path="/")


def test_serve_process_waits_until_ready_and_stops(tmp_path: Path) -> None:
    with http_server(tmp_path) as server:
        assert server.wait_ready(30).status_code == 200
        assert server.running
    assert not server.running
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        assert client.connect_ex(("127.0.0.1", server.port)) != 0
    assert server.log_path.exists()


def test_serve_process_that_dies_fails_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('config is broken: no port'); sys.exit(3)"]
    with ServeProcess(argv, port=free_port(), env=isolated_environ(), workdir=tmp_path) as server:
        with pytest.raises(AssertionError) as failed:
            server.wait_ready(30)
    assert "exited with 3" in str(failed.value) and "config is broken: no port" in str(failed.value)


def test_serve_process_never_ready_fails_with_its_log(tmp_path: Path) -> None:
    with http_server(tmp_path) as server:
        server.wait_ready(30)
        with pytest.raises(AssertionError) as failed:
            server.wait_ready(0.5, until=lambda response: "never there" in response.text)
    message = str(failed.value)
    assert "not ready within" in message and "last: 200" in message
    assert '"GET / HTTP/1.1" 200' in message  # http.server's own log line: the log's tail


def chat(llm: ScriptedLLM, *, stream: bool = False) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}], "stream": stream}
    return httpx.post(f"{llm.url}/chat/completions", json=body, trust_env=False, timeout=10)


def test_scripted_llm_answers_the_queue_then_the_standing_reply() -> None:
    with ScriptedLLM() as llm:
        llm.reply_with(SERVER_ERROR)
        llm.then(Reply(text="first"), OVERLOADED)
        first, second, third = chat(llm), chat(llm), chat(llm)
        assert first.json()["choices"][0]["message"]["content"] == "first"
        assert second.status_code == 503 and second.headers["Retry-After"] == "60"
        assert third.status_code == 500 and third.json()["error"]["message"] == "boom"
        assert llm.hits == 3 and llm.requests[0]["messages"][0]["content"] == "q"

        llm.reset()
        assert llm.hits == 0 and chat(llm).json()["choices"][0]["message"]["content"] == ANSWER


def test_scripted_llms_do_not_share_a_script() -> None:
    with ScriptedLLM() as broken, ScriptedLLM() as healthy:
        broken.reply_with(MALFORMED)
        assert chat(broken).text == "this is not json"
        assert chat(healthy).json()["choices"][0]["message"]["content"] == ANSWER
        assert (broken.hits, healthy.hits) == (1, 1)


def test_scripted_llm_streams_and_cuts_streams() -> None:
    with ScriptedLLM() as llm:
        whole = [line for line in chat(llm, stream=True).text.splitlines() if line.startswith("data:")]
        assert whole[-1] == "data: [DONE]"
        pieces = [json.loads(line[5:])["choices"] for line in whole[:-1]]
        assert "".join(c[0]["delta"]["content"] for c in pieces if c) == ANSWER

        llm.reply_with(CUT_STREAM)
        cut = [line for line in chat(llm, stream=True).text.splitlines() if line.startswith("data:")]
        assert len(cut) == 4 and cut[-1] == "data: {broken json"  # three words, then garbage, then EOF
