"""Answer latency per backend on the seed corpus, in a process of its own: total and time to
first token, prompt tokens, generation speed, cold start; and the plain llama-index recipe
(`eval.naive`, same store, same model) on the same questions for comparison.

    python -m benchmarks.answers --limit 40 --naive 12 --json-out answers.json
    python -m benchmarks.answers --split test --limit 40 --naive 0 --backends local --json-out test.json

The `openai` backend is the same code path as `local` (an OpenAI-compatible HTTP client;
`local` points it at the in-process llama.cpp server), so its latency is the upstream's:
it is not measured here, where no upstream is reachable.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import peak_rss_mb, rss_mb, summary
from rag.config import PROJECT_ROOT, Settings
from rag.model_assets import ensure_local_model
from rag.pipeline import Pipeline
from rag.types import Backend


def gold_questions(split: str | None = None) -> list[str]:
    """The gold set's questions in file order (one split of it when given)."""
    lines = (PROJECT_ROOT / "eval" / "gold" / "qa.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    return [item["question"] for item in items if split is None or item.get("split") == split]


def _stream_timings(pipeline: Pipeline, questions: list[str], backend: Backend) -> dict[str, Any]:
    total, first_token, prompt_tokens, rates = [], [], [], []
    # Where the time goes, per answer: retrieval and context building; the model reading
    # its prompt (its first token); writing the rest; verification. Plus answer lengths.
    stages: dict[str, list[float]] = {"retrieve": [], "model_first_token": [], "writing": [], "verify": []}
    completion_tokens: list[float] = []
    for q in questions:
        started = time.perf_counter()
        first = None
        answer = None
        for event in pipeline.ask_stream(q, backend=backend):
            if event.kind == "delta" and first is None:
                first = time.perf_counter() - started
            if event.kind == "answer":
                answer = event.answer
        elapsed = time.perf_counter() - started
        total.append(elapsed)
        first_token.append(first if first is not None else elapsed)  # abstained: no tokens
        if answer is not None:
            t = answer.timings
            stages["retrieve"].append(t.retrieve_s)
            stages["verify"].append(t.verify_s)
            if t.time_to_first_token_s is not None:
                stages["model_first_token"].append(t.time_to_first_token_s)
                stages["writing"].append(max(t.generate_s - t.time_to_first_token_s, 0.0))
            if answer.completion_tokens:
                completion_tokens.append(float(answer.completion_tokens))
        if answer is not None and answer.prompt_tokens:
            prompt_tokens.append(float(answer.prompt_tokens))
            ttft = answer.timings.time_to_first_token_s
            if answer.completion_tokens and ttft is not None and answer.timings.generate_s > ttft:
                rates.append(answer.completion_tokens / (answer.timings.generate_s - ttft))
    return {
        "total_s": summary(total),
        "first_token_s": summary(first_token),
        "prompt_tokens": summary(prompt_tokens),
        "generated_tokens_per_s": summary(rates),
        "completion_tokens": summary(completion_tokens),
        "stages_s": {name: summary(values) for name, values in stages.items()},
    }


def run(
    limit: int, naive_limit: int, data_dir: Path, backends: list[Backend], split: str | None = None
) -> dict[str, Any]:
    questions = gold_questions(split)[:limit]
    settings = Settings(data_dir=data_dir, llm_backend="local")
    result: dict[str, Any] = {"questions": len(questions), "split": split}
    started = time.perf_counter()
    pipeline = Pipeline(settings)
    pipeline.ensure_seeded()
    pipeline.warm_up("extractive")
    result["seed_ingest_and_embedder_load_s"] = time.perf_counter() - started
    result["rss_without_llm_mb"] = rss_mb()

    result["retrieval_ms"] = summary([_timed(lambda q=q: pipeline.search(q)) for q in questions], 1000)
    if "extractive" in backends:
        result["extractive"] = _stream_timings(pipeline, questions, "extractive")
    if "local" in backends:
        started = time.perf_counter()
        ensure_local_model(settings)
        result["model_assembly_s"] = time.perf_counter() - started
        started = time.perf_counter()
        pipeline.warm_up("local")
        result["model_load_to_ready_s"] = time.perf_counter() - started
        result["local"] = _stream_timings(pipeline, questions, "local")
        result["local_runtime"] = _runtime_timings(pipeline, questions[:12])
        result["rss_with_local_model_mb"] = rss_mb()
        if naive_limit:
            from eval.naive import NaivePipeline

            naive = NaivePipeline(pipeline, "local")
            times = [_timed(lambda q=q: naive.ask(q)) for q in questions[:naive_limit]]
            result["naive_llamaindex_local"] = {
                "questions": len(times),
                "total_s": summary(times),
                "ours_p50_on_same_questions_s": summary(
                    [_timed(lambda q=q: pipeline.ask(q, backend="local")) for q in questions[:naive_limit]]
                )["p50"],
                "note": "non-streaming (the recipe's default query engine); "
                "ours measured again on the same questions",
            }
            result["naive_llamaindex_local"]["speedup_p50"] = (
                result["naive_llamaindex_local"]["total_s"]["p50"]
                / result["naive_llamaindex_local"]["ours_p50_on_same_questions_s"]
            )
    result["peak_rss_mb"] = peak_rss_mb()
    pipeline.close()
    if "local" in backends and questions:
        result["cli_cold_start"] = _cli_cold_start(data_dir, questions[0])
    return result


def _cli_cold_start(data_dir: Path, question: str, runs: int = 3) -> dict[str, Any]:
    """`byline ask --backend local` as a reader runs it: a new process each time (imports,
    store, embedder, model load, one answer), the model file already assembled and in the
    page cache — what every CLI question after the first pays."""
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "byline"
    env = {**os.environ, "BYLINE_DATA_DIR": str(data_dir)}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [str(exe), "ask", "--json", "--backend", "local", question],
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        times.append(time.perf_counter() - started)
    return {"question": question, "total_s": summary(times)}


def _runtime_timings(pipeline: Pipeline, questions: list[str]) -> dict[str, Any]:
    """llama.cpp's own accounting for the prompts our pipeline builds, sent straight to the
    in-process server: new prompt tokens (the rest came from its prompt cache), how fast it
    reads them and writes the answer, and speculative drafts (none unless configured)."""
    from openai import OpenAI

    from rag.prompts import build_messages

    client = OpenAI(base_url=pipeline.local_llm_base_url(), api_key="not-needed", max_retries=0)
    keys = ("prompt_n", "cache_n", "prompt_per_second", "predicted_n", "predicted_per_second")
    seen: dict[str, list[float]] = {key: [] for key in keys}
    drafted = accepted = 0
    for q in questions:
        context = pipeline._prepare(q, None, None, None, "local")[2]
        response = client.chat.completions.create(
            model="local",
            messages=build_messages(context),  # type: ignore[arg-type]
            max_tokens=pipeline.settings.max_answer_tokens,
            temperature=0.0,
        )
        timings = (response.model_extra or {}).get("timings") or {}
        for key in keys:
            if isinstance(timings.get(key), int | float):
                seen[key].append(float(timings[key]))
        drafted += int(timings.get("draft_n") or 0)
        accepted += int(timings.get("draft_n_accepted") or 0)
    return {
        "questions": len(questions),
        "new_prompt_tokens": summary(seen["prompt_n"]),
        "cached_prompt_tokens": summary(seen["cache_n"]),
        "prompt_tokens_per_s": summary(seen["prompt_per_second"]),
        "generated_tokens": summary(seen["predicted_n"]),
        "generated_tokens_per_s": summary(seen["predicted_per_second"]),
        "draft_tokens": drafted,
        "draft_tokens_accepted": accepted,
    }


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=40, help="gold questions per backend")
    parser.add_argument(
        "--naive", type=int, default=12, help="questions for the llama-index baseline (0: skip)"
    )
    parser.add_argument("--backends", default="extractive,local")
    parser.add_argument("--split", choices=["dev", "test"], help="only this split of the gold set")
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    backends: list[Backend] = [b for b in ("extractive", "local") if b in args.backends.split(",")]
    data_dir = Path(tempfile.mkdtemp(prefix="byline-bench-answers-"))
    try:
        result = run(args.limit, args.naive, data_dir, backends, args.split)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
