"""Back-pressure per backend: each generating backend has its own slots, waiting line and
Retry-After, and the extractive backend takes no slot at all — so a queue full of
questions for an LLM never makes a 10 ms extractive answer "busy".

The LLM that fills its queue is real: an OpenAI-compatible server on 127.0.0.1
(`support.llm.ScriptedLLM`) that reads each request and doesn't answer until it is
stopped, reached through the real `openai` client behind the generator Protocol; or the
local model's slot held on the app's own queue. Nothing here mocks the queue.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from support.app import QUESTION, fresh_copy, make_settings, running
from support.app import seeded_dir as seeded_dir  # noqa: F401  (fixture, used by name)
from support.llm import HANG, ScriptedLLM

from service.errors import QueueFull
from service.limits import GenerationQueue, Slot
from service.main import create_app
from service.state import ServiceState

# An extractive answer is milliseconds; this allows for a loaded two-core CI machine.
PROMPT_S = 5.0


def state_of(client: TestClient) -> ServiceState:
    app: Any = client.app
    state: ServiceState = app.state.byline
    return state


def wait_for(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def in_background(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, dict[str, httpx.Response]]:
    result: dict[str, httpx.Response] = {}
    thread = threading.Thread(target=lambda: result.update(response=call()), daemon=True)
    thread.start()
    return thread, result


def answered_at_once(client: TestClient, path: str, body: dict[str, Any]) -> httpx.Response:
    started = time.monotonic()
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < PROMPT_S
    return response


# --- the queue itself ---------------------------------------------------------------------
def test_each_backend_has_its_own_line_and_extractive_none() -> None:
    async def scenario() -> None:
        queue = GenerationQueue(max_waiting=1, remote_concurrency=1)
        local = await queue.acquire("local", 1.0)
        waiter = asyncio.create_task(queue.acquire("local", 5.0))
        await asyncio.sleep(0.01)
        assert queue.waiting("local") == 1 and queue.in_flight("local") == 1

        with pytest.raises(QueueFull) as full:  # the local line is full: told at once
            await queue.acquire("local", 5.0)
        assert "local" in full.value.message and full.value.retry_after >= 1

        # Another backend's line is empty, whatever the local one holds.
        remote = await asyncio.wait_for(queue.acquire("openai", 5.0), 0.5)
        assert queue.waiting("openai") == 0 and queue.in_flight("openai") == 1
        # Extractive takes no slot: any number at once, nobody waits, never full.
        extractive = [await asyncio.wait_for(queue.acquire("extractive", 5.0), 0.5) for _ in range(20)]
        assert queue.in_flight("extractive") == 20 and queue.waiting("extractive") == 0

        with pytest.raises(QueueFull) as timed_out:  # a waiter past its deadline
            await queue.acquire("openai", 0.05)
        assert "within" in timed_out.value.message and queue.waiting("openai") == 0

        local.release()
        local.release()  # idempotent: a done-callback may release again
        second: Slot = await asyncio.wait_for(waiter, 1.0)
        assert queue.in_flight("local") == 1 and queue.waiting("local") == 0
        for slot in (second, remote, *extractive):
            slot.release()
        assert all(
            queue.in_flight(b) == 0 and queue.waiting(b) == 0 for b in ("local", "openai", "extractive")
        )

    asyncio.run(scenario())


def test_retry_after_is_each_backends_own() -> None:
    """Estimated from the backend's own line (and answer times): questions waiting for the
    local model don't push back OpenAI questions."""

    async def scenario() -> None:
        queue = GenerationQueue(max_waiting=4, remote_concurrency=4)
        openai_before = queue.retry_after_s("openai")
        held = await queue.acquire("local", 1.0)
        waiters = [asyncio.create_task(queue.acquire("local", 5.0)) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert queue.waiting("local") == 3
        assert queue.retry_after_s("local") >= 3 * queue.retry_after_s("openai")
        assert queue.retry_after_s("openai") == openai_before
        held.release()
        for waiter in waiters:
            (await asyncio.wait_for(waiter, 1.0)).release()
        assert queue.retry_after_s("openai") == openai_before  # local answers taught it nothing

    asyncio.run(scenario())


# --- through the app ----------------------------------------------------------------------
@pytest.fixture
def hanging_llm() -> Iterator[ScriptedLLM]:
    """An OpenAI-compatible upstream that reads each request and answers none until it
    stops; stopping it (at the end of the test) lets every held request end."""
    with ScriptedLLM() as llm:
        llm.reply_with(HANG)
        yield llm


def test_extractive_is_answered_while_the_llm_queue_is_full(
    seeded_dir: Path,  # noqa: F811
    tmp_path: Path,
    hanging_llm: ScriptedLLM,
) -> None:
    """One OpenAI slot, one place in its line: a question on the hanging upstream holds
    the slot, a second waits, a third is turned away (503 + Retry-After) — and extractive
    questions (JSON, stream, chat) are answered at once; the metrics show it per backend."""
    settings = make_settings(
        fresh_copy(seeded_dir, tmp_path / "data"),
        openai_base_url=hanging_llm.url,
        openai_model="scripted",
        llm_max_retries=0,
        llm_timeout_s=60,
        request_timeout_s=60,
        queue_max=1,
        generation_concurrency=1,
    )
    openai_question = {"question": QUESTION, "backend": "openai"}
    with running(create_app(settings)) as c:
        queue = state_of(c).queue
        first, first_result = in_background(lambda: c.post("/v1/ask", json=openai_question))
        wait_for(lambda: hanging_llm.hits == 1)  # the slot is held, at the upstream
        second, second_result = in_background(lambda: c.post("/v1/ask", json=openai_question))
        wait_for(lambda: queue.waiting("openai") == 1)

        turned_away = c.post("/v1/ask", json=openai_question)
        assert turned_away.status_code == 503, turned_away.text
        assert turned_away.json()["title"] == "Busy" and "openai" in turned_away.json()["detail"]
        assert int(turned_away.headers["retry-after"]) >= 1
        openai_chat = {
            "model": "byline-openai",
            "messages": [{"role": "user", "content": QUESTION}],
            "stream": True,
        }
        assert c.post("/v1/chat/completions", json=openai_chat).status_code == 503

        answer = answered_at_once(c, "/v1/ask", {"question": QUESTION, "backend": "extractive"}).json()
        assert answer["backend"] == "extractive" and answer["citations"]
        answered_at_once(c, "/v1/ask", {"question": QUESTION})  # the default: extractive
        streamed = answered_at_once(c, "/v1/ask", {"question": QUESTION, "stream": True})
        assert "event: done" in streamed.text
        chat = {"model": "byline-extractive", "messages": [{"role": "user", "content": QUESTION}]}
        answered_at_once(c, "/v1/chat/completions", chat)
        assert queue.waiting("extractive") == 0 and queue.waiting("openai") == 1

        metrics = c.get("/metrics").text
        for line in (
            'byline_queue_depth{backend="openai"} 1.0',
            'byline_generation_in_flight{backend="openai"} 1.0',
            'byline_queue_depth{backend="extractive"} 0.0',
        ):
            assert line in metrics, line

        hanging_llm.stop()  # the held questions end (answered extractively, flagged)
        for thread in (first, second):
            thread.join(timeout=60)
        for result in (first_result, second_result):
            assert result["response"].status_code == 200, result["response"].text
            assert result["response"].json()["fallback_reason"]
        wait_for(lambda: queue.in_flight("openai") == 0 and queue.in_flight("extractive") == 0)
        assert 'byline_queue_depth{backend="openai"} 0.0' in c.get("/metrics").text


def test_extractive_is_answered_while_the_local_model_is_busy(
    seeded_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The local model's slot held on the app's own queue and its line full: another local
    question is turned away at once, an extractive one is answered."""
    settings = make_settings(fresh_copy(seeded_dir, tmp_path / "data"), queue_max=1)
    with running(create_app(settings)) as c:
        queue = state_of(c).queue
        assert c.portal is not None
        held = c.portal.call(queue.acquire, "local", 1.0)
        waiter: Future[Slot] = c.portal.start_task_soon(queue.acquire, "local", 30.0)
        wait_for(lambda: queue.waiting("local") == 1)
        with pytest.raises(QueueFull):
            c.portal.call(queue.acquire, "local", 1.0)

        answer = answered_at_once(c, "/v1/ask", {"question": QUESTION}).json()
        assert answer["backend"] == "extractive"
        answered_at_once(c, "/v1/search", {"query": QUESTION})

        c.portal.call(held.release)
        c.portal.call(waiter.result(timeout=5).release)
        assert queue.in_flight("local") == 0 and queue.waiting("local") == 0
