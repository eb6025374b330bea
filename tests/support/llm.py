"""A scripted OpenAI-compatible chat server on 127.0.0.1: the LLM upstream of the tests.

Not a mock of our code: the `openai` client (and llama-index's OpenAILike) talk to it over a
real socket, as to vLLM or OpenAI, so timeouts, retries, streaming and broken bodies go
through the real client code. Each `ScriptedLLM` keeps its own script and its own record
of requests (nothing at class level), so no test sees what another scripted.

The script: a standing `Reply` (`reply_with`) answers every request, except that replies
queued with `then` answer the next requests first, one each, in order. Every POST is a
chat completion: JSON, or an SSE stream (word by word, then usage and [DONE]) when the
request asks for one.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from support.net import LoopbackHTTPServer, QuietHandler

ANSWER = "Trump and Xi will meet in South Korea on October 30 [1]."
BAD_CITATION = "China agreed to buy soybeans [99]."


@dataclass(frozen=True)
class Reply:
    """What the server does with one chat request (by default: answers `text`)."""

    text: str = ANSWER
    status: int = 200  # anything else: an OpenAI-style error body with `error` as its message
    error: str = "boom"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before answering; cut short when the server stops
    hang: bool = False  # read the request, never answer (until the server stops)
    malformed: bool = False  # a 200 whose body is not JSON
    cut_after_words: int | None = None  # a stream: that many words, broken JSON, connection dropped


OK = Reply()
HANG = Reply(hang=True)
SERVER_ERROR = Reply(status=500)
OVERLOADED = Reply(status=503, error="overloaded", headers={"Retry-After": "60"})
MALFORMED = Reply(malformed=True)
CUT_STREAM = Reply(cut_after_words=3)
CITES_A_MISSING_PASSAGE = Reply(text=BAD_CITATION)  # [99]: no prompt has 99 passages


class ScriptedLLM(LoopbackHTTPServer):
    """`with ScriptedLLM() as llm:` → `llm.url` is an OpenAI base URL (…/v1)."""

    def __init__(self) -> None:
        self._standing = OK
        self._queued: deque[Reply] = deque()
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        super().__init__(type("ScriptedChatHandler", (_ChatHandler,), {"llm": self}))

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def hits(self) -> int:
        """Chat requests that reached the server."""
        with self._lock:
            return len(self._requests)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat requests so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def reply_with(self, reply: Reply) -> None:
        """From now on, every request the queue doesn't cover gets `reply`."""
        with self._lock:
            self._standing = reply

    def then(self, *replies: Reply) -> None:
        """The next requests get these replies, one each, before the standing one."""
        with self._lock:
            self._queued.extend(replies)

    def reset(self) -> None:
        """A fresh script (answers `ANSWER`), no queue, no recorded requests: what a test
        sharing a module's server starts from."""
        with self._lock:
            self._standing = OK
            self._queued.clear()
            self._requests.clear()

    def _take(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self._requests.append(body)
            return self._queued.popleft() if self._queued else self._standing

    def _wait(self, seconds: float) -> None:
        """Sleeps, but ends at once when the server stops (no thread outlives a test)."""
        self._stopping.wait(seconds)

    def stop(self) -> None:
        self._stopping.set()  # ends hung and delayed replies: no handler thread outlives the test
        super().stop()


def _sse(payload: dict[str, Any]) -> bytes:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", **payload}
    return f"data: {json.dumps(chunk)}\n\n".encode()


class _ChatHandler(QuietHandler):
    llm: ScriptedLLM

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = self.llm._take(body)
        if reply.hang:
            self.llm._wait(120)
            self.close_connection = True
            return
        if reply.delay_s:
            self.llm._wait(reply.delay_s)
        if reply.status != 200:
            error = json.dumps({"error": {"message": reply.error}}).encode()
            self.send_body(reply.status, error, "application/json", reply.headers)
        elif reply.malformed:
            self.send_body(200, b"this is not json", "application/json", reply.headers)
        elif body.get("stream"):
            self._stream(reply)
        else:
            self.send_body(200, json.dumps(_completion(reply.text)).encode(), "application/json", reply.headers)

    def _stream(self, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        words = reply.text.split(" ")
        for i, word in enumerate(words):
            piece = word + (" " if i < len(words) - 1 else "")
            self.wfile.write(_sse({"choices": [{"index": 0, "delta": {"content": piece}}]}))
            self.wfile.flush()
            if reply.cut_after_words is not None and i + 1 == reply.cut_after_words:
                self.wfile.write(b"data: {broken json\n\n")
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
        usage = {"prompt_tokens": 100, "completion_tokens": len(words), "total_tokens": 100 + len(words)}
        self.wfile.write(_sse({"choices": [], "usage": usage}) + b"data: [DONE]\n\n")


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 12, "total_tokens": 112},
    }
