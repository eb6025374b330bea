"""The real ASGI app (lifespan, pipeline on the extractive backend, embedded Chroma on
tmp_path) driven in-process through Starlette's TestClient (an httpx client): every route,
the SSE streams, the official `openai` client, keys, limits, errors, metrics, docs, and a
schemathesis run over the OpenAPI schema."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from support.app import (
    ADMIN,
    OTHER_SITE,
    PUBLIC,
    QUESTION,
    SITE,
    WIDGET,
    fresh_copy,
    make_settings,
    running,
)
from support.app import (
    seeded_dir as seeded_dir,  # re-exported: test_reliability_fuzz_api imports it from here
)
from support.contract import QUICK_SEED, run_schemathesis
from support.net import free_port

from rag.types import Answer, Citation, Hit, IngestReport
from service.main import create_app
from service.state import ServiceState

AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
AS_PUBLIC = {"X-API-Key": PUBLIC}


@pytest.fixture(scope="module")
def client(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The main app: admin + public keys, a widget key bound to two origins, small limits."""
    data = fresh_copy(seeded_dir, tmp_path_factory.mktemp("main") / "data")
    settings = make_settings(
        data,
        admin_keys=ADMIN,
        public_keys=f"{PUBLIC},{WIDGET}@{SITE}|{OTHER_SITE}",
        max_file_bytes=50_000,
        max_body_bytes=64_000,
    )
    with running(create_app(settings)) as c:
        yield c


def state_of(client: TestClient) -> ServiceState:
    app: Any = client.app
    state: ServiceState = app.state.byline
    return state


def parse_sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        payload = "\n".join(data)
        events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
    return events


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    if field is not None:
        assert field in body["detail"], body
        assert any(e["field"] == field for e in body["errors"]), body
    return body


# --- health ------------------------------------------------------------------------------
def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    data_dir = str(state_of(client).settings.data_dir)
    counts = {k: body.pop(k) for k in ("articles", "chunks")}
    assert body == {
        "status": "ready",
        "backend": "extractive",
        "store": "embedded",
        "auth": "keys",
        "data_dir": data_dir,
        "collection": "byline",
        "warning": None,
    }
    assert counts["articles"] >= 5 and counts["chunks"] > counts["articles"]


def test_not_ready_until_loaded(tmp_path: Path) -> None:
    """Without its lifespan having loaded the pipeline, the app is alive but not ready, and
    says so with 503 + Retry-After instead of hanging."""
    app = create_app(make_settings(tmp_path / "data"))
    bare = TestClient(app)  # no `with`: the lifespan (and so the loading) never runs
    assert bare.get("/healthz").status_code == 200
    response = bare.get("/readyz")
    body = assert_problem(response, 503)
    assert body["title"] == "Not ready" and int(response.headers["retry-after"]) >= 1
    assert_problem(bare.post("/v1/ask", json={"question": QUESTION}), 503)


# --- ask -----------------------------------------------------------------------------------
def test_ask_json_is_an_answer(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION}, headers=AS_ADMIN)
    assert response.status_code == 200, response.text
    answer = Answer.model_validate(response.json())
    assert not answer.abstained and answer.backend == "extractive"
    assert answer.citations and all(c.quote and c.end > c.start for c in answer.citations)
    assert "[1]" in answer.text
    assert answer.timings.total_s > 0


def test_ask_as_the_eval_harness_does(client: TestClient) -> None:
    """eval's EndpointAnswerer posts {"question", "backend"} and validates an Answer."""
    response = client.post("/v1/ask", json={"question": QUESTION, "backend": "extractive"}, headers=AS_ADMIN)
    assert Answer.model_validate(response.json()).question == QUESTION


def test_ask_with_history_filters_and_top_k(client: TestClient) -> None:
    body = {
        "question": "And when is it?",
        "history": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "In Busan [1]."}],
        "top_k": 3,
        "filters": {"date_from": "2025-01-01"},
    }
    answer = Answer.model_validate(client.post("/v1/ask", json=body, headers=AS_ADMIN).json())
    assert "follow-up" in answer.standalone_question


@pytest.mark.parametrize("how", ["body", "accept"])
def test_ask_stream_sse(client: TestClient, how: str) -> None:
    body: dict[str, Any] = {"question": QUESTION}
    headers = dict(AS_ADMIN)
    if how == "body":
        body["stream"] = True
    else:
        headers["Accept"] = "text/event-stream"
    with client.stream("POST", "/v1/ask", json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"]
        events = parse_sse(response.read().decode())
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "done", names
    assert set(names[1:-1]) == {"delta"} and len(names) >= 3, names
    passages = [Citation.model_validate(c) for c in events[0][1]["citations"]]
    assert [p.n for p in passages] == list(range(1, len(passages) + 1))
    assert all(p.quote and p.title and p.article_id for p in passages)
    draft = "".join(data["text"] for name, data in events if name == "delta")
    answer = Answer.model_validate(events[-1][1])
    assert draft.strip() and answer.text and answer.citations
    # Every verified citation points into a passage announced up front.
    announced = {p.article_id for p in passages}
    assert {c.article_id for c in answer.citations} <= announced


def test_ask_stream_errors_before_streaming_are_plain_problems(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "   ", "stream": True}, headers=AS_ADMIN)
    assert_problem(response, 422, "question")


def test_abstains_when_the_articles_dont_say(client: TestClient) -> None:
    response = client.post(
        "/v1/ask", json={"question": "What is the boiling point of liquid nitrogen on Mars?"}, headers=AS_ADMIN
    )
    assert Answer.model_validate(response.json()).abstained


# --- OpenAI-compatible chat ----------------------------------------------------------------
def test_chat_completion(client: TestClient) -> None:
    body = {"model": "byline", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]}
    response = client.post("/v1/chat/completions", json=body, headers=AS_PUBLIC)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["object"] == "chat.completion" and data["model"] == "byline"
    content = data["choices"][0]["message"]["content"]
    assert data["choices"][0]["finish_reason"] == "stop"
    assert "\n\nSources:\n[1] " in content and "“" in content
    citations = [Citation.model_validate(c) for c in data["citations"]]
    assert citations and citations[0].n == 1


def test_chat_completion_stream(client: TestClient) -> None:
    body = {
        "model": "byline-extractive",
        "messages": [{"role": "user", "content": QUESTION}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with client.stream("POST", "/v1/chat/completions", json=body, headers=AS_PUBLIC) as response:
        assert response.status_code == 200
        events = parse_sse(response.read().decode())
    assert events[-1] == ("message", "[DONE]")
    chunks = [data for _, data in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "Sources:\n[1]" in content
    final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop")
    assert final["citations"]
    assert "usage" in chunks[-1] and chunks[-1]["choices"] == []


def test_chat_history_and_bad_conversations(client: TestClient) -> None:
    body = {
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "In Busan [1].\n\nSources:\n[1] Some title: “a quote”"},
            {"role": "user", "content": [{"type": "text", "text": "And when?"}]},
        ]
    }
    assert client.post("/v1/chat/completions", json=body, headers=AS_PUBLIC).status_code == 200
    ends_with_assistant = {"messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "x"}]}
    assert_problem(client.post("/v1/chat/completions", json=ends_with_assistant, headers=AS_PUBLIC), 422)
    unknown_model = {"model": "gpt-9", "messages": [{"role": "user", "content": QUESTION}]}
    body404 = assert_problem(client.post("/v1/chat/completions", json=unknown_model, headers=AS_PUBLIC), 404)
    assert "byline-extractive" in body404["hint"]
    assert_problem(client.post("/v1/chat/completions", json={"messages": []}, headers=AS_PUBLIC), 422, "messages")


def test_models_are_the_enabled_backends(client: TestClient) -> None:
    """An extractive server offers `byline` (its default) and `byline-extractive`; the local
    model and OpenAI aren't enabled, so they are neither listed nor selectable."""
    data = client.get("/v1/models", headers=AS_PUBLIC).json()
    assert data["object"] == "list"
    assert [m["id"] for m in data["data"]] == ["byline", "byline-extractive"]
    assert client.get("/v1/models/byline-extractive", headers=AS_PUBLIC).json()["id"] == "byline-extractive"
    for model in ("nope", "byline-local", "byline-openai"):
        assert "byline-extractive" in assert_problem(client.get(f"/v1/models/{model}", headers=AS_PUBLIC), 404)["hint"]
    local = client.post("/v1/ask", json={"question": QUESTION, "backend": "local"}, headers=AS_ADMIN)
    assert "not enabled" in assert_problem(local, 422)["detail"]


def test_official_openai_client_in_process(client: TestClient) -> None:
    """The `openai` package over the in-process transport (the uvicorn test does it over TCP)."""
    from openai import OpenAI

    oai = OpenAI(base_url="http://testserver/v1", api_key=PUBLIC, http_client=client, max_retries=0)
    completion = oai.chat.completions.create(model="byline", messages=[{"role": "user", "content": QUESTION}])
    assert "Sources:" in (completion.choices[0].message.content or "")
    stream = oai.chat.completions.create(
        model="byline", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "Sources:\n[1]" in text
    assert [m.id for m in oai.models.list()][0] == "byline"


# --- search ----------------------------------------------------------------------------------
def test_search(client: TestClient) -> None:
    response = client.post("/v1/search", json={"query": "APEC summit South Korea", "top_k": 3}, headers=AS_PUBLIC)
    assert response.status_code == 200, response.text
    hits = [Hit.model_validate(h) for h in response.json()["hits"]]
    assert 1 <= len(hits) <= 3 and hits[0].chunk.text
    filtered = client.post(
        "/v1/search",
        json={"query": "APEC", "filters": {"article_ids": [hits[0].chunk.article_id]}},
        headers=AS_PUBLIC,
    ).json()["hits"]
    assert {h["chunk"]["article_id"] for h in filtered} == {hits[0].chunk.article_id}
    bad = {"query": "APEC", "filters": {"date_from": "2025-12-01", "date_to": "2025-01-01"}}
    assert_problem(client.post("/v1/search", json=bad, headers=AS_PUBLIC), 422, "filters")


# --- documents ------------------------------------------------------------------------------
FACT = "The Vellmar lighthouse was repainted cobalt blue on 3 March 2025, the harbour board said."


def test_documents_crud(client: TestClient) -> None:
    doc = {"id": "vellmar-lighthouse", "title": "Vellmar lighthouse repainted", "text": FACT, "source": "Coast Post", "date": "2025-03-04"}
    first = client.post("/v1/documents", json=doc, headers=AS_ADMIN)
    assert first.status_code == 200, first.text
    report = IngestReport.model_validate(first.json())
    assert report.added == ["vellmar-lighthouse"] and report.chunks_written >= 1
    again = IngestReport.model_validate(client.post("/v1/documents", json=doc, headers=AS_ADMIN).json())
    assert again.unchanged == ["vellmar-lighthouse"] and again.embeddings_computed == 0

    listed = client.get("/v1/documents", headers=AS_ADMIN).json()
    ids = [d["id"] for d in listed["documents"]]
    assert "vellmar-lighthouse" in ids and listed["total"] == len(ids) >= 6
    assert client.get("/v1/documents?limit=2&offset=1", headers=AS_ADMIN).json()["documents"] == listed["documents"][1:3]

    detail = client.get("/v1/documents/vellmar-lighthouse", headers=AS_ADMIN).json()
    assert detail["title"] == "Vellmar lighthouse repainted" and detail["source"] == "Coast Post"
    assert detail["date"] == "2025-03-04" and detail["chunks"][0]["text"] == FACT

    answer = Answer.model_validate(
        client.post("/v1/ask", json={"question": "What colour was the Vellmar lighthouse repainted?"}, headers=AS_ADMIN).json()
    )
    assert "cobalt blue" in answer.text
    assert any(c.article_id == "vellmar-lighthouse" for c in answer.citations)

    changed = {**doc, "text": FACT + " The work cost 40,000 euros."}
    updated = IngestReport.model_validate(client.post("/v1/documents", json=changed, headers=AS_ADMIN).json())
    assert updated.updated == ["vellmar-lighthouse"]

    deleted = client.delete("/v1/documents/vellmar-lighthouse", headers=AS_ADMIN)
    assert deleted.json()["id"] == "vellmar-lighthouse" and deleted.json()["chunks_deleted"] >= 1
    assert_problem(client.get("/v1/documents/vellmar-lighthouse", headers=AS_ADMIN), 404)
    assert_problem(client.delete("/v1/documents/vellmar-lighthouse", headers=AS_ADMIN), 404)


def test_document_without_id_gets_a_stable_one(client: TestClient) -> None:
    doc = {"text": "The Orrin ferry now leaves at 7:15 every weekday, the operator said."}
    first = client.post("/v1/documents", json=doc, headers=AS_ADMIN).json()
    second = client.post("/v1/documents", json=doc, headers=AS_ADMIN).json()
    assert first["articles"] == second["articles"] and second["unchanged"] == first["articles"]
    client.delete(f"/v1/documents/{first['articles'][0]}", headers=AS_ADMIN)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("tarn-bridge.md", b"# Tarn bridge closes\n\nThe Tarn bridge closes for repairs on Friday, the council said.\n"),
        (
            "tarn-bridge.html",
            b"<html><head><title>Tarn bridge closes</title></head><body><p>The Tarn bridge closes for "
            b"repairs on Friday, the council said.</p></body></html>",
        ),
        ("tarn-bridge.jsonl", b'{"id": "tarn-bridge", "title": "Tarn bridge closes", "text": "The Tarn bridge closes on Friday."}\n'),
    ],
)
def test_document_upload(client: TestClient, name: str, content: bytes) -> None:
    response = client.post("/v1/documents", files={"file": (name, content)}, headers=AS_ADMIN)
    assert response.status_code == 200, response.text
    article_id = response.json()["articles"][0]
    assert response.json()["added"] == [article_id]
    assert client.get(f"/v1/documents/{article_id}", headers=AS_ADMIN).json()["title"] == "Tarn bridge closes"
    client.delete(f"/v1/documents/{article_id}", headers=AS_ADMIN)


def test_document_upload_errors(client: TestClient) -> None:
    pdf = client.post("/v1/documents", files={"file": ("scan.pdf", b"%PDF-1.4")}, headers=AS_ADMIN)
    assert "can't read a .pdf file" in assert_problem(pdf, 415)["detail"]
    binary = client.post("/v1/documents", files={"file": ("x.txt", b"\x00\x01\x02")}, headers=AS_ADMIN)
    assert "binary" in assert_problem(binary, 422)["detail"]
    no_file = client.post("/v1/documents", data={"other": "x"}, files={"x": ("a.txt", b"a")}, headers=AS_ADMIN)
    assert_problem(no_file, 422, "file")
    assert_problem(client.post("/v1/documents", json={"title": "no text"}, headers=AS_ADMIN), 422, "text")
    wrong_type = client.post("/v1/documents", content=b"hello", headers={**AS_ADMIN, "Content-Type": "text/plain"})
    assert_problem(wrong_type, 415)


# --- keys, origins, CORS -------------------------------------------------------------------
def test_keys_are_required(client: TestClient) -> None:
    missing = client.post("/v1/ask", json={"question": QUESTION})
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.post("/v1/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(client.get("/v1/documents"), 401)
    # Auth comes before validation: an invalid body without a key is a 401, not a 422.
    assert_problem(client.post("/v1/ask", json={"question": ""}), 401)


def test_public_keys_cant_touch_documents(client: TestClient) -> None:
    for key in (PUBLIC, WIDGET):
        headers = {"Authorization": f"Bearer {key}"}
        assert_problem(client.get("/v1/documents", headers=headers), 403)
        assert_problem(client.post("/v1/documents", json={"text": "x"}, headers=headers), 403)
        assert_problem(client.delete("/v1/documents/000_602e51685fe81370", headers=headers), 403)
    assert client.post("/v1/ask", json={"question": QUESTION}, headers=AS_PUBLIC).status_code == 200


def test_origin_bound_key_and_cors(client: TestClient) -> None:
    headers = {"X-API-Key": WIDGET}
    allowed = client.post("/v1/ask", json={"question": QUESTION}, headers={**headers, "Origin": SITE})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()

    elsewhere = client.post("/v1/ask", json={"question": QUESTION}, headers={**headers, "Origin": "https://evil.example"})
    assert "evil.example" in assert_problem(elsewhere, 403)["detail"]
    assert "access-control-allow-origin" not in elsewhere.headers

    preflight = client.options(
        "/v1/ask",
        headers={
            "Origin": OTHER_SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == OTHER_SITE
    bad_preflight = client.options(
        "/v1/ask", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in bad_preflight.headers


# --- limits ------------------------------------------------------------------------------
def test_body_too_large(client: TestClient) -> None:
    huge = {"question": "x" * 100_000}
    declared = client.post("/v1/ask", json=huge, headers=AS_ADMIN)
    assert "64000 bytes" in assert_problem(declared, 413)["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed size is what counts
        yield b'{"question": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}'

    streamed = client.post("/v1/ask", content=chunks(), headers={**AS_ADMIN, "Content-Type": "application/json"})
    assert_problem(streamed, 413)


def test_upload_too_large(client: TestClient) -> None:
    big = b"The harbour reopened. " * 5000  # 110 KB > max_file_bytes = 50 KB
    upload = client.post("/v1/documents", files={"file": ("big.txt", big)}, headers=AS_ADMIN)
    assert "limit is 50000" in assert_problem(upload, 413)["detail"]
    as_json = client.post("/v1/documents", json={"text": big.decode()}, headers=AS_ADMIN)
    assert_problem(as_json, 413)
    way_too_big = client.post("/v1/documents", files={"file": ("big.txt", big * 12)}, headers=AS_ADMIN)
    assert_problem(way_too_big, 413)  # past the upload body limit: refused before parsing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": QUESTION, "top_k": 0}, "top_k"),
        ({"question": QUESTION, "top_k": 51}, "top_k"),
        ({"question": QUESTION, "history": [{"role": "user", "content": "hi"}] * 21}, "history"),
        ({"question": QUESTION, "history": [{"role": "user", "content": "x" * 4001}]}, "history.0.content"),
        ({"question": QUESTION, "history": [{"role": "system", "content": "x"}]}, "history.0.role"),
        ({"question": QUESTION, "backend": "gpt"}, "backend"),
        ({"question": QUESTION, "topk": 3}, "topk"),
        ({}, "question"),
    ],
)
def test_validation_errors_name_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    assert_problem(client.post("/v1/ask", json=body, headers=AS_ADMIN), 422, field)


def test_malformed_json(client: TestClient) -> None:
    response = client.post("/v1/ask", content=b'{"question": ', headers={**AS_ADMIN, "Content-Type": "application/json"})
    assert "JSON" in assert_problem(response, 422)["detail"]


def test_rate_limit(tmp_path: Path) -> None:
    """A tiny limit: the burst passes, the next request is 429 with Retry-After, per key+IP;
    admin keys are not limited. (/v1/models needs no pipeline, so no lifespan here.)"""
    settings = make_settings(
        tmp_path / "data", admin_keys=ADMIN, public_keys=f"{PUBLIC},{WIDGET}", rate_limit_per_minute=1, rate_limit_burst=2
    )
    c = TestClient(create_app(settings))
    assert [c.get("/v1/models", headers=AS_PUBLIC).status_code for _ in range(2)] == [200, 200]
    limited = c.get("/v1/models", headers=AS_PUBLIC)
    body = assert_problem(limited, 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60 and body["retry_after"] == int(limited.headers["retry-after"])
    assert c.get("/v1/models", headers={"X-API-Key": WIDGET}).status_code == 200  # another key: its own bucket
    assert all(c.get("/v1/models", headers=AS_ADMIN).status_code == 200 for _ in range(5))
    assert 'byline_rejected_total{reason="rate_limited"} 1.0' in c.get("/metrics").text


def test_rate_limit_without_keys_is_per_ip(tmp_path: Path) -> None:
    c = TestClient(create_app(make_settings(tmp_path / "data", rate_limit_per_minute=1, rate_limit_burst=1)))
    assert c.get("/v1/models").status_code == 200
    assert_problem(c.get("/v1/models"), 429)
    local = TestClient(create_app(make_settings(tmp_path / "data2", rate_limit_per_minute=1, rate_limit_burst=1)), client=("127.0.0.1", 5000))
    assert all(local.get("/v1/models").status_code == 200 for _ in range(3))  # open + loopback: a local tool


def test_worker_timeout_keeps_the_slot_until_the_thread_ends() -> None:
    import asyncio

    from service.errors import RequestTimedOut
    from service.work import run_blocking

    released: list[float] = []

    async def scenario() -> float:
        started = time.monotonic()
        with pytest.raises(RequestTimedOut):
            await run_blocking(lambda: time.sleep(0.3), timeout_s=0.05, on_done=lambda: released.append(time.monotonic()))
        answered = time.monotonic() - started
        assert not released  # the thread is still running: its slot is still held
        await asyncio.sleep(0.5)
        return answered

    answered_after = asyncio.run(scenario())
    assert answered_after < 0.2 and len(released) == 1


# --- observability ------------------------------------------------------------------------
def test_request_id(client: TestClient) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": "trace-abc.123"})
    assert echoed.headers["x-request-id"] == "trace-abc.123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["x-request-id"] != "bad id with spaces" and len(replaced.headers["x-request-id"]) == 32
    problem = client.post("/v1/ask", json={}, headers={**AS_ADMIN, "X-Request-ID": "req-42"})
    assert problem.json()["request_id"] == "req-42"


def test_access_log_is_structured_and_keyless(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    from service.logs import JsonFormatter

    with caplog.at_level(logging.INFO, logger="byline"):
        client.post("/v1/ask", json={"question": QUESTION}, headers={**AS_ADMIN, "X-Request-ID": "log-me"})
    records = [r for r in caplog.records if r.name == "byline.access" and getattr(r, "request_id", None) == "log-me"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "log-me" and line["status"] == 200 and line["route"] == "/v1/ask"
    assert line["principal"].startswith("admin:")
    assert ADMIN not in caplog.text


def test_unexpected_error_is_a_bare_500(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(make_settings(tmp_path / "data"))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    with caplog.at_level(logging.ERROR, logger="byline"):
        response = TestClient(app).get("/boom", headers={"X-Request-ID": "boom-1"})
    assert assert_problem(response, 500)["title"] == "Internal error"
    assert "secret" not in response.text and "passwd" not in response.text
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "boom-1" and r.exc_info]
    assert logged and "secret internals" in caplog.text


def test_metrics(client: TestClient) -> None:
    client.post("/v1/ask", json={"question": QUESTION}, headers=AS_ADMIN)
    client.post("/v1/ask", json={"question": "What is the boiling point of liquid nitrogen on Mars?"}, headers=AS_ADMIN)
    text = client.get("/metrics").text
    for name in (
        'byline_http_requests_total{method="POST",route="/v1/ask",status="200"}',
        "byline_http_request_duration_seconds_bucket",
        'byline_retrieval_seconds_count{backend="extractive"}',
        'byline_generation_seconds_count{backend="extractive"}',
        'byline_abstentions_total{backend="extractive"}',
        'byline_answers_total{backend="extractive"}',
        'byline_queue_depth{backend="extractive"} 0.0',
        "byline_ready 1.0",
    ):
        assert name in text, name
    assert 'route="/v1/documents/{document_id}"' in text or "documents" not in text
    client.get("/no/such/route/12345")
    assert "12345" not in client.get("/metrics").text  # unmatched paths don't become labels


# --- docs and schema ----------------------------------------------------------------------
def test_docs_work_offline(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "cdn" not in html.lower() and "https://" not in html, html
        for asset in [part.split('"')[0] for part in html.split('src="')[1:]] + [
            part.split('"')[0] for part in html.split('href="')[1:]
        ]:
            assert asset.startswith("/docs-assets/"), asset
            fetched = client.get(asset)
            assert fetched.status_code == 200 and len(fetched.content) > 1000, asset


def test_openapi_describes_every_route_and_its_errors(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    expected = {
        ("/v1/ask", "post"),
        ("/v1/chat/completions", "post"),
        ("/v1/models", "get"),
        ("/v1/models/{model_id}", "get"),
        ("/v1/search", "post"),
        ("/v1/documents", "post"),
        ("/v1/documents", "get"),
        ("/v1/documents/{document_id}", "get"),
        ("/v1/documents/{document_id}", "delete"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    }
    assert {(p, m) for p, ops in paths.items() for m in ops} == expected
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, method in expected - {("/healthz", "get")}:
        errors = {code: r for code, r in paths[path][method]["responses"].items() if code >= "400"}
        assert errors, (path, method)
        for response in errors.values():
            assert response["content"] == {"application/problem+json": {"schema": problem_ref}}, (path, method)
    assert "Problem" in schema["components"]["schemas"]
    upload = paths["/v1/documents"]["post"]["requestBody"]["content"]
    assert set(upload) == {"application/json", "multipart/form-data"}
    assert schema["components"]["schemas"]["AskRequest"]["properties"]["question"]["maxLength"] == 2000


# --- schemathesis -------------------------------------------------------------------------
def test_openapi_contract_holds(fuzz_app: FastAPI) -> None:
    """The published schema is the contract: no 5xx, no undocumented status, header or
    media type, every response (SSE events too) as documented, wrong types refused,
    schema-valid input accepted (but for the rules in words), 405s whose Allow lists every
    method of the path; every error as problem+json."""
    run = run_schemathesis(fuzz_app, max_examples=10, seed=QUICK_SEED)
    assert run.cases >= 400, run.summary()  # every phase ran, not only the examples
    run.assert_clean()


def test_unreachable_store_is_not_ready_and_retried(tmp_path: Path) -> None:
    """A Chroma server that isn't up (yet): /readyz says why, the load is retried, and
    shutting down doesn't wait for the retries."""
    settings = make_settings(tmp_path / "data", chroma_host="127.0.0.1", chroma_port=free_port())
    started = time.monotonic()
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 30
        while "retrying" not in (body := c.get("/readyz").json())["detail"]:
            assert time.monotonic() < deadline, body
            time.sleep(0.05)
        assert body["status"] == 503 and "unreachable" in body["detail"] and "CHROMA_HOST" in body["hint"]
        assert_problem(c.post("/v1/search", json={"query": "x"}), 503)
        assert c.get("/healthz").status_code == 200
    assert time.monotonic() - started < 20
