"""Server-sent events framing, one place for every stream (`/v1/ask` and the
OpenAI-compatible chat). A frame is a few bytes of text; sse-starlette's response class
would add a dependency and its own disconnect handling, where ours already stops the
pipeline's worker when the client goes away (`service.work.BlockingStream`)."""

from __future__ import annotations

import json
from typing import Any

DONE = b"data: [DONE]\n\n"  # how OpenAI-compatible streams end


def frame(data: Any, event: str | None = None) -> bytes:
    """One event: `data` as JSON (non-ASCII kept, dates and the like as strings)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()
