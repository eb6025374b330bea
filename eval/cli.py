"""`byline eval`: run the gold set, write the reports, and gate CI.

Exit codes: 0 ok; 1 a `--fail-under` or `--fail-over` gate failed, every question errored,
or the run could not start (store busy, endpoint down); 2 bad usage (unknown backend,
metric or split, no question in the chosen split, unreadable gold or comparison file).
Contributed to the core CLI through the `byline.commands` entry point (`register`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from eval.metrics import FAIL_OVER_METRICS, FAIL_UNDER_METRICS, above_thresholds, below_thresholds
from eval.replay import ReplaySource
from eval.report import (
    aggregates_json,
    build_report,
    compare_reports,
    export_ragas,
    fmt,
    load_report,
    print_comparison,
    print_table,
    write_reports,
)
from eval.runner import (
    DEFAULT_GOLD,
    LLMJudge,
    PipelineKind,
    load_gold,
    run_eval,
    select_items,
)
from rag.config import Settings
from rag.errors import BylineError
from rag.types import Backend

BACKENDS: tuple[Backend, ...] = ("local", "openai", "extractive")
PIPELINES: tuple[PipelineKind, ...] = ("ours", "naive")
SPLITS = ("dev", "test")


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    # Logs and pipes get 80 columns: too few for one table column per question type.
    return Console(stderr=stderr, width=max(console.width, 150))


def _usage(console: Console, message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def parse_thresholds(
    specs: list[str] | None, *, option: str = "--fail-under", valid: tuple[str, ...] = FAIL_UNDER_METRICS
) -> dict[str, float]:
    """METRIC=VALUE pairs → {metric: value}; ValueError says what is wrong. `valid` are the
    metrics `option` may gate: higher-is-better ones for --fail-under, the rest for
    --fail-over (a "below" gate on a count of broken answers would be backwards)."""
    thresholds: dict[str, float] = {}
    for spec in specs or []:
        name, sep, raw = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"{option} expects METRIC=VALUE, got {spec!r}")
        if name not in valid:
            raise ValueError(f"unknown metric {name!r} in {option}; valid: {', '.join(valid)}")
        try:
            thresholds[name] = float(raw)
        except ValueError:
            raise ValueError(f"{option} {name}: {raw!r} is not a number") from None
    return thresholds


def eval_command(
    gold: Annotated[Path, typer.Option(help="Gold set, one JSON object per line.")] = DEFAULT_GOLD,
    backend: Annotated[
        str | None, typer.Option(help="local | openai | extractive (default: by settings)")
    ] = None,
    pipeline: Annotated[
        str, typer.Option(help="ours | naive (the plain llama-index recipe, as a baseline)")
    ] = "ours",
    endpoint: Annotated[
        str | None, typer.Option(help="Evaluate a running service at this base URL (POST /v1/ask).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
    sample: Annotated[int | None, typer.Option(min=1, help="A random N questions (see --seed).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample.")] = 0,
    split: Annotated[
        str | None,
        typer.Option(help="Only the gold questions of this split: dev | test (before --sample/--limit)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: DATA_DIR/eval/PIPELINE-BACKEND).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the aggregates as JSON to stdout.")] = False,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-under", metavar="METRIC=VALUE", help="Exit 1 when an aggregate is below (repeatable)."
        ),
    ] = None,
    fail_over: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-over",
            metavar="METRIC=VALUE",
            help="Exit 1 when a lower-is-better aggregate (a count, a latency) is above (repeatable).",
        ),
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(metavar="OLD.json", help="Show what improved and regressed since then.")
    ] = None,
    export: Annotated[
        tuple[str, Path] | None,
        typer.Option(
            "--export", metavar="FORMAT PATH", help="Also write the run in another tool's format: ragas PATH."
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Answer every question afresh.")] = False,
    replay: Annotated[
        Path | None,
        typer.Option(
            metavar="OLD.json",
            help="Take the model's replies from that report instead of asking the model (its backend); "
            "everything else runs afresh, so a change after the model is measured in seconds.",
        ),
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option(
            envvar="BYLINE_JUDGE_MODEL",
            help="LLM-judged correctness with this OpenAI-compatible model (reported separately).",
        ),
    ] = None,
) -> None:
    """Score answers against a gold set: retrieval, correctness, citations, abstention, latency."""
    human = _console(stderr=as_json)
    err = _console(stderr=True)
    if backend is not None and backend not in BACKENDS:
        _usage(err, f"unknown backend {backend!r}; use {', '.join(BACKENDS)}")
    if pipeline not in PIPELINES:
        _usage(err, f"unknown pipeline {pipeline!r}; use {', '.join(PIPELINES)}")
    if export is not None and export[0] != "ragas":
        _usage(err, f"unknown export format {export[0]!r}; use: ragas")
    if split is not None and split not in SPLITS:
        _usage(err, f"unknown split {split!r}; use {', '.join(SPLITS)}")
    try:
        thresholds = parse_thresholds(fail_under)
        ceilings = parse_thresholds(fail_over, option="--fail-over", valid=FAIL_OVER_METRICS)
    except ValueError as exc:
        _usage(err, str(exc))
    old_report = None
    if compare is not None:
        try:
            old_report = load_report(compare)
        except (OSError, ValueError) as exc:
            _usage(err, f"cannot read --compare {compare}: {exc}")

    replayed: ReplaySource | None = None
    if replay is not None:
        if endpoint or pipeline != "ours":
            _usage(err, "--replay runs our pipeline in process; drop --endpoint and --pipeline naive")
        try:
            replayed = ReplaySource.load(replay)
        except BylineError as exc:
            _usage(err, str(exc))
        if backend is not None and backend != replayed.backend:
            _usage(err, f"{replay} holds {replayed.backend} drafts; drop --backend {backend}")
        backend = replayed.backend

    settings = Settings()
    # With --endpoint and no --backend, the deployment's own default is evaluated.
    chosen: Backend | None = backend or (None if endpoint else settings.resolved_llm_backend)
    kind: PipelineKind = "naive" if pipeline == "naive" else "ours"
    if kind == "naive" and chosen == "extractive":
        _usage(err, "the naive baseline needs an LLM; use --backend local or openai with --pipeline naive")
    if kind == "naive" and endpoint:
        _usage(err, "--pipeline naive runs in process; it can't be combined with --endpoint")
    try:
        items = select_items(load_gold(gold), limit=limit, sample=sample, seed=seed, split=split)
    except BylineError as exc:
        _usage(err, str(exc))
    out_dir = out or settings.data_dir / "eval" / f"{'endpoint' if endpoint else kind}-{chosen or 'default'}"
    judge, skipped = LLMJudge.from_settings(settings, judge_model)
    if skipped:
        err.print(f"[yellow]{escape(skipped)}[/yellow]", highlight=False)

    try:
        result = run_eval(
            items,
            settings=settings,
            backend=chosen,
            pipeline_kind=kind,
            endpoint=endpoint,
            out_dir=out_dir,
            use_cache=not no_cache,
            console=err,
            judge=judge,
            split=split,
            replay=replayed,
        )
    except BylineError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None

    report = build_report(result, gold)
    json_path, html_path = write_reports(report, out_dir)
    if as_json:
        sys.stdout.write(aggregates_json(report) + "\n")
    else:
        print_table(report, human)
    human.print(
        f"{len(items)} questions ({result.answered} answered, {result.from_cache} from cache) → "
        f"{json_path}, {html_path}",
        highlight=False,
        markup=False,
    )
    if old_report is not None:
        print_comparison(compare_reports(old_report, report), human, str(compare))
    if export is not None:
        export_ragas_path = export[1]
        n = export_ragas(report, export_ragas_path)
        human.print(f"RAGAS export: {n} samples → {export_ragas_path}", highlight=False, markup=False)

    errors = [r for r in result.rows if r.error]
    for row in errors[:5]:
        err.print(f"[yellow]{escape(row.id)}[/yellow]: {escape(row.error or '')}", highlight=False)
    if errors and len(errors) == len(result.rows):
        err.print("[red]error:[/red] every question failed", highlight=False)
        raise typer.Exit(1)
    overall = report["aggregates"]["overall"]
    failed = below_thresholds(overall, thresholds)
    for name, value, threshold in failed:
        err.print(
            f"[red]fail-under:[/red] {name} = {fmt(value)} < {threshold}"
            + (" (not measured on this run)" if value is None else ""),
            highlight=False,
        )
    exceeded = above_thresholds(overall, ceilings)
    for name, value, threshold in exceeded:
        err.print(
            f"[red]fail-over:[/red] {name} = {fmt(value, name)} > {threshold}"
            + (" (not measured on this run)" if value is None else ""),
            highlight=False,
        )
    if failed or exceeded:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("eval", help="Score answers against a gold set; reports in --out.")(eval_command)
