"""Keeps the benchmark suite working: the whole `python -m benchmarks --quick` pipeline on
tiny sizes (ingest + retrieval with the llama-index baseline, extractive answers, HTTP under
load with one and two workers). The numbers live in BENCHMARKS.md, never in assertions
about speed: this only checks that every part ran, measured something and rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_quick_benchmark_run_writes_report_json_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--sizes", "120", "--baseline-max", "120",
         "--queries", "5", "--answer-questions", "2", "--http-duration", "1", "--clients", "1,2",
         "--out-dir", str(out)],
        check=True, cwd=PROJECT_ROOT, timeout=600,
    )  # fmt: skip
    (json_path,) = (out / "results").glob("bench-*.json")
    result = json.loads(json_path.read_text())
    seeds, generated = result["scale"]
    assert seeds["corpus"] == "seeds" and seeds["ingest"]["chunks_written"] == seeds["chunks"] > 0
    assert generated["chunks"] >= 120 and generated["ingest"]["stored"] == generated["chunks"]
    for row in (seeds, generated):
        assert row["ingest"]["reingest_embeddings"] == 0  # unchanged corpus: nothing re-embedded
        assert row["retrieval"]["hybrid_ms"]["n"] == row["retrieval"]["queries"] > 78
        # llama-index's default recipe has no idempotence: its re-run duplicates every record.
        assert row["llamaindex"]["stored_after_rerun"] == 2 * row["llamaindex"]["nodes"]
    assert generated["ingest"]["update_1pct_embeddings"] > 0
    assert result["answers"]["extractive"]["total_s"]["n"] == 2
    http = result["http"]
    runs = http["runs"] + [r for r in http["workers"] if "requests" in r]
    assert {(r["path"], r.get("workers", 1), r["clients"]) for r in runs} >= {
        ("/v1/search", 1, 1), ("/v1/ask", 1, 2), ("/v1/search", 2, 2), ("/v1/ask", 2, 2),
    }  # fmt: skip
    assert all(r["errors"]["unexpected"] == 0 for r in runs), runs
    assert sum(r["requests"] for r in runs) > 0
    markdown = (out / "BENCHMARKS.md").read_text()
    for heading in ("## Targets", "## Ingest", "## Retrieval", "## Answers", "## HTTP under load"):
        assert heading in markdown
    assert (out / "results" / "scaling.png").stat().st_size > 10_000
