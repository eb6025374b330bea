"""A retrieved chunk made from text, for tests of the stages after retrieval."""

from __future__ import annotations

import datetime as dt

from rag.types import Chunk, Hit


def hit(article: str, text: str, rank: int) -> Hit:
    """`text` as the one chunk of article `article`, retrieved at `rank` (0 is best)."""
    chunk = Chunk(
        id=f"{article}-0",
        article_id=article,
        index=0,
        text=text,
        start=0,
        end=len(text),
        title=f"Title {article}",
        date=dt.date(2025, 10, 24),
        version="v",
        n_chunks=1,
    )
    return Hit(chunk=chunk, score=1.0 / (1 + rank))
