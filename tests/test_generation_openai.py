"""The OpenAI path against a real OpenAI-compatible HTTP server on 127.0.0.1.

The server is scripted (a few lines of http.server) so each upstream fault can be
produced on demand: slow, 5xx, malformed JSON, a stream cut midway, an answer citing a
passage that doesn't exist. The pipeline must answer (falling back to extractive, flagged)
and never raise.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag.config import Settings
from rag.pipeline import Pipeline

ANSWER = "Trump and Xi will meet in South Korea on October 30 [1]."


class _Upstream(BaseHTTPRequestHandler):
    mode = "ok"
    requests: list[dict] = []

    def log_message(self, *args: object) -> None:  # keep test output clean
        del args

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Upstream.requests.append(body)
        mode = _Upstream.mode
        if mode == "slow":
            time.sleep(3)
        if mode == "500":
            self._send(500, b'{"error": {"message": "boom"}}')
            return
        if mode == "malformed":
            self._send(200, b"this is not json")
            return
        content = "China agreed to buy soybeans [9]." if mode == "bad_citation" else ANSWER
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            words = content.split(" ")
            for i, word in enumerate(words):
                delta = {
                    "choices": [
                        {"index": 0, "delta": {"content": word + (" " if i < len(words) - 1 else "")}}
                    ]
                }
                self.wfile.write(
                    f"data: {json.dumps({'id': 'x', 'object': 'chat.completion.chunk', 'created': 0, 'model': 'm', **delta})}\n\n".encode()
                )
                self.wfile.flush()
                if mode == "cut" and i == 2:
                    self.wfile.write(b"data: {broken json\n\n")
                    self.wfile.flush()
                    self.connection.close()
                    return
            usage = {"prompt_tokens": 100, "completion_tokens": len(words), "total_tokens": 100 + len(words)}
            final = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [],
                "usage": usage,
            }
            self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
            return
        response = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 12, "total_tokens": 112},
        }
        self._send(200, json.dumps(response).encode())

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture(scope="module")
def pipeline(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        seeds_dir=Path(__file__).resolve().parents[1] / "seeds",
        openai_base_url=upstream,
        openai_model="scripted",
        llm_timeout_s=1.0,
        llm_max_retries=0,
    )
    p = Pipeline(settings)
    p.ensure_seeded()
    yield p
    p.close()


QUESTION = "When and where will Trump and Xi meet?"


def test_auto_backend_is_openai_when_base_url_set(pipeline: Pipeline) -> None:
    assert pipeline.default_backend == "openai"


def test_answer_streams_and_is_verified(pipeline: Pipeline) -> None:
    _Upstream.mode = "ok"
    events = list(pipeline.ask_stream(QUESTION))
    assert events[0].kind == "sources" and events[0].context and events[0].context.passages
    deltas = "".join(e.delta for e in events if e.kind == "delta")
    assert deltas.strip() == ANSWER
    answer = events[-1].answer
    assert answer is not None and answer.backend == "openai" and not answer.abstained
    assert answer.fallback_reason is None
    # 004 says "Thursday", which its publication date (Wed 2025-10-29) resolves to Oct 30.
    assert answer.citations and any(d in answer.citations[0].quote for d in ("October 30", "Oct. 30", "Thursday"))
    assert answer.prompt_tokens == 100
    request = _Upstream.requests[-1]
    assert request["model"] == "scripted" and request["temperature"] == 0.0
    assert "Sources:" in request["messages"][1]["content"]


@pytest.mark.parametrize("mode", ["slow", "500", "malformed", "cut"])
def test_upstream_faults_fall_back_to_extractive(pipeline: Pipeline, mode: str) -> None:
    _Upstream.mode = mode
    started = time.perf_counter()
    answer = pipeline.ask(QUESTION)
    assert time.perf_counter() - started < 10
    assert answer.backend == "extractive"
    assert answer.fallback_reason and "openai backend failed" in answer.fallback_reason
    assert answer.citations and not answer.abstained


def test_citation_to_missing_passage_is_not_trusted(pipeline: Pipeline) -> None:
    _Upstream.mode = "bad_citation"
    answer = pipeline.ask(QUESTION)
    assert "[9]" not in answer.text
    assert answer.abstained  # the only claim is unsupported, so it is removed
    assert answer.claims and answer.claims[0].action == "removed"
