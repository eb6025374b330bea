"""Keeps the benchmark script working (a tiny run); the numbers themselves live in
BENCHMARKS.md, never in assertions about speed."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.answers import run

pytestmark = pytest.mark.slow


def test_answer_benchmark_runs(tmp_path: Path) -> None:
    result = run(limit=2, data_dir=tmp_path / "data")
    assert result["questions"] == 2
    local = result["local_answer_s"]
    assert isinstance(local, dict) and local["n"] == 2
