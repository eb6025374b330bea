"""Answer latency on this machine: retrieval, extractive and local answers, time to first
token. Medians and p95 over the gold questions, all measured in one run.

    python -m benchmarks.answers [--limit N] [--out benchmarks/out/answers.json]

Not a test: numbers depend on the machine and its load. Results go to BENCHMARKS.md by hand
(with this command line) until the full benchmark suite writes it.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from rag.config import PROJECT_ROOT, Settings
from rag.model_assets import ensure_local_model
from rag.pipeline import Pipeline


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def _summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": statistics.median(values), "p95": _pct(values, 0.95), "max": max(values)}


def run(limit: int, data_dir: Path) -> dict[str, object]:
    gold = [
        json.loads(line) for line in (PROJECT_ROOT / "eval" / "gold" / "qa.jsonl").read_text().splitlines()
    ]
    questions = [g["question"] for g in gold][:limit]
    settings = Settings(data_dir=data_dir, llm_backend="local")
    pipeline = Pipeline(settings)
    started = time.perf_counter()
    pipeline.ensure_seeded()
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    ensure_local_model(settings)
    assembly_s = time.perf_counter() - started
    started = time.perf_counter()
    pipeline.warm_up("local")
    cold_start_s = time.perf_counter() - started

    retrieval = []
    for q in questions:
        t = time.perf_counter()
        pipeline.search(q)
        retrieval.append(time.perf_counter() - t)

    extractive = [pipeline.ask(q, backend="extractive").timings.total_s for q in questions]

    local_total, local_ttft, prompt_tokens, gen_rate = [], [], [], []
    for q in questions:
        t = time.perf_counter()
        first = None
        answer = None
        for event in pipeline.ask_stream(q, backend="local"):
            if event.kind == "delta" and first is None:
                first = time.perf_counter() - t
            if event.kind == "answer":
                answer = event.answer
        total = time.perf_counter() - t
        local_total.append(total)
        local_ttft.append(first if first is not None else total)
        if answer is not None and answer.prompt_tokens:
            prompt_tokens.append(float(answer.prompt_tokens))
            if answer.completion_tokens and answer.timings.time_to_first_token_s is not None:
                gen_time = answer.timings.generate_s - answer.timings.time_to_first_token_s
                if gen_time > 0:
                    gen_rate.append(answer.completion_tokens / gen_time)
    pipeline.close()
    return {
        "command": f"python -m benchmarks.answers --limit {limit}",
        "machine": f"{platform.machine()}, {platform.processor() or '?'}, Python {platform.python_version()}",
        "questions": len(questions),
        "seed_ingest_s": ingest_s,
        "model_assembly_first_run_s": assembly_s,
        "cold_start_to_ready_s": cold_start_s,
        "retrieval_s": _summary(retrieval),
        "extractive_answer_s": _summary(extractive),
        "local_answer_s": _summary(local_total),
        "local_first_token_s": _summary(local_ttft),
        "local_prompt_tokens": _summary(prompt_tokens) if prompt_tokens else {},
        "local_generated_tokens_per_s": _summary(gen_rate) if gen_rate else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "out" / "answers.json")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.limit, args.data_dir or Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))  # noqa: T201 - a CLI's output


if __name__ == "__main__":
    main()
