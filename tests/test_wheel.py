"""The wheel is the product: build it, install it into a fresh venv, and from a directory
outside the repository, without network, ask a question — the code, the sample articles,
the tokenizer and the widget must all come from the installed wheel.

The fresh venv gets the wheel alone (`pip install --no-deps`); its dependencies are the ones
already installed in the test's own venv, made visible by a `.pth` line (plain paths are
not processed for `.pth` files, so the repository's editable install does not leak in). Every
command runs with a socket guard that refuses any non-loopback connection, and inside an
empty network namespace (`unshare -n`) where the machine allows one.
"""

from __future__ import annotations

import filecmp
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from support.netguard import unshare_prefix, write_guard_sitecustomize
from support.serve import ServeProcess

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "rag", "service", "eval", "seeds")
QUESTION = "Where will Trump and Xi meet?"


@dataclass
class Installed:
    venv: Path
    wheel: Path
    workdir: Path
    env: dict[str, str]
    net_log: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def site_packages(self) -> Path:
        return Path(self.python_path("purelib"))

    def python_path(self, key: str) -> str:
        out = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", f"import sysconfig; print(sysconfig.get_paths()[{key!r}])"],
            capture_output=True,
            text=True,
            check=True,
            env=self.env,
            cwd=self.workdir,
        )
        return out.stdout.strip()

    def run(self, *argv: str, offline: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        exe = argv[0] if argv[0].startswith("/") else str(self.venv / "bin" / argv[0])
        prefix = (unshare_prefix() or []) if offline else []
        return subprocess.run(
            [*prefix, exe, *argv[1:]],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    try:
        if int(md.version("setuptools").split(".")[0]) < 77:
            pytest.skip("building the wheel offline needs setuptools>=77 in this venv")
    except md.PackageNotFoundError:
        pytest.skip("building the wheel offline needs setuptools in this venv")
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:  # what the sdist holds; no build/ or egg-info of the checkout
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(base / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    timings["build_s"] = time.perf_counter() - started
    (wheel,) = (base / "dist").glob("byline-*.whl")

    venv = base / "venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    timings["install_s"] = time.perf_counter() - started

    workdir = base / "elsewhere"  # not the repository, not below it
    workdir.mkdir()
    guard = write_guard_sitecustomize(base / "guard")
    net_log = base / "net-attempts.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BYLINE_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        {
            "PATH": f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(guard),
            "BYLINE_TEST_NET_LOG": str(net_log),
            "BYLINE_DATA_DIR": str(base / "data"),
            "BYLINE_LLM_BACKEND": "extractive",
            "BYLINE_EMBED_THREADS": "2",
            "HF_HUB_OFFLINE": "1",
            "COLUMNS": "1000",
            "NO_COLOR": "1",
        }
    )
    result = Installed(venv, wheel, workdir, env, net_log, timings)
    # The dependencies: this venv's, by path (after the fresh venv's own site-packages).
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (result.site_packages / "_byline_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    yield result
    attempts = net_log.read_text() if net_log.exists() else ""
    assert attempts == "", f"network access attempted:\n{attempts}"


def test_wheel_carries_every_runtime_file(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for package in ("rag", "service", "eval"):
        for path in (ROOT / package).rglob("*.py"):
            assert path.relative_to(ROOT).as_posix() in names
    for seed in (ROOT / "seeds").iterdir():
        assert f"rag/seeds/{seed.name}" in names
    for asset in ("rag/assets/minilm-tokenizer.json", "service/static/widget.js", "service/static/demo.html",
                  "eval/gold/qa.jsonl"):  # fmt: skip
        assert asset in names
    assert not any(n.startswith(("seeds/", "tests/", "benchmarks/")) for n in names)


def test_installed_code_and_data_come_from_the_wheel(installed: Installed) -> None:
    probe = installed.run(
        "python",
        "-c",
        "import json, importlib.metadata as md, rag, service, eval; from rag.config import Settings; "
        "print(json.dumps({'rag': rag.__file__, 'service': service.__file__, 'eval': eval.__file__, "
        "'seeds': str(Settings().seeds_dir), 'version': md.version('byline')}))",
    )
    assert probe.returncode == 0, probe.stderr
    where = json.loads(probe.stdout)
    site = installed.site_packages
    for key in ("rag", "service", "eval"):
        assert Path(where[key]).is_relative_to(site), where
        assert not Path(where[key]).is_relative_to(ROOT), where
    seeds = Path(where["seeds"])
    assert seeds == site / "rag" / "seeds"
    same, different, missing = filecmp.cmpfiles(ROOT / "seeds", seeds, sorted(p.name for p in (ROOT / "seeds").iterdir()), shallow=False)
    assert len(same) == 5 and not different and not missing
    assert where["version"] == md.version("byline")

    version = installed.run("byline", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"byline {where['version']}"


def test_doctor_from_the_wheel(installed: Installed) -> None:
    result = installed.run("byline", "doctor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert "(wheel;" in checks["byline"]["detail"]
    assert checks["samples"]["status"] == "ok" and str(installed.site_packages) in checks["samples"]["detail"]
    assert "tokenizer" in checks["embeddings"]["detail"] and checks["embeddings"]["status"] == "ok"
    assert "sha256 as pip recorded it" in checks["embeddings"]["detail"].split("tokenizer", 1)[1]
    assert checks["downloads"]["status"] == "ok"


def test_ask_from_the_wheel_offline(installed: Installed) -> None:
    started = time.perf_counter()
    result = installed.run("byline", "ask", "--json", QUESTION)
    first_answer_s = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ingested 5 sample articles from {installed.site_packages / 'rag' / 'seeds'}" in " ".join(result.stderr.split())
    answer = json.loads(result.stdout)
    assert not answer["abstained"] and answer["citations"] and "[1]" in answer["text"]
    assert all(c["quote"] and c["end"] > c["start"] for c in answer["citations"])
    # Reported by `-s`/`-rA`: the numbers the README quotes.
    sys.stderr.write(
        f"\nwheel {installed.wheel.stat().st_size / 1024:.0f} KB; build {installed.timings['build_s']:.1f} s; "
        f"venv + install {installed.timings['install_s']:.1f} s; first answer {first_answer_s:.1f} s\n"
    )


def test_serve_from_the_wheel(installed: Installed) -> None:
    serve = ServeProcess.byline(installed.workdir, environ=installed.env, exe=installed.venv / "bin" / "byline")
    with serve, httpx.Client(trust_env=False, timeout=30) as http:
        body = serve.wait_ready(90).json()
        assert body["articles"] == 5 and body["chunks"] > 5 and body["warning"] is None
        assert body["data_dir"] == installed.env["BYLINE_DATA_DIR"]
        answer = http.post(f"{serve.url}/v1/ask", json={"question": QUESTION}).json()
        assert not answer["abstained"] and answer["citations"]
        assert http.get(f"{serve.url}/widget.js").status_code == 200
        assert http.get(f"{serve.url}/docs").status_code == 200
