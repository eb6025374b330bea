"""A real OpenAI-compatible chat server on 127.0.0.1 whose faults are chosen per test.

Not a mock of our code: the `openai` client talks to it over a socket, as to vLLM or
OpenAI. `mode` picks what the next requests get:

- `ok`: the answer (JSON, or an SSE stream when the request asks for one);
- `slow`: the answer after `slow_s` seconds;
- `hang`: reads the request and never answers (until the server stops);
- `500`: a 500 error; `503`: a 503 with `Retry-After: 60`;
- `malformed`: a 200 whose body is not JSON;
- `cut`: a stream that sends a few words, then broken JSON, then drops the connection;
- `bad_citation`: an answer citing passage [9], which the prompt never had.

`hits` counts the chat requests that reached the server.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "Trump and Xi will meet in South Korea on October 30 [1]."
BAD_CITATION = "China agreed to buy soybeans [9]."
MODES = ("ok", "slow", "hang", "500", "503", "malformed", "cut", "bad_citation")


class FakeLLM:
    def __init__(self, answer: str = ANSWER) -> None:
        self.answer = answer
        self.mode = "ok"
        self.slow_s = 3.0
        self.requests: list[dict[str, Any]] = []
        self._hits = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"llm": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    def record(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._hits += 1
            self.requests.append(body)

    def wait(self, seconds: float) -> None:
        """Sleeps, but ends at once when the server stops (no thread outlives a test)."""
        self._stopping.wait(seconds)

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _chunk(delta: dict[str, Any]) -> bytes:
    payload = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", **delta}
    return f"data: {json.dumps(payload)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    llm: FakeLLM

    def log_message(self, *args: object) -> None:  # keep test output clean
        del args

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        llm = self.llm
        llm.record(body)
        mode = llm.mode
        if mode == "hang":
            llm.wait(120)
            self.close_connection = True
            return
        if mode == "slow":
            llm.wait(llm.slow_s)
        if mode == "500":
            self._send(500, b'{"error": {"message": "boom"}}')
            return
        if mode == "503":
            self._send(503, b'{"error": {"message": "overloaded"}}', {"Retry-After": "60"})
            return
        if mode == "malformed":
            self._send(200, b"this is not json")
            return
        content = BAD_CITATION if mode == "bad_citation" else llm.answer
        if body.get("stream"):
            self._stream(content, cut=mode == "cut")
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

    def _stream(self, content: str, *, cut: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = content.split(" ")
        for i, word in enumerate(words):
            piece = word + (" " if i < len(words) - 1 else "")
            self.wfile.write(_chunk({"choices": [{"index": 0, "delta": {"content": piece}}]}))
            self.wfile.flush()
            if cut and i == 2:
                self.wfile.write(b"data: {broken json\n\n")
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
        usage = {"prompt_tokens": 100, "completion_tokens": len(words), "total_tokens": 100 + len(words)}
        self.wfile.write(_chunk({"choices": [], "usage": usage}) + b"data: [DONE]\n\n")

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
