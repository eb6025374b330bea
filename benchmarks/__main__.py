"""The benchmark suite: one command, every number in BENCHMARKS.md measured in one run.

    python -m benchmarks                      # full run (~25 min on 2 cores): BENCHMARKS.md,
                                              # benchmarks/results/bench-DATE.json, scaling.png
    python -m benchmarks --quick --out-dir D  # a tiny run that only proves the suite works
    python -m benchmarks --render benchmarks/results/bench-DATE.json
                                              # BENCHMARKS.md again from a run's JSON (after
                                              # editing benchmarks/analysis.md), no measuring

Each part runs in a process of its own (peak memory is per part, and a part's caches can't
flatter the next one): ingest + retrieval per corpus size (`benchmarks.scale`), answers per
backend (`benchmarks.answers`), HTTP under load (`benchmarks.http_bench`, which starts
`byline serve` and a separate load-generator process). Run it on a quiet machine: the
numbers are only comparable within one run, which is why every claim is a ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR, machine, versions
from benchmarks.report import render_markdown, render_plot
from rag.config import PROJECT_ROOT


def _part(module: str, args: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="byline-bench-") as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", module, *args, "--json-out", str(out)]
        print(f"  $ {shlex.join(cmd[1:])}", flush=True)  # noqa: T201 - progress
        started = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=PROJECT_ROOT)
        result: dict[str, Any] = json.loads(out.read_text())
        result["wall_s"] = time.perf_counter() - started
        return result


def _save(path: Path, result: dict[str, Any]) -> None:
    path.write_text(json.dumps(result, indent=2))


def _scale(
    args: argparse.Namespace, sizes: list[int], work: Path, progress: Callable[[list[dict[str, Any]]], None]
) -> list[dict[str, Any]]:
    print("ingest + retrieval: seeds", flush=True)  # noqa: T201
    rows = [
        _part(
            "benchmarks.scale",
            [
                "--corpus-dir",
                str(PROJECT_ROOT / "seeds"),
                "--work",
                str(work / "seeds"),
                "--baseline",
                "--queries",
                str(args.queries),
            ],
        )
    ]
    vectors = work / "vectors.npy"
    real = [s for s in sizes if s <= args.real_max]
    for size in sizes:
        print(f"ingest + retrieval: {size} chunks", flush=True)  # noqa: T201
        extra = ["--chunks", str(size), "--work", str(work / f"s{size}"), "--queries", str(args.queries)]
        if size <= args.baseline_max:
            extra.append("--baseline")
        if size in real:
            if size == max(real):
                extra += ["--vectors-out", str(vectors)]
        else:
            extra += ["--vectors-in", str(vectors)]
        rows.append(_part("benchmarks.scale", extra))
        progress(rows)
    return rows


def run(args: argparse.Namespace, checkpoint: Path) -> dict[str, Any]:
    """Every part's result is also written to `checkpoint` as soon as it is in, so a run
    that fails late keeps what it measured."""
    sizes = [int(s) for s in args.sizes.split(",") if s]
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "command": "python -m benchmarks " + shlex.join(sys.argv[1:]),
        "machine": machine(),
        "versions": versions(),
        "quick": args.quick,
    }
    if "scale" in parts:
        work = Path(tempfile.mkdtemp(prefix="byline-bench-work-"))
        try:
            result["scale"] = _scale(
                args, sizes, work, lambda rows: _save(checkpoint, {**result, "scale": rows})
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _save(checkpoint, result)
    if "answers" in parts:
        print("answers", flush=True)  # noqa: T201
        backends = "extractive" if args.quick else "extractive,local"
        result["answers"] = _part(
            "benchmarks.answers",
            ["--limit", str(args.answer_questions), "--naive", str(args.naive), "--backends", backends],
        )
        _save(checkpoint, result)
    if "http" in parts:
        print("HTTP under load", flush=True)  # noqa: T201
        http_args = ["--duration", str(args.http_duration), "--clients", args.clients]
        result["http"] = _part("benchmarks.http_bench", [*http_args, "--quick"] if args.quick else http_args)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and durations, no local model")
    parser.add_argument(
        "--sizes", default=None, help="generated corpus sizes in chunks (default 1000,10000,100000)"
    )
    parser.add_argument("--real-max", type=int, default=10_000, help="largest size embedded for real")
    parser.add_argument(
        "--baseline-max", type=int, default=1_000, help="largest size for the llama-index run"
    )
    parser.add_argument("--parts", default="scale,answers,http")
    parser.add_argument("--queries", type=int, default=122, help="synthetic questions (+ all gold)")
    parser.add_argument("--answer-questions", type=int, default=None, help="gold questions per backend")
    parser.add_argument(
        "--naive", type=int, default=None, help="questions for the llama-index answer baseline"
    )
    parser.add_argument("--http-duration", type=float, default=None, help="measured seconds per load run")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: the repository (BENCHMARKS.md)")
    parser.add_argument("--render", type=Path, metavar="JSON", help="only re-render BENCHMARKS.md from a run")
    args = parser.parse_args()
    out_dir = args.out_dir or PROJECT_ROOT
    results_dir = RESULTS_DIR if args.out_dir is None else out_dir / "results"
    if args.render:
        _write(json.loads(args.render.read_text()), args.render, results_dir / "scaling.png", out_dir)
        return
    if args.quick:
        args.sizes = args.sizes or "300"
        args.answer_questions = args.answer_questions or 4
        args.naive = 0 if args.naive is None else args.naive
        args.http_duration = args.http_duration or 2.0
        args.clients = "1,4" if args.clients == "1,8,32" else args.clients
        args.queries = min(args.queries, 20)
    args.sizes = args.sizes or "1000,10000,100000"
    args.answer_questions = args.answer_questions or 40
    args.naive = 12 if args.naive is None else args.naive
    args.http_duration = args.http_duration or 15.0

    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / f"bench-{dt.date.today().isoformat()}.json"
    checkpoint = json_path.with_suffix(".partial.json")
    result = run(args, checkpoint)
    json_path.write_text(json.dumps(result, indent=2))
    checkpoint.unlink(missing_ok=True)
    _write(result, json_path, results_dir / "scaling.png", out_dir)


def _write(result: dict[str, Any], json_path: Path, plot_path: Path, out_dir: Path) -> None:
    render_plot(result, plot_path)
    markdown = render_markdown(result, json_path=json_path, plot_path=plot_path, root=out_dir)
    (out_dir / "BENCHMARKS.md").write_text(markdown)
    print(f"wrote {out_dir / 'BENCHMARKS.md'}, {json_path}, {plot_path}")  # noqa: T201


if __name__ == "__main__":
    main()
