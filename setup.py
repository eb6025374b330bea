"""Everything is declared in pyproject.toml; this file only adds one build step: the wheel
carries the sample articles of the top-level `seeds/` (the one copy in the repository) as
package data under `rag/seeds/`, where `Settings.seeds_dir` finds them in an installed
Byline. A checkout (or an editable install) reads `seeds/` itself."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SEEDS = Path(__file__).resolve().parent / "seeds"


class BuildPyWithSeeds(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "rag" / "seeds"
        shutil.rmtree(target, ignore_errors=True)  # no stale files from an earlier build
        files = sorted(p for p in SEEDS.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise SystemExit(f"no sample articles in {SEEDS}: the wheel would ship an empty store")
        target.mkdir(parents=True)
        for path in files:
            shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithSeeds})
