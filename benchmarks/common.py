"""Shared by every benchmark: order statistics, memory readings, machine facts.

Percentiles are nearest-rank over the raw samples (no interpolation): with 50–200 samples
that is what a reader can check by sorting the JSON themselves.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float], scale: float = 1.0) -> dict[str, float]:
    """n, p50, p95, p99, max — multiplied by `scale` (1000 turns seconds into ms)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": statistics.median(values) * scale,
        "p95": pct(values, 0.95) * scale,
        "p99": pct(values, 0.99) * scale,
        "max": max(values) * scale,
    }


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def rss_mb(pid: int | None = None) -> float:
    """Resident memory now, from /proc (MiB)."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """This process's high-water mark so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def versions() -> dict[str, str]:
    out = {}
    for name in (
        "byline",
        "chromadb",
        "llama-index-core",
        "onnxruntime",
        "xllamacpp",
        "bm25s",
        "fastapi",
        "uvicorn",
        "httpx",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def python() -> str:
    return sys.executable
