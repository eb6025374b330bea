"""Crash-safe ingestion: the real `byline ingest` subprocess on an embedded store is
killed with SIGKILL at random (seeded) points, articles change between runs, and the
next ingest still leaves exactly the expected chunks — no duplicates, no orphans. A
SIGKILLed owner's lock file never blocks the next run (the kernel drops its flock)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from rag.chunking import Chunker
from rag.config import Settings
from rag.corpus import load_paths
from rag.embedding import build_embedder
from rag.store import ChromaStore

N_ARTICLES = 40
KILLS = 4
SEED = 20251123

WORDS = (
    "council harbour budget minister election river bridge vaccine farmers court ruling "
    "police storm rainfall market shares exports factory union strike teachers hospital "
    "museum festival railway airport drought wildfire ceasefire summit treaty tariff"
).split()
NAMES = ("Amara Osei", "Lena Vogt", "Tomas Ruiz", "Priya Nair", "Jonas Berg", "Mei Tanaka")
PLACES = ("Quillon", "Marbury", "Essenfeld", "Port Calder", "Villeneuve", "Oskarsby")


def _sentence(rng: random.Random) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
    return (
        f"{rng.choice(NAMES)} said in {rng.choice(PLACES)} on {rng.randint(1, 28)} May 2025 "
        f"that the {words} would cost {rng.randint(2, 900)} million euros."
    )


def _write_article(path: Path, rng: random.Random, i: int) -> None:
    paragraphs = [
        "\n".join(_sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(rng.randint(3, 6))
    ]
    title = f"{rng.choice(PLACES)} {rng.choice(WORDS)} report number {i}"
    path.write_text(f"date 2025-05-{1 + i % 28:02d}\n{title.title()}\n\n" + "\n\n".join(paragraphs) + "\n")


def _corpus(root: Path, rng: random.Random) -> Path:
    root.mkdir()
    for i in range(N_ARTICLES):
        _write_article(root / f"article_{i:03d}.txt", rng, i)
    return root


def _expected_ids(settings: Settings, corpus: Path) -> set[str]:
    articles, problems = load_paths([corpus], settings.max_file_bytes)
    assert not problems and len(articles) == N_ARTICLES
    chunker = Chunker(settings)
    ids = [c.id for a in articles for c in chunker.chunk(a)]
    assert len(ids) == len(set(ids))
    return set(ids)


def _open(settings: Settings) -> ChromaStore:
    """A store handle that sees what other processes wrote: chromadb caches one client
    system per path in a process, whose vector index would not know their writes."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    return ChromaStore(settings, build_embedder(settings).name)


def _stored(settings: Settings) -> tuple[list[str], list[dict[str, Any]]]:
    store = _open(settings)
    try:
        result = store.collection().get(include=["metadatas"])
        return list(result["ids"]), list(result["metadatas"])
    finally:
        store.close()


def _assert_exact(settings: Settings, corpus: Path) -> None:
    expected = _expected_ids(settings, corpus)
    ids, metas = _stored(settings)
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    assert set(ids) == expected, (
        f"missing {sorted(expected - set(ids))[:5]}, orphans {sorted(set(ids) - expected)[:5]}"
    )
    positions = [(m["article_id"], m["index"]) for m in metas]
    assert len(positions) == len(set(positions)), "two chunks claim one (article, index)"
    # The vector index agrees with the records: every chunk is findable, nothing else is.
    store = _open(settings)
    try:
        found = store.collection().query(
            query_embeddings=[[1.0] * 384], n_results=len(expected), include=["distances"]
        )["ids"][0]
    finally:
        store.close()
    assert set(found) == expected


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _wait_for_lock(lock: Path, proc: subprocess.Popen[str], deadline_s: float) -> None:
    """Returns when `proc` owns the store (its pid is in the lock file) or has exited."""
    deadline = time.monotonic() + deadline_s
    pid = str(proc.pid).encode()
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if lock.read_bytes().strip() == pid:
                return
        except OSError:
            pass
        time.sleep(0.01)


def _wait_for_write(lock: Path, db: Path, proc: subprocess.Popen[str], deadline_s: float) -> None:
    """Returns when `proc` has opened the store and then grown its database: the first
    chunk write (opening the store may write a little; that is let settle first)."""
    deadline = time.monotonic() + deadline_s
    _wait_for_lock(lock, proc, deadline_s)
    time.sleep(0.25)
    baseline = _size(db)
    while proc.poll() is None and time.monotonic() < deadline:
        if _size(db) > baseline:
            return
        time.sleep(0.005)


@pytest.fixture
def ingest_settings() -> Settings:
    # What the subprocess reads: BYLINE_DATA_DIR comes from the autouse fixture's env.
    return Settings(data_dir=Path(os.environ["BYLINE_DATA_DIR"]))


def test_kill_9_at_random_points_then_ingest_completes_exactly(
    tmp_path: Path, run_byline: Any, ingest_settings: Settings
) -> None:
    rng = random.Random(SEED)
    corpus = _corpus(tmp_path / "corpus", rng)
    env = {"BYLINE_STORE_LOCK_TIMEOUT_S": "10", "BYLINE_EMBED_THREADS": "2"}

    # How long a full run takes here, so the kills land across its whole life.
    probe_corpus = _corpus(tmp_path / "probe", random.Random(SEED + 1))
    started = time.monotonic()
    probe = run_byline("ingest", probe_corpus, env={**env, "BYLINE_DATA_DIR": str(tmp_path / "probe-data")})
    full_s = time.monotonic() - started
    assert probe.returncode == 0, probe.stderr

    lock = ingest_settings.chroma_path / ".byline.lock"
    db = ingest_settings.chroma_path / "chroma.sqlite3"
    partial: list[int] = []
    killed_running = 0
    for round_no in range(KILLS):
        if round_no:
            # Change a few articles between runs: the update path (new chunks written
            # before old ones are deleted) gets killed too.
            for i in rng.sample(range(N_ARTICLES), 3):
                _write_article(corpus / f"article_{i:03d}.txt", rng, i)
        proc = run_byline.popen("ingest", corpus, env=env)
        if round_no % 2:
            _wait_for_lock(lock, proc, deadline_s=full_s * 3 + 30)
            time.sleep(rng.uniform(0.0, 1.0))  # loading, embedding or writing
        else:
            _wait_for_write(lock, db, proc, deadline_s=full_s * 3 + 30)  # kill at the first write
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed_running += 1
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert "in use by process" not in err, err  # a SIGKILLed owner's lock never blocks
        ids, _ = _stored(ingest_settings)  # opening it takes the lock: the kill released it
        partial.append(len(ids))

    print(f"stored after each kill: {partial}; killed {killed_running}")  # noqa: T201
    assert killed_running >= 2, f"the kills should hit running ingests (stored after each: {partial})"
    final = run_byline("ingest", corpus, env=env)
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stderr
    _assert_exact(ingest_settings, corpus)

    again = run_byline("ingest", corpus, env=env)
    assert again.returncode == 0 and f"unchanged {N_ARTICLES}" in " ".join(again.stdout.split())
    _assert_exact(ingest_settings, corpus)


def test_two_ingests_at_once_on_the_embedded_store(
    tmp_path: Path, run_byline: Any, ingest_settings: Settings
) -> None:
    """The second waits for the first's lock (or reports it clearly); nothing is doubled."""
    corpus = _corpus(tmp_path / "corpus", random.Random(SEED + 2))
    env = {"BYLINE_STORE_LOCK_TIMEOUT_S": "120", "BYLINE_EMBED_THREADS": "2"}
    first = run_byline.popen("ingest", corpus, env=env)
    second = run_byline.popen("ingest", corpus, env=env)
    results = [p.communicate(timeout=180) for p in (first, second)]
    for proc, (_, err) in zip((first, second), results, strict=True):
        assert proc.returncode == 0, err
    outputs = sorted(" ".join(out.split()) for out, _ in results)
    assert any(f"added {N_ARTICLES}," in o for o in outputs) and any(
        f"unchanged {N_ARTICLES}" in o for o in outputs
    )
    _assert_exact(ingest_settings, corpus)
