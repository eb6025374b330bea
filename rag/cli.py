"""`byline`: thin subcommands over the pipeline. Errors print as one line; exit code 1 for
a failure, 2 for bad usage, 3 for partial success (some files skipped).

The core's own commands live here; `serve` (service) and `eval` (eval) are contributed by
those packages through entry points (`load_commands`), so `rag` imports neither."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag.config import Settings
from rag.errors import BylineError
from rag.types import Answer, SearchFilters, StoredArticle

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Grounded, cited answers from news articles."
)
# soft_wrap: piped output (scripts, CI logs) keeps one line per message.
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_PARTIAL = 3


def _show_version(value: bool) -> None:
    if value:
        from rag.doctor import version

        console.print(f"byline {version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Grounded, cited answers from news articles."""


def _pipeline() -> Any:
    """Imported here: `byline --help` and `--version` stay fast (no Chroma, no ONNX)."""
    from rag.pipeline import Pipeline

    return Pipeline(Settings())


def _fail(exc: BylineError) -> None:
    err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    raise typer.Exit(1)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the bundled seeds).")
    ] = None,
    prune: Annotated[bool, typer.Option(help="Delete stored articles not found under PATHS.")] = False,
    reindex: Annotated[
        bool, typer.Option(help="Drop the collection first (e.g. after changing models).")
    ] = False,
) -> None:
    """Ingest articles: unchanged ones cost nothing, changed ones are replaced."""
    pipeline = _pipeline()
    targets = paths or [pipeline.settings.seeds_dir]
    try:
        if reindex:
            pipeline.reset()
        with Progress(
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("ingest", total=None)
            report = pipeline.ingest(
                targets,
                prune=prune,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except BylineError as exc:
        _fail(exc)
    finally:
        pipeline.close()
    for problem in report.skipped:
        err.print(f"[yellow]skipped[/yellow] {problem.path}: {problem.reason}", highlight=False)
    console.print(
        f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
        f"deleted {len(report.deleted)}, skipped {len(report.skipped)}; "
        f"chunks written {report.chunks_written}, deleted {report.chunks_deleted}; {report.seconds:.2f}s",
        highlight=False,
    )
    if report.partial:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def delete(article_id: str) -> None:
    """Delete one article and its chunks."""
    pipeline = _pipeline()
    try:
        n = pipeline.delete_article(article_id)
    except BylineError as exc:
        _fail(exc)
    finally:
        pipeline.close()
    console.print(f"deleted {article_id} ({n} chunks)")


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stored articles and chunk counts, the store and the data dir."""
    pipeline = _pipeline()
    try:
        rows = pipeline.list_articles()
        location = pipeline.store_location
        empty = pipeline.empty_store_error() if not rows else None
    except BylineError as exc:
        _fail(exc)
    finally:
        pipeline.close()
    settings = pipeline.settings
    n_chunks = sum(r.n_chunks for r in rows)
    if as_json:
        summary = {
            "store": location,
            "data_dir": str(settings.data_dir),
            "collection": settings.collection,
            "article_count": len(rows),
            "chunk_count": n_chunks,
            "articles": [_article_row(r) for r in rows],
        }
        console.print_json(json.dumps(summary))
        return
    console.print(
        f"data dir {settings.data_dir}; {location}; collection {settings.collection!r}", highlight=False
    )
    if empty is not None:
        console.print(f"{empty.message}\n{empty.hint}", style="yellow", highlight=False, markup=False)
        return
    table = Table(title=f"{len(rows)} articles, {n_chunks} chunks")
    for col in ("id", "date", "source", "chunks", "title"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.id, str(r.date or ""), r.source or "", str(r.n_chunks), r.title[:60])
    console.print(table)


def _article_row(article: StoredArticle) -> dict[str, Any]:
    """`byline stats --json`'s row: the names it has always printed."""
    return {
        "article_id": article.id,
        "title": article.title,
        "date": article.date.isoformat() if article.date else "",
        "source": article.source or "",
        "url": article.url or "",
        "file_name": article.file_name or "",
        "content_hash": article.version,
        "chunks": article.n_chunks,
    }


def _seed_if_empty(pipeline: Any) -> None:
    """First run: ingest the bundled samples into an empty store, and say so (stderr)."""
    report = pipeline.ensure_seeded()
    if report is not None and report.added:
        err.print(
            f"the store was empty: ingested {len(report.added)} sample articles from "
            f"{pipeline.settings.seeds_dir} into {pipeline.store_location}",
            style="dim",
            highlight=False,
            markup=False,
        )


def _filters(
    source: list[str] | None, article: list[str] | None, since: str | None, until: str | None
) -> SearchFilters | None:
    if not (source or article or since or until):
        return None
    return SearchFilters(sources=source, article_ids=article, date_from=since, date_to=until)


@app.command()
def search(
    query: str,
    top_k: Annotated[int, typer.Option("--top-k", "-k")] = 6,
    source: Annotated[list[str] | None, typer.Option(help="Only this outlet (repeatable).")] = None,
    article: Annotated[list[str] | None, typer.Option(help="Only this article id (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Published on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Published on or before YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Retrieval only: the fused hits with their scores."""
    pipeline = _pipeline()
    try:
        _seed_if_empty(pipeline)
        hits = pipeline.search(query, top_k, _filters(source, article, since, until))
    except BylineError as exc:
        _fail(exc)
    finally:
        pipeline.close()
    if as_json:
        console.print_json(json.dumps([h.model_dump(mode="json") for h in hits]))
        return
    for i, h in enumerate(hits, 1):
        sim = f"{h.vector_similarity:.3f}" if h.vector_similarity is not None else "  -  "
        bm = f"{h.bm25_score:.2f}" if h.bm25_score is not None else " - "
        console.print(
            f"[bold]{i}.[/bold] rrf={h.score:.4f} cos={sim} bm25={bm}  {h.chunk.article_id} "
            f"({h.chunk.source or '?'}, {h.chunk.date or 'undated'})"
        )
        console.print(f"   {h.chunk.text[:240]}…", highlight=False)


def print_answer(answer: Answer) -> None:
    style = "yellow" if answer.abstained else "bold"
    console.print(answer.text, style=style, highlight=False)
    if answer.abstained and answer.abstain_reason:
        console.print(f"({answer.abstain_reason})", style="dim")
    for c in answer.citations:
        meta = ", ".join(x for x in (c.source, c.date.isoformat() if c.date else None) if x)
        console.print(
            f"[{c.n}] {c.title} ({meta or c.article_id})", style="cyan", highlight=False, markup=False
        )
        console.print(
            f"    “{c.quote}”  — {c.article_id} chars {c.start}-{c.end}", highlight=False, markup=False
        )
    t = answer.timings
    extra = f"; fallback: {answer.fallback_reason}" if answer.fallback_reason else ""
    console.print(
        f"backend {answer.backend}; retrieve {t.retrieve_s * 1000:.0f} ms, generate {t.generate_s:.2f} s, "
        f"total {t.total_s:.2f} s; prompt {answer.prompt_tokens} tok{extra}",
        style="dim",
        highlight=False,
    )


@app.command()
def ask(
    question: str,
    backend: Annotated[
        str | None, typer.Option(help="local | openai | extractive (default: by settings)")
    ] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", "-k")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Answer a question from the articles, with verified citations."""
    if backend not in (None, "local", "openai", "extractive"):
        err.print(f"error: unknown backend {backend!r}; use local, openai or extractive")
        raise typer.Exit(2)
    pipeline = _pipeline()
    try:
        pipeline.warm_up_generator_in_background(backend if backend else None)
        _seed_if_empty(pipeline)
        answer = pipeline.ask(question, top_k=top_k, backend=backend if backend else None)
    except BylineError as exc:
        _fail(exc)
    finally:
        pipeline.close()
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
    else:
        print_answer(answer)


@app.command()
def doctor(
    verify: Annotated[
        bool, typer.Option(help="Re-hash the local model file (≈1 s per GB) instead of trusting its stamp.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check this installation: versions, data dir, store, model files, backends, downloads.
    Exit 1 when something is broken. Downloads nothing, loads no model."""
    from rag.doctor import as_dicts, failed, run_checks

    checks = run_checks(Settings(), verify=verify)
    if as_json:
        sys.stdout.write(json.dumps({"ok": not failed(checks), "checks": as_dicts(checks)}, indent=2) + "\n")
    else:
        styles = {"ok": "green", "warn": "yellow", "fail": "bold red", "info": "dim"}
        for c in checks:
            console.print(f"[{styles[c.status]}]{c.status:<4}[/] {c.name:<12} ", end="", highlight=False)
            console.print(c.detail, highlight=False, markup=False)
    if failed(checks):
        raise typer.Exit(1)


COMMANDS_GROUP = "byline.commands"


def load_commands(target: typer.Typer) -> typer.Typer:
    """Add the sub-commands other installed packages contribute (the service's `serve`,
    the eval's `eval`) through the `byline.commands` entry-point group: each entry point
    is a `register(app)` function. The core imports neither package; what is installed
    decides what `byline --help` lists."""
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        entry.load()(target)
    return target


def main() -> None:
    load_commands(app)()


if __name__ == "__main__":
    main()
