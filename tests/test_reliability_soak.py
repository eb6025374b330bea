"""A bounded soak (issue 8): a real `byline serve` under 16 closed-loop HTTP clients mixing
ask, search and ingest for BYLINE_SOAK_SECONDS (default 300 s), driven by the load
generator in its own process (`python -m benchmarks.loadgen`). Ingests are new articles
(at most 500 in the soak, so the store stays bounded whatever the machine's speed),
identical re-posts and new versions of earlier ones (each article touched by one client
only, so its final content is known).

Set-up: uvicorn on a free 127.0.0.1 port, data dir in tmp_path (the service ingests
seeds/ itself on first start), extractive backend, an admin key that every request carries.
The rate limit is switched off (BYLINE_RATE_LIMIT_PER_MINUTE=0; admin keys are exempt from
it anyway), so it can't trip. The generation queue keeps its defaults, so 503 +
Retry-After under a burst of asks is back-pressure by design: counted and reported, not
a failure.

What must hold afterwards:
- no unexpected errors: every non-2xx answer is a 429/503 carrying Retry-After, and there
  are no connection errors or timeouts;
- memory: the server's RSS (VmRSS of the process and its children, /proc) after a warm-up
  and at the end, written to `soak-report.json` in the test's tmp dir and printed; the
  only guard is a generous leak bound (end < start + 400 MB). No timing assertions;
- data exact: the store holds the seeds plus every article the load generator created,
  each once, with exactly the chunks a fresh ingest of its final version gives (the
  chunker's output for all of them, and a real ingest into a fresh store for a sample),
  and nothing else: no duplicates, no orphans, no chunk of a replaced version; new
  articles came back `added`, re-posts `unchanged`, new versions `updated`;
- gold answers unchanged: a fixed sample of 15 gold questions, asked on the extractive
  backend (deterministic) before the soak and after it, gets identical answers and
  citations (everything but timings and the `retrieved` list, which is reported).

Why the gold comparison is made after the soak's articles are deleted again. The soak's
articles are synthetic sports results and forecasts for invented towns whose vocabulary
shares no content term with any gold question (the first test checks it), so they can
never match a question in BM25 and never enter an answer. But they can still change an
answer legitimately, without anything being broken: BM25 weights terms by corpus
statistics (IDF, average chunk length), and on the seeds alone (≈30 chunks) a word like
"Trump" is in nearly every chunk and weighs ~0; after ≈1 500 unrelated chunks it weighs a
lot, so the BM25 order of the *seed* passages shifts, and with it the fused ranking and
the extractive answer (seen in a 300-s run: 1 of 15 answers gained a second sentence).
So the answers asked with the soak's articles present are compared and reported only.
Then every soak article is deleted through the API, the store must be exactly the seeds
again (same ids, same chunk counts), and the answers must be identical to those before:
whatever concurrent ingestion, re-posting and deletion did, it left no trace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.serve import ServeProcess

from benchmarks.loadgen import synthetic_vocabulary
from rag.config import Settings
from rag.text import content_terms

ROOT = Path(__file__).resolve().parents[1]
# Read at import: the autouse fixture in conftest.py clears BYLINE_* from the environment.
SOAK_SECONDS = float(os.environ.get("BYLINE_SOAK_SECONDS", "300"))
WARMUP_SECONDS = 15.0
CLIENTS = 16
MIX = "search=0.45,ask=0.45,ingest=0.1"
ADMIN = "soak-admin-key"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
GOLD_SAMPLE = 15
LEAK_GUARD_KB = 400 * 1024
FRESH_INGEST_SAMPLE = 100
# New articles in the soak; past it every ingest re-posts or updates one. It bounds the
# store, so the memory guard measures leaks, not a store that grows with the machine's speed
# (RSS grows by ≈0.2 MB per stored article: HNSW, BM25 and caches).
MAX_NEW_ARTICLES = 500


# --- the server ---------------------------------------------------------------------------


@pytest.fixture
def server(start_service: Callable[..., ServeProcess]) -> ServeProcess:
    """`byline serve` on the extractive backend, ready (the seeds ingested on first start),
    every request carrying the admin key, the rate limit off."""
    return start_service(
        "serve", {"BYLINE_ADMIN_KEYS": ADMIN, "BYLINE_RATE_LIMIT_PER_MINUTE": "0"}, timeout_s=120
    )


# --- memory ---------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc/<pid>/task/*/children (all threads)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def tree_rss_kb(pid: int) -> dict[str, int]:
    """VmRSS (kB) of `pid` and every descendant, by pid, plus their total."""
    by_pid: dict[str, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                by_pid[str(p)] = int(line.split()[1])
        todo.extend(_children(p))
    return {"total_kb": sum(by_pid.values()), **{f"pid_{p}": kb for p, kb in by_pid.items()}}


class RssSampler:
    """Samples the server's RSS every few seconds while the soak runs (for the report)."""

    def __init__(self, pid: int, every_s: float = 10.0) -> None:
        self.pid = pid
        self.every_s = every_s
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.samples.append((round(time.monotonic() - self._t0, 1), tree_rss_kb(self.pid)["total_kb"]))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- the load generator, as its own process -------------------------------------------------


def run_loadgen(
    server: ServeProcess, out_dir: Path, name: str, seconds: float, seed: int, max_new: int
) -> dict[str, Any]:
    json_out = out_dir / f"loadgen-{name}.json"
    articles_out = out_dir / f"loadgen-{name}-articles.jsonl"
    argv = [
        sys.executable, "-m", "benchmarks.loadgen",
        "--url", server.url,
        "--concurrency", str(CLIENTS),
        "--duration", str(seconds),
        "--mix", MIX,
        "--questions", str(ROOT / "eval" / "gold" / "qa.jsonl"),
        "--header", f"Authorization: Bearer {ADMIN}",
        "--seed", str(seed),
        "--id-prefix", f"soak-{name}",
        "--update-fraction", "0.1",
        "--max-new-articles", str(max_new),
        "--json-out", str(json_out),
        "--articles-out", str(articles_out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"loadgen failed ({done.returncode}):\n{done.stderr[-3000:]}"
    server.assert_running()  # it didn't die under load
    result: dict[str, Any] = json.loads(json_out.read_text())
    result["articles"] = [json.loads(line) for line in articles_out.read_text().splitlines() if line]
    result["stderr"] = done.stderr.strip()
    return result


# --- gold answers and the store ------------------------------------------------------------


def gold_sample() -> list[str]:
    rows = [
        json.loads(line) for line in (ROOT / "eval" / "gold" / "qa.jsonl").read_text().splitlines() if line
    ]
    return [r["question"] for r in rows[::5]][:GOLD_SAMPLE]


def ask_gold(http: httpx.Client, questions: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each answer without its timings, and apart from it the retrieved-articles list
    (which may legitimately gain a soak article in its tail: it is reported, not compared)."""
    answers, retrieved = {}, {}
    for q in questions:
        response = http.post("/v1/ask", json={"question": q, "backend": "extractive"})
        assert response.status_code == 200, response.text
        answer = response.json()
        answer.pop("timings", None)
        retrieved[q] = answer.pop("retrieved", None)
        answers[q] = answer
    return answers, retrieved


def list_documents(http: httpx.Client) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    while True:
        page = http.get("/v1/documents", params={"limit": 1000, "offset": len(documents)})
        assert page.status_code == 200, page.text
        body = page.json()
        documents.extend(body["documents"])
        if not body["documents"] or len(documents) >= body["total"]:
            assert len(documents) == body["total"]
            return documents


def chunk_rows(chunks: list[Any]) -> list[tuple[int, str, int, int]]:
    return sorted((c.index, c.text, c.start, c.end) for c in chunks)


def errors_line(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "by_design": result["errors"]["by_design"] + result["warmup"]["errors"]["by_design"],
        "unexpected": result["errors"]["unexpected"] + result["warmup"]["errors"]["unexpected"],
        "retry_after": result["errors"]["retry_after"],
    }


# --- the soak -------------------------------------------------------------------------------


def test_soak_articles_cannot_match_gold_questions() -> None:
    """The soak's articles are about something else entirely: not one content term
    (stemmed, stop words removed, as BM25 indexes them) is shared between the generator's
    whole vocabulary and any gold question, so no soak passage can match one in BM25."""
    vocabulary = set(content_terms(synthetic_vocabulary()))
    rows = [
        json.loads(line) for line in (ROOT / "eval" / "gold" / "qa.jsonl").read_text().splitlines() if line
    ]
    shared = {term for r in rows for term in content_terms(r["question"])} & vocabulary
    assert not shared, shared


@pytest.mark.slow
@pytest.mark.timeout(int(SOAK_SECONDS) + 900)
def test_soak_mixed_load(
    server: ServeProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str], pipeline_factory: Callable[..., Any]
) -> None:
    from rag.chunking import Chunker
    from rag.corpus import article_from_record
    from service.schemas import DocumentIn

    report: dict[str, Any] = {
        "soak_seconds": SOAK_SECONDS,
        "clients": CLIENTS,
        "mix": MIX,
        "rate_limit": "off (0)",
    }
    with httpx.Client(base_url=server.url, headers=AUTH, trust_env=False, timeout=120) as http:
        questions = gold_sample()
        before, retrieved_before = ask_gold(http, questions)
        seeds_before = {d["id"]: d["n_chunks"] for d in list_documents(http)}
        assert len(seeds_before) == 5, seeds_before  # the service ingested seeds/ on first start

        warm = run_loadgen(server, tmp_path, "warmup", WARMUP_SECONDS, seed=1, max_new=100)
        rss_start = tree_rss_kb(server.pid)
        with RssSampler(server.pid) as sampler:
            soak = run_loadgen(server, tmp_path, "soak", SOAK_SECONDS, seed=2, max_new=MAX_NEW_ARTICLES)
        rss_end = tree_rss_kb(server.pid)

        after, retrieved_after = ask_gold(http, questions)
        documents = list_documents(http)

        report.update(
            {
                "requests": soak["requests"],
                "requests_per_s": soak["requests_per_s"],
                "latency_ms": soak["latency_ms"],
                "status_codes": soak["status_codes"],
                "errors": {"warmup_run": errors_line(warm), "soak_run": errors_line(soak)},
                "per_kind": {
                    k: {
                        "requests": v["requests"],
                        "requests_per_s": v["requests_per_s"],
                        "p50_ms": v["latency_ms"]["p50"],
                        "p95_ms": v["latency_ms"]["p95"],
                        "status_codes": v["status_codes"],
                    }
                    for k, v in soak["per_kind"].items()
                },
                "rss_kb": {
                    "start": rss_start,
                    "end": rss_end,
                    "growth_kb": rss_end["total_kb"] - rss_start["total_kb"],
                },
                "rss_series_kb": sampler.samples,
                "articles_created": len(warm["ingest"]["created"]) + len(soak["ingest"]["created"]),
                "ingest_outcomes": {
                    action: dict(Counter(warm["ingest"]["outcomes"][action]) + Counter(counts))
                    for action, counts in soak["ingest"]["outcomes"].items()
                },
                "gold_questions": len(questions),
                "gold_answers_changed_with_soak_articles_present": sum(
                    before[q] != after[q] for q in questions
                ),
                "gold_retrieved_lists_changed_with_soak_articles_present": sum(
                    retrieved_before[q] != retrieved_after[q] for q in questions
                ),
                "loadgen_summary": {"warmup": warm["stderr"], "soak": soak["stderr"]},
                "timeline": soak["timeline"],
            }
        )
        server_errors = [
            line
            for line in server.log().splitlines()
            if '"level": "error"' in line or '"level": "critical"' in line
        ]
        report["server_error_log_lines"] = len(server_errors)
        (tmp_path / "soak-report.json").write_text(json.dumps(report, indent=2) + "\n")
        with capsys.disabled():
            print(f"\nsoak report ({tmp_path / 'soak-report.json'}):\n{json.dumps(report, indent=2)}")  # noqa: T201

        # 1. No unexpected errors in either run (by-design 429/503 carry Retry-After).
        for name, result in (("warm-up", warm), ("soak", soak)):
            for section in (result, result["warmup"]):
                errors = section["errors"]
                assert errors["unexpected"] == 0, (
                    name,
                    errors["unexpected_samples"],
                    section["status_codes"],
                )
                for status, counts in errors["retry_after"].items():
                    assert counts.get("without_retry_after", 0) == 0, (name, status, counts)
            assert not result["ingest"]["uncertain"], result["ingest"]["uncertain"]
            # Each article is touched by one client only, one request at a time: a new one
            # is added, an identical re-post changes nothing, a new version is an update.
            outcomes = result["ingest"]["outcomes"]
            assert outcomes["new"].get("added", 0) > 0, (name, "no new article was posted", outcomes)
            assert set(outcomes["new"]) == {"added"}, outcomes
            assert set(outcomes["repost"]) <= {"unchanged"}, outcomes
            assert set(outcomes["update"]) <= {"updated"}, outcomes
        assert soak["requests"] > 0 and soak["ingest"]["created"], "the soak did no work"
        assert not server_errors, server_errors[:5]

        # 2. Memory: a generous leak guard only.
        assert rss_end["total_kb"] < rss_start["total_kb"] + LEAK_GUARD_KB, report["rss_kb"]

        # 3. Data exact: the seeds and every created article, each once, nothing else.
        posted = {a["id"]: a for a in warm["articles"] + soak["articles"]}
        assert len(posted) == len(warm["articles"]) + len(soak["articles"])  # ids are unique per request
        stored_ids = [d["id"] for d in documents]
        assert len(stored_ids) == len(set(stored_ids)), "an article is listed twice"
        stored = {d["id"]: d["n_chunks"] for d in documents}
        assert set(stored) == set(seeds_before) | set(posted), {
            "missing": sorted(set(seeds_before) | set(posted) - set(stored))[:20],
            "orphans": sorted(set(stored) - set(seeds_before) - set(posted))[:20],
        }
        assert {i: stored[i] for i in seeds_before} == seeds_before

        # What a fresh ingest of the same articles gives: the server's own parsing of a
        # JSON body, then the chunker (chunks are derived from content and settings alone).
        settings = Settings(data_dir=tmp_path / "fresh", llm_backend="extractive", embed_threads=2)
        chunker = Chunker(settings)
        articles = [
            article_from_record(
                DocumentIn.model_validate(body).model_dump(exclude_none=True), body["id"], None
            )
            for body in posted.values()
        ]
        expected = {a.id: chunk_rows(chunker.chunk(a)) for a in articles}
        mismatched = []
        for article in articles:
            detail = http.get(f"/v1/documents/{article.id}")
            assert detail.status_code == 200, detail.text
            body = detail.json()
            got = sorted((c["index"], c["text"], c["start"], c["end"]) for c in body["chunks"])
            if got != expected[article.id] or not body["n_chunks"] == stored[article.id] == len(got):
                mismatched.append(article.id)
            assert body["title"] == article.title and body["source"] == article.source
        assert not mismatched, f"{len(mismatched)} articles differ from a fresh ingest, e.g. {mismatched[:5]}"

        # A real ingest into a fresh store, for a sample, gives the same chunks.
        sample = articles[:: max(1, len(articles) // FRESH_INGEST_SAMPLE)][:FRESH_INGEST_SAMPLE]
        fresh = pipeline_factory(settings)
        fresh_report = fresh.ingestor.ingest_articles(sample)
        assert sorted(fresh_report.added) == sorted(a.id for a in sample)
        for article in sample:
            assert chunk_rows(fresh.store.chunks_of(article.id)) == expected[article.id], article.id
        assert fresh.store.count() == sum(len(expected[a.id]) for a in sample)

        # 4. Delete every soak article: the store is the seeds again, and the gold answers
        # and citations are exactly what they were before the soak.
        for article in articles:
            deleted = http.delete(f"/v1/documents/{article.id}")
            assert deleted.status_code == 200, deleted.text
            assert deleted.json()["chunks_deleted"] == len(expected[article.id]), article.id
        remaining = list_documents(http)
        assert {d["id"]: d["n_chunks"] for d in remaining} == seeds_before
        final, retrieved_final = ask_gold(http, questions)
        report["gold_retrieved_lists_changed_after_cleanup"] = sum(
            retrieved_before[q] != retrieved_final[q] for q in questions
        )
        changed = [q for q in questions if before[q] != final[q]]
        assert not changed, {q: {"before": before[q]["text"], "after": final[q]["text"]} for q in changed[:3]}

        report["data"] = {
            "articles_stored": len(stored),
            "chunks_stored": sum(stored.values()),
            "soak_articles_checked_against_chunker": len(articles),
            "soak_articles_checked_against_fresh_store": len(sample),
            "soak_articles_deleted": len(articles),
            "gold_answers_identical_after_cleanup": len(questions),
        }
        (tmp_path / "soak-report.json").write_text(json.dumps(report, indent=2) + "\n")
        with capsys.disabled():
            print(f"soak data checks passed: {json.dumps(report['data'])}")  # noqa: T201
