"""`byline --version` and `byline doctor`: what is installed, where the data is, whether the
store answers, whether every model file is there and intact, what would download (nothing)
— and exit 1 when something is broken. Doctor never joins or loads the local model."""

from __future__ import annotations

import importlib.metadata as md
import json
import time
from pathlib import Path
from typing import Any

import pytest
from support.net import free_port

from rag.config import Settings
from rag.doctor import Check, failed, run_checks


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_version(run_byline: Any) -> None:
    result = run_byline("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"byline {md.version('byline')}"


def test_doctor_cli_on_a_fresh_data_dir(tmp_path: Path, run_byline: Any) -> None:
    data = tmp_path / "data"
    started = time.monotonic()
    result = run_byline("doctor", "--json", env={"BYLINE_DATA_DIR": str(data), "BYLINE_LLM_BACKEND": "local"})
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is True
    assert checks["byline"]["detail"].startswith(md.version("byline"))
    assert "chromadb" in checks["packages"]["detail"] and "llama-index-core" in checks["packages"]["detail"]
    assert checks["data dir"]["status"] == "ok" and str(data) in checks["data dir"]["detail"]
    assert checks["store"]["status"] == "warn" and "does not exist yet" in checks["store"]["detail"]
    assert checks["samples"]["status"] == "ok" and "5 sample articles" in checks["samples"]["detail"]
    assert checks["embeddings"]["status"] == "ok" and "model.onnx" in checks["embeddings"]["detail"]
    assert checks["backends"]["detail"].startswith("default local")
    assert checks["downloads"] == {
        "name": "downloads",
        "status": "ok",
        "detail": "nothing is downloaded at run time (models, tokenizers and data are on disk)",
    }
    # The local model is checked, not joined (1.1 GB) or loaded: nothing was written.
    assert checks["local model"]["status"] in ("ok", "fail")
    assert not data.exists()
    assert elapsed < 30

    human = run_byline("doctor", env={"BYLINE_DATA_DIR": str(data)})
    assert human.returncode == 0
    assert "downloads" in human.stdout and "nothing is downloaded at run time" in human.stdout


def test_doctor_counts_a_seeded_store(settings: Settings, seeds_dir: Path, pipeline_factory: Any) -> None:
    pipeline = pipeline_factory(settings)
    pipeline.ingest([seeds_dir])
    pipeline.close()  # doctor opens the embedded store itself
    store = _by_name(run_checks(settings))["store"]
    assert store.status == "ok", store
    assert "5 articles" in store.detail and str(settings.chroma_path) in store.detail


def test_doctor_does_not_wait_for_a_store_in_use(
    settings: Settings, seeds_dir: Path, pipeline_factory: Any, run_byline: Any
) -> None:
    owner = pipeline_factory(settings)
    owner.ingest([seeds_dir])  # holds the embedded store's lock, as `byline serve` does
    started = time.monotonic()
    result = run_byline("doctor", "--json", env={"BYLINE_DATA_DIR": str(settings.data_dir), "BYLINE_LLM_BACKEND": "extractive"})
    assert time.monotonic() - started < 25  # the store lock's own timeout is 30 s
    assert result.returncode == 0, result.stdout
    store = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["store"]
    assert store["status"] == "warn" and "in use by process" in store["detail"]


def test_doctor_fails_on_what_is_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Settings(
        data_dir=tmp_path / "data",
        llm_backend="local",
        local_model_path=tmp_path / "missing.gguf",
        seeds_dir=tmp_path / "no-seeds",
    )
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    checks = run_checks(broken)
    found = _by_name(checks)
    assert failed(checks)
    assert found["local model"].status == "fail" and "missing.gguf is not a file" in found["local model"].detail
    assert found["downloads"].status == "fail" and "tiktoken's cl100k_base" in found["downloads"].detail
    assert found["samples"].status == "warn" and "no sample articles" in found["samples"].detail

    # The same model path on another backend is not needed, so not a failure.
    relaxed = _by_name(run_checks(broken.model_copy(update={"llm_backend": "extractive"})))
    assert relaxed["local model"].status == "info"


def test_doctor_on_a_chroma_server(server_settings: Settings) -> None:
    reachable = _by_name(run_checks(server_settings))["store"]
    assert reachable.status == "warn" and "(reachable)" in reachable.detail and "is empty" in reachable.detail

    down = server_settings.model_copy(update={"chroma_port": free_port(), "chroma_timeout_s": 2.0})
    checks = run_checks(down)
    store = _by_name(checks)["store"]
    assert store.status == "fail" and "unreachable" in store.detail
    assert failed(checks)
