"""Process-wide switches that keep the stack from phoning home.

onnxruntime, Chroma and the Hugging Face libraries read these once, at import time, so
they must be set before any of them is imported: every entry point imports this module
first (``rag/__init__.py`` does). Values already set by the user win.
"""

from __future__ import annotations

import os
from pathlib import Path

_OFFLINE_ENV = {
    "ORT_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def bundled_tiktoken_cache() -> Path | None:
    """llama-index-core ships cl100k_base/o200k_base; tiktoken would download them."""
    import importlib.util

    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return path if path.is_dir() else None


def apply_offline_env() -> None:
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        cache = bundled_tiktoken_cache()
        if cache is not None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
