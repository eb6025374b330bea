"""A seeded in-process pipeline, for the modules that share one across their tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.pipeline import Pipeline

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
# The seed articles' ids (file stem + content-hash prefix), in file order.
SEED_IDS = [
    "000_602e51685fe81370",
    "001_5f7e776c0ce82901",
    "002_a70022376a9dca2a",
    "003_2910c2332927eb84",
    "004_36119deba365cd7b",
]


@contextmanager
def seeded_pipeline(settings: Settings) -> Iterator[Pipeline]:
    """A Pipeline on `settings` with its seeds ingested, closed afterwards (releasing the
    store's lock) even when seeding fails."""
    pipeline = Pipeline(settings)
    try:
        pipeline.ensure_seeded()
        yield pipeline
    finally:
        pipeline.close()


def scripted_openai_settings(base_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """The repository's seeds in `data_dir`, the openai backend on the scripted server at
    `base_url` with no retries (each scripted fault reaches the pipeline once), plus
    `overrides`."""
    return Settings(
        data_dir=data_dir,
        seeds_dir=SEEDS_DIR,
        openai_base_url=base_url,
        openai_model="scripted",
        llm_max_retries=0,
        **overrides,
    )
