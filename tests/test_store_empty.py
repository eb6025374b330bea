"""An empty store says so — in the pipeline, over HTTP and on the command line — instead of
answering every question with "The articles don't say."; `/readyz` and `byline stats`
show what is stored and where."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from rag.config import Settings
from rag.errors import StoreEmpty
from rag.types import Answer, SearchFilters
from service.main import create_app

QUESTION = "Where will Trump and Xi meet?"
ARTICLE = {
    "id": "quillon-canal",
    "title": "Quillon canal reopens",
    "text": "The Quillon canal reopened to barges on 12 May 2025 after a dredging project that cost 9 million euros.",
    "source": "Canal Gazette",
}


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def no_seeds(tmp_path: Path) -> Path:
    """A seeds folder with nothing in it: the first start has nothing to ingest."""
    path = tmp_path / "no-seeds"
    path.mkdir()
    return path


def test_pipeline_on_an_empty_store_raises_store_empty(
    tmp_path: Path, no_seeds: Path, seeds_dir: Path, pipeline_factory: Any
) -> None:
    data = tmp_path / "data"
    pipeline = pipeline_factory(Settings(data_dir=data, seeds_dir=no_seeds, llm_backend="extractive"))
    report = pipeline.ensure_seeded()
    assert report is not None and report.added == []
    status = pipeline.store_status()
    assert (status.articles, status.chunks, status.kind, status.data_dir) == (0, 0, "embedded", data)

    calls = {
        "ask": lambda: pipeline.ask(QUESTION),
        "ask_stream": lambda: list(pipeline.ask_stream(QUESTION)),
        "search": lambda: pipeline.search(QUESTION),
        "retrieve": lambda: pipeline.retrieve(QUESTION),
    }
    for name, call in calls.items():
        with pytest.raises(StoreEmpty) as raised:
            call()
        message = str(raised.value)
        assert "the store is empty" in message, name
        assert f"data dir {data}" in message and "collection 'byline'" in message
        assert "byline ingest PATH" in message and "POST /v1/documents" in message
        assert f"no bundled sample articles were found at {no_seeds}" in message
        assert raised.value.status_code == 409

    pipeline.ingest([seeds_dir])
    status = pipeline.store_status()
    assert status.articles == 5 and status.chunks > 5
    assert not pipeline.ask(QUESTION).abstained
    # A filter that matches nothing in a store that holds articles still abstains.
    nothing = SearchFilters(sources=["No Such Outlet"])
    answer = pipeline.ask(QUESTION, filters=nothing)
    assert answer.abstained and answer.citations == []
    assert pipeline.search(QUESTION, filters=nothing) == []


def test_store_empty_hint_names_the_samples_when_they_exist(tmp_path: Path, seeds_dir: Path, pipeline_factory: Any) -> None:
    """After every article was deleted the bundled samples are still there to load."""
    pipeline = pipeline_factory(Settings(data_dir=tmp_path / "data", seeds_dir=seeds_dir, llm_backend="extractive"))
    error = pipeline.empty_store_error()
    assert "`byline ingest` with no path loads the 5 bundled sample articles" in str(error)


def _wait_ready(client: TestClient, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        time.sleep(0.05)
    raise AssertionError(f"not ready after {timeout_s}s: {client.get('/readyz').text}")


def _assert_store_empty(response: Any, data: Path) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["title"] == "Store empty" and body["type"] == "urn:byline:problem:store-empty"
    assert "the store is empty" in body["detail"] and str(data) in body["detail"]
    assert "byline ingest" in body["hint"] and "POST /v1/documents" in body["hint"]
    assert "retry-after" not in response.headers  # waiting does not fill it
    return body


def test_http_on_an_empty_store(tmp_path: Path, no_seeds: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data,
        seeds_dir=no_seeds,
        llm_backend="extractive",
        embed_threads=2,
    )
    with caplog.at_level(logging.INFO, logger="byline"), TestClient(create_app(settings)) as client:
        ready = _wait_ready(client)
        assert ready["status"] == "ready" and ready["store"] == "embedded"
        assert (ready["articles"], ready["chunks"]) == (0, 0)
        assert ready["data_dir"] == str(data) and ready["collection"] == "byline"
        assert "the store is empty" in ready["warning"] and "byline ingest" in ready["warning"]
        logged = [r.getMessage() for r in caplog.records if r.name == "byline.service"]
        assert any("the store is empty" in m and str(data) in m for m in logged), logged

        _assert_store_empty(client.post("/v1/ask", json={"question": QUESTION}), data)
        streamed = client.post("/v1/ask", json={"question": QUESTION, "stream": True})
        _assert_store_empty(streamed, data)
        chat = {"model": "byline", "messages": [{"role": "user", "content": QUESTION}]}
        _assert_store_empty(client.post("/v1/chat/completions", json=chat), data)
        _assert_store_empty(client.post("/v1/search", json={"query": QUESTION}), data)

        added = client.post("/v1/documents", json=ARTICLE)
        assert added.status_code in (200, 201), added.text
        ready = client.get("/readyz").json()
        assert ready["articles"] == 1 and ready["chunks"] >= 1 and ready["warning"] is None
        answer = client.post("/v1/ask", json={"question": "When did the Quillon canal reopen?"})
        assert answer.status_code == 200, answer.text
        assert Answer.model_validate(answer.json()).citations

        assert client.delete(f"/v1/documents/{ARTICLE['id']}").status_code == 200
        assert client.get("/readyz").json()["articles"] == 0
        _assert_store_empty(client.post("/v1/ask", json={"question": QUESTION}), data)


def test_cli_on_an_empty_store(tmp_path: Path, no_seeds: Path, seeds_dir: Path, run_byline: Any) -> None:
    data = tmp_path / "data"
    env = {"BYLINE_DATA_DIR": str(data), "BYLINE_SEEDS_DIR": str(no_seeds), "BYLINE_LLM_BACKEND": "extractive"}

    asked = run_byline("ask", QUESTION, env=env)
    assert asked.returncode == 1, asked.stdout + asked.stderr
    err = _flat(asked.stderr)
    assert "error: the store is empty" in err and f"data dir {data}" in err
    assert "byline ingest PATH" in err and "Traceback" not in asked.stderr
    assert "The articles don't say" not in asked.stdout

    stats = run_byline("stats", env=env)
    assert stats.returncode == 0, stats.stderr
    out = _flat(stats.stdout)
    assert f"data dir {data}" in out and "the store is empty" in out and "byline ingest" in out
    summary = json.loads(run_byline("stats", "--json", env=env).stdout)
    assert summary["data_dir"] == str(data)
    assert (summary["article_count"], summary["chunk_count"], summary["articles"]) == (0, 0, [])

    assert run_byline("ingest", seeds_dir, env=env).returncode == 0
    summary = json.loads(run_byline("stats", "--json", env=env).stdout)
    assert summary["article_count"] == 5 and summary["chunk_count"] == sum(r["chunks"] for r in summary["articles"])
    answered = run_byline("ask", "--json", QUESTION, env=env)
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["citations"]


def test_cli_first_run_seeds_and_says_so(tmp_path: Path, run_byline: Any) -> None:
    data = tmp_path / "data"
    asked = run_byline("ask", "--json", QUESTION, env={"BYLINE_DATA_DIR": str(data), "BYLINE_LLM_BACKEND": "extractive"})
    assert asked.returncode == 0, asked.stderr
    assert "the store was empty: ingested 5 sample articles" in _flat(asked.stderr)
    answer = Answer.model_validate_json(asked.stdout)  # stdout stays pure JSON
    assert answer.citations and not answer.abstained
