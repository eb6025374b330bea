"""The layers point down: `rag` (the pipeline) imports neither `service` nor `eval`, and the
`byline` command is composed from what each installed package contributes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

RAG = Path(__file__).resolve().parents[1] / "rag"
UPPER = {"service", "eval", "benchmarks", "tests"}


def _imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports, lazily inside functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(RAG.rglob("*.py")), ids=lambda p: p.name)
def test_the_core_imports_nothing_above_it(module: Path) -> None:
    assert not _imported_packages(module) & UPPER


def test_byline_help_lists_every_command() -> None:
    """From the installed entry points: the core's commands plus `serve` and `eval`."""
    exe = Path(sys.executable).parent / "byline"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60, check=True)
    listed = {
        line.split()[1]
        for line in result.stdout.splitlines()
        if line.startswith("│ ") and len(line.split()) > 1
    }
    assert {"ingest", "delete", "stats", "search", "ask", "doctor", "serve", "eval"} <= listed


def test_the_pipeline_module_loads_without_service_or_eval() -> None:
    """Importing the CLI and the pipeline pulls in no upper layer (a fresh interpreter)."""
    code = "import sys, rag.cli, rag.pipeline; print(sorted(m for m in sys.modules if m.split('.')[0] in {'service', 'eval'}))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
