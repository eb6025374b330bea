"""`byline serve` as a real uvicorn process on 127.0.0.1: the official `openai` client
against it (stream and not), SSE over TCP, the start-up refusals, and two service processes sharing one
`chroma run` server — a document added through one is answerable through the other."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from support.net import free_port
from support.serve import ServeProcess

from rag.types import Answer, IngestReport

ADMIN = "uvicorn-admin-key"
QUESTION = "Where will Trump and Xi meet?"


def _log_lines(service: ServeProcess) -> list[dict[str, Any]]:
    lines = []
    for raw in service.log().splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            pass
    return lines


def test_openai_client_against_a_real_server(start_service: Callable[..., ServeProcess]) -> None:
    from openai import OpenAI

    service = start_service()
    client = OpenAI(
        base_url=f"{service.url}/v1",
        api_key="unused-no-keys-configured",
        max_retries=0,
        http_client=httpx.Client(trust_env=False),
    )
    completion = client.chat.completions.create(model="byline", messages=[{"role": "user", "content": QUESTION}])
    content = completion.choices[0].message.content or ""
    assert "[1]" in content and "\n\nSources:\n[1] " in content
    extra = completion.model_extra or {}
    assert extra["citations"] and extra["citations"][0]["n"] == 1

    stream = client.chat.completions.create(
        model="byline-extractive", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len(pieces) > 3 and "".join(pieces) == content  # same verified answer, streamed

    assert [m.id for m in client.models.list()] == ["byline", "byline-extractive"]

    # The /v1/ask event stream arrives as separate events over a real socket.
    names = []
    with httpx.Client(trust_env=False, timeout=30) as http, http.stream(
        "POST", f"{service.url}/v1/ask", json={"question": QUESTION}, headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.status_code == 200
        names = [line.split(":", 1)[1].strip() for line in response.iter_lines() if line.startswith("event:")]
    assert names[0] == "citations" and names[-1] == "done" and "delta" in names

    # Start-up log: JSON lines, the open/loopback warning, the ready line, request ids.
    lines = _log_lines(service)
    assert any("no API keys configured" in line["msg"] and "loopback only" in line["msg"] for line in lines)
    assert any(line["msg"] == "ready" and line.get("backend") == "extractive" for line in lines)
    access = [line for line in lines if line["logger"] == "byline.access" and line["path"] == "/v1/chat/completions"]
    assert len(access) == 2 and all(len(line["request_id"]) == 32 for line in access)


def test_serve_refuses_unsafe_configurations(run_byline: Any, tmp_path: Path) -> None:
    env = {"BYLINE_DATA_DIR": str(tmp_path / "data")}
    open_to_network = run_byline("serve", "--host", "0.0.0.0", "--port", free_port(), env=env, timeout=60)
    assert open_to_network.returncode == 2
    assert "no API keys are configured" in open_to_network.stderr and "--allow-open" in open_to_network.stderr

    workers = run_byline("serve", "--workers", "2", "--port", free_port(), env=env, timeout=60)
    assert workers.returncode == 2 and "CHROMA_HOST" in workers.stderr


def test_two_processes_share_one_chroma_server(start_service: Callable[..., ServeProcess], chroma_server: Any) -> None:
    env = {
        "CHROMA_HOST": chroma_server.host,
        "CHROMA_PORT": str(chroma_server.port),
        "BYLINE_COLLECTION": f"svc{uuid4().hex[:12]}",
        "BYLINE_ADMIN_KEYS": ADMIN,
    }
    first = start_service("a", env, wait=False)
    second = start_service("b", env, wait=False)
    first.wait_ready(90)
    second.wait_ready(90)
    auth = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(trust_env=False, timeout=60) as http:
        for service in (first, second):
            ready = http.get(f"{service.url}/readyz").json()
            assert ready["store"] == "server" and ready["auth"] == "keys"

        doc = {
            "id": "quillon-canal",
            "title": "Quillon canal reopens",
            "text": "The Quillon canal reopened to barges on 12 May 2025 after a dredging project that cost 9 million euros.",
            "source": "Canal Gazette",
        }
        added = http.post(f"{first.url}/v1/documents", json=doc, headers=auth)
        assert added.status_code == 200, added.text
        assert IngestReport.model_validate(added.json()).added == ["quillon-canal"]

        listed = http.get(f"{second.url}/v1/documents", headers=auth).json()
        ids = {d["id"] for d in listed["documents"]}
        assert "quillon-canal" in ids and len(ids) == 6  # the five seeds, ingested once, plus the new one

        response = http.post(
            f"{second.url}/v1/ask", json={"question": "How much did the Quillon canal dredging cost?"}, headers=auth
        )
        assert response.status_code == 200, response.text
        answer = Answer.model_validate(response.json())
        assert "9 million euros" in answer.text, answer.text
        assert any(c.article_id == "quillon-canal" for c in answer.citations)

        deleted = http.delete(f"{second.url}/v1/documents/quillon-canal", headers=auth)
        assert deleted.status_code == 200
        assert http.get(f"{first.url}/v1/documents/quillon-canal", headers=auth).status_code == 404
    assert os.environ.get("CHROMA_HOST") is None  # the servers got it, the test process didn't
