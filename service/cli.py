"""`byline serve`, contributed to the core CLI through the `byline.commands` entry point."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console


def serve(
    host: Annotated[str, typer.Option(help="Non-loopback needs keys or --allow-open.")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Processes; more than 1 needs CHROMA_HOST.")] = 1,
    allow_open: Annotated[bool, typer.Option("--allow-open", help="Serve non-loopback, no keys.")] = False,
) -> None:
    """Serve the HTTP API: ask (JSON/SSE), OpenAI-compatible chat, search, documents."""
    from service.server import ServeRefused, run

    try:
        run(host=host, port=port, workers=workers, allow_open=allow_open)
    except ServeRefused as exc:
        Console(stderr=True, soft_wrap=True).print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.command()(serve)
