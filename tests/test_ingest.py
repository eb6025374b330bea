"""Idempotent, incremental, crash-safe ingestion against both real stores: embedded Chroma
on tmp_path and a real `chroma run` server. Real ONNX embeddings throughout."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from support.pipelines import SEED_IDS

from rag.chunking import Chunker
from rag.config import Settings
from rag.corpus import load_paths
from rag.embedding import CachedEmbedder, OnnxMiniLMEmbedder
from rag.errors import (
    BylineError,
    EmbeddingModelMismatch,
    NotFound,
    StoreBusy,
    StoreNotWritable,
    StoreUnavailable,
)
from rag.pipeline import Pipeline
from rag.store import ChromaStore

EDITED = "002_a70022376a9dca2a"
MakePipeline = Callable[[Settings], Pipeline]


@pytest.fixture(scope="session")
def _session_embedder() -> CachedEmbedder:
    return CachedEmbedder(OnnxMiniLMEmbedder(Settings(_env_file=None, data_dir=Path(tempfile.gettempdir()))))


@pytest.fixture(autouse=True)
def _reuse_vectors(monkeypatch: pytest.MonkeyPatch, _session_embedder: CachedEmbedder) -> None:
    """Every Pipeline here gets the same real ONNX embedder, so a text embedded by one test is
    not embedded again by the next (~1.3 s per seed ingest on 2 cores). The ingestor counts
    the texts it asks for, so `embeddings_computed` means the same with or without this."""
    monkeypatch.setattr("rag.pipeline.build_embedder", lambda _settings: _session_embedder)


@pytest.fixture(params=["embedded", "server"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The same test against the embedded store and against the shared server."""
    if request.param == "server":
        return request.getfixturevalue("server_settings")
    return settings


def expected_ids(settings: Settings, *paths: Path) -> dict[str, list[str]]:
    """What the chunker says the store should hold, per article."""
    articles, _ = load_paths(list(paths), settings.max_file_bytes)
    chunker = Chunker(settings)
    return {a.id: [c.id for c in chunker.chunk(a)] for a in articles}


def stored_ids(pipeline: Pipeline) -> list[str]:
    return [c.id for c in pipeline.store.iter_chunks()]


def stored_by_article(pipeline: Pipeline) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for chunk in pipeline.store.iter_chunks():
        out.setdefault(chunk.article_id, []).append(chunk.id)
    return {k: sorted(v) for k, v in out.items()}


def assert_store_matches(pipeline: Pipeline, expected: dict[str, list[str]]) -> None:
    """Exactly the expected chunks: none missing, none extra, no article twice over."""
    ids = stored_ids(pipeline)
    assert len(ids) == len(set(ids))
    assert pipeline.store.count() == sum(len(v) for v in expected.values())
    assert stored_by_article(pipeline) == {k: sorted(v) for k, v in expected.items()}
    for chunk_ids in expected.values():
        chunks = pipeline.store.chunks_of(chunk_ids[0].split("#")[0])
        assert [c.index for c in chunks] == list(range(len(chunk_ids)))
        assert len({c.version for c in chunks}) == 1


def append_sentence(path: Path) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write("\nOfficials added that talks would continue next week.\n")


# --- ingest, re-ingest, update -------------------------------------------------------------


def test_ingest_seeds(store_settings: Settings, seeds_dir: Path, pipeline_factory: MakePipeline) -> None:
    pipeline = pipeline_factory(store_settings)
    report = pipeline.ingest([seeds_dir])
    expected = expected_ids(store_settings, seeds_dir)
    total = sum(len(v) for v in expected.values())
    assert sorted(report.added) == SEED_IDS
    assert report.updated == report.unchanged == report.deleted == report.skipped == []
    assert report.chunks_written == report.embeddings_computed == total
    assert report.chunks_deleted == 0
    assert_store_matches(pipeline, expected)
    rows = pipeline.store.list_articles()
    assert [r["article_id"] for r in rows] == SEED_IDS
    assert {r["article_id"]: r["chunks"] for r in rows} == {k: len(v) for k, v in expected.items()}
    by_id = {r["article_id"]: r for r in rows}
    assert by_id["004_36119deba365cd7b"]["source"] == "Business Standard"
    assert by_id["004_36119deba365cd7b"]["date"] == "2025-10-29"


def test_reingest_unchanged_computes_nothing(
    store_settings: Settings, seeds_dir: Path, pipeline_factory: MakePipeline
) -> None:
    first = pipeline_factory(store_settings)
    first.ingest([seeds_dir])
    before = sorted(stored_ids(first))
    first.close()

    # A new Pipeline (as a new process would be) decides from the store alone.
    second = pipeline_factory(store_settings)
    report = second.ingest([seeds_dir])
    assert sorted(report.unchanged) == SEED_IDS
    assert report.added == report.updated == report.deleted == []
    assert report.embeddings_computed == report.chunks_written == report.chunks_deleted == 0
    assert sorted(stored_ids(second)) == before
    assert second.store.count() == len(before)


def test_edited_article_is_replaced(
    store_settings: Settings, corpus_dir: Path, pipeline_factory: MakePipeline
) -> None:
    pipeline = pipeline_factory(store_settings)
    pipeline.ingest([corpus_dir])
    old = stored_by_article(pipeline)

    append_sentence(corpus_dir / f"{EDITED}.txt")
    report = pipeline.ingest([corpus_dir])
    expected = expected_ids(store_settings, corpus_dir)

    assert report.updated == [EDITED]
    assert sorted(report.unchanged) == sorted(set(SEED_IDS) - {EDITED})
    assert report.added == report.deleted == []
    assert report.embeddings_computed == len(expected[EDITED])
    assert report.chunks_deleted == len(old[EDITED])
    assert_store_matches(pipeline, expected)
    now = stored_by_article(pipeline)
    assert set(now[EDITED]).isdisjoint(old[EDITED])
    for article_id in SEED_IDS:
        if article_id != EDITED:
            assert now[article_id] == old[article_id]
    assert "talks would continue next week" in pipeline.store.chunks_of(EDITED)[-1].text


def test_chunk_settings_change_reembeds_everything(
    settings: Settings, seeds_dir: Path, pipeline_factory: MakePipeline
) -> None:
    pipeline = pipeline_factory(settings)
    pipeline.ingest([seeds_dir])
    pipeline.close()
    resized = settings.model_copy(update={"chunk_size": 200})
    again = pipeline_factory(resized)
    report = again.ingest([seeds_dir])
    assert sorted(report.updated) == SEED_IDS
    assert_store_matches(again, expected_ids(resized, seeds_dir))


# --- delete and prune --------------------------------------------------------------------


def test_delete_article(store_settings: Settings, seeds_dir: Path, pipeline_factory: MakePipeline) -> None:
    pipeline = pipeline_factory(store_settings)
    pipeline.ingest([seeds_dir])
    expected = expected_ids(store_settings, seeds_dir)
    victim = "001_5f7e776c0ce82901"

    assert pipeline.ingestor.delete_article(victim) == len(expected[victim])
    assert pipeline.store.chunks_of(victim) == []
    del expected[victim]
    assert_store_matches(pipeline, expected)

    with pytest.raises(NotFound, match="no article with id"):
        pipeline.ingestor.delete_article(victim)
    with pytest.raises(NotFound):
        pipeline.ingestor.delete_article("no-such-article")
    assert pipeline.store.count() == sum(len(v) for v in expected.values())


def test_prune_removes_vanished_files(
    store_settings: Settings, corpus_dir: Path, seeds_dir: Path, pipeline_factory: MakePipeline
) -> None:
    pipeline = pipeline_factory(store_settings)
    pipeline.ingest([corpus_dir])
    gone, broken = "000_602e51685fe81370", "003_2910c2332927eb84"
    (corpus_dir / f"{gone}.txt").unlink()
    (corpus_dir / f"{broken}.txt").write_bytes(b"")  # fails to load: not a removal

    report = pipeline.ingest([corpus_dir], prune=True)
    assert report.deleted == [gone]
    assert [Path(p.path).name for p in report.skipped] == [f"{broken}.txt"]
    expected = expected_ids(store_settings, seeds_dir)
    del expected[gone]
    assert_store_matches(pipeline, expected)

    # Without --prune nothing is deleted.
    (corpus_dir / "001_5f7e776c0ce82901.txt").unlink()
    report = pipeline.ingest([corpus_dir])
    assert report.deleted == []
    assert "001_5f7e776c0ce82901" in stored_by_article(pipeline)


def test_prune_keeps_articles_of_a_broken_jsonl(settings: Settings, tmp_path: Path, pipeline_factory) -> None:
    feed = tmp_path / "feeds" / "feed.jsonl"
    feed.parent.mkdir()
    feed.write_text(
        '{"text": "Trade talks resumed in Kuala Lumpur on Sunday."}\n'
        '{"text": "Rare earth export controls were paused for a year."}\n'
    )
    pipeline = pipeline_factory(settings)
    assert sorted(pipeline.ingest([feed.parent]).added) == ["feed-0", "feed-1"]
    feed.write_text('{"text": broken\n')
    report = pipeline.ingest([feed.parent], prune=True)
    assert report.skipped and report.deleted == []


def test_prune_with_missing_path_deletes_nothing(
    settings: Settings, seeds_dir: Path, tmp_path: Path, pipeline_factory
) -> None:
    pipeline = pipeline_factory(settings)
    pipeline.ingest([seeds_dir])
    before = pipeline.store.count()
    # Refusing (an error) and skipping the prune (a report) are both fine; wiping is not.
    with contextlib.suppress(BylineError):
        pipeline.ingest([tmp_path / "unmounted-corpus"], prune=True)
    assert pipeline.store.count() == before


# --- crashes -----------------------------------------------------------------------------


def test_interrupted_first_ingest_is_completed(
    store_settings: Settings, seeds_dir: Path, pipeline_factory: MakePipeline
) -> None:
    pipeline = pipeline_factory(store_settings)
    articles, _ = load_paths([seeds_dir], store_settings.max_file_bytes)
    article = next(a for a in articles if a.id == "001_5f7e776c0ce82901")
    chunks = pipeline.chunker.chunk(article)
    half = chunks[: len(chunks) // 2]
    pipeline.store.upsert(half, pipeline.embedder.embed([c.text for c in half]))  # what a crash leaves

    report = pipeline.ingest([seeds_dir])
    expected = expected_ids(store_settings, seeds_dir)
    assert sorted(report.added) == SEED_IDS  # still a first ingest of that article
    assert report.chunks_deleted == 0
    assert report.embeddings_computed == sum(len(v) for v in expected.values()) - len(half)
    assert_store_matches(pipeline, expected)

    assert pipeline.ingest([seeds_dir]).embeddings_computed == 0


def test_interrupted_update_is_completed(
    store_settings: Settings, corpus_dir: Path, pipeline_factory: MakePipeline
) -> None:
    pipeline = pipeline_factory(store_settings)
    pipeline.ingest([corpus_dir])
    old = stored_by_article(pipeline)[EDITED]

    append_sentence(corpus_dir / f"{EDITED}.txt")
    [edited], _ = load_paths([corpus_dir / f"{EDITED}.txt"], store_settings.max_file_bytes)
    new_chunks = pipeline.chunker.chunk(edited)
    half = new_chunks[: len(new_chunks) // 2]
    pipeline.store.upsert(half, pipeline.embedder.embed([c.text for c in half]))  # crash mid-write

    report = pipeline.ingest([corpus_dir])
    assert report.updated == [EDITED]
    assert report.embeddings_computed == len(new_chunks) - len(half)
    assert report.chunks_deleted == len(old)
    assert_store_matches(pipeline, expected_ids(store_settings, corpus_dir))


def test_crash_before_old_chunks_were_deleted(
    store_settings: Settings, corpus_dir: Path, pipeline_factory: MakePipeline
) -> None:
    pipeline = pipeline_factory(store_settings)
    pipeline.ingest([corpus_dir])
    append_sentence(corpus_dir / f"{EDITED}.txt")
    [edited], _ = load_paths([corpus_dir / f"{EDITED}.txt"], store_settings.max_file_bytes)
    new_chunks = pipeline.chunker.chunk(edited)
    pipeline.store.upsert(new_chunks, pipeline.embedder.embed([c.text for c in new_chunks]))

    report = pipeline.ingest([corpus_dir])
    assert report.updated == [EDITED]
    assert report.embeddings_computed == 0
    assert_store_matches(pipeline, expected_ids(store_settings, corpus_dir))


# --- several processes -------------------------------------------------------------------


def test_two_concurrent_ingests_on_the_server(
    server_settings: Settings, seeds_dir: Path, run_byline, pipeline_factory: MakePipeline
) -> None:
    env = {
        "CHROMA_HOST": str(server_settings.chroma_host),
        "CHROMA_PORT": str(server_settings.chroma_port),
        "BYLINE_COLLECTION": server_settings.collection,
    }
    procs = [run_byline.popen("ingest", seeds_dir, env=env) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "skipped 0" in out
    assert_store_matches(pipeline_factory(server_settings), expected_ids(server_settings, seeds_dir))


def test_two_concurrent_ingests_on_the_embedded_store(
    settings: Settings, seeds_dir: Path, run_byline, pipeline_factory: MakePipeline
) -> None:
    procs = [run_byline.popen("ingest", seeds_dir) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    summaries = sorted(" ".join(out.split()) for out, _ in outputs)
    # One wrote everything; the other waited for the lock and found nothing to do.
    assert summaries[0].startswith("added 0, updated 0, unchanged 5"), summaries
    assert summaries[1].startswith("added 5, updated 0, unchanged 0"), summaries
    assert_store_matches(pipeline_factory(settings), expected_ids(settings, seeds_dir))


def test_embedded_store_in_use_is_a_clear_error(
    settings: Settings, seeds_dir: Path, run_byline, pipeline_factory: MakePipeline
) -> None:
    holder = pipeline_factory(settings)
    holder.store.count()  # opens the store and takes its lock

    result = run_byline("ingest", seeds_dir, env={"BYLINE_STORE_LOCK_TIMEOUT_S": "0.5"})
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split())
    assert f"in use by process {os.getpid()}" in message
    assert "CHROMA_HOST" in message  # says what to do
    assert "Traceback" not in result.stderr

    # In-process too: a second Pipeline on the same directory is refused, not corrupted.
    other = pipeline_factory(settings.model_copy(update={"store_lock_timeout_s": 0.2}))
    with pytest.raises(StoreBusy, match=f"in use by process {os.getpid()}"):
        other.store.count()

    holder.close()  # once released, the next owner gets in
    assert other.store.count() == 0


# --- embedding model, permissions, server failures -----------------------------------------


def test_embedding_model_mismatch(
    store_settings: Settings, seeds_dir: Path, pipeline_factory: MakePipeline
) -> None:
    foreign = ChromaStore(store_settings, "x")
    assert foreign.count() == 0  # creates the collection, recording model "x"
    foreign.close()

    pipeline = pipeline_factory(store_settings)
    with pytest.raises(EmbeddingModelMismatch) as info:
        pipeline.ingest([seeds_dir])
    text = str(info.value)
    assert "re-index" in text
    assert "'x'" in text and pipeline.embedder.name in text

    # What the message recommends works.
    pipeline.store.reset_collection()
    assert sorted(pipeline.ingest([seeds_dir]).added) == SEED_IDS
    assert pipeline.store.count() == sum(len(v) for v in expected_ids(store_settings, seeds_dir).values())


def test_read_only_data_dir(tmp_path: Path, seeds_dir: Path, pipeline_factory: MakePipeline) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("permissions are not enforced for this user (root); see the setpriv variant")
        pipeline = pipeline_factory(Settings(data_dir=locked / "data", llm_backend="extractive"))
        with pytest.raises(StoreNotWritable) as info:
            pipeline.ingest([seeds_dir])
        assert str(locked / "data") in str(info.value)
        assert "writable" in str(info.value)
    finally:
        locked.chmod(0o700)


def _unprivileged_available() -> bool:
    """Root with setpriv, and a checkout `nobody` can read (a clone under a 0700 temp dir,
    as CI's may be, is not)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", "import rag"],
        capture_output=True,
        cwd="/",
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _unprivileged_available(), reason="needs root to drop to an unprivileged user")
@pytest.mark.parametrize("case", ["no-data-dir", "store-owned-by-another-user"])
def test_read_only_data_dir_as_unprivileged_user(case: str, seeds_dir: Path, run_byline) -> None:
    """Root ignores permissions, so run `byline` as `nobody` against a root-owned dir."""
    shared = Path(tempfile.mkdtemp(prefix="byline-ro-"))
    try:
        shared.chmod(0o755)
        data = shared / "data"
        if case == "no-data-dir":
            target = shared / "sub" / "data"
            (shared / "sub").mkdir(mode=0o755)
        else:
            target = data
            owner = Pipeline(Settings(data_dir=data, llm_backend="extractive"))
            owner.ingest([seeds_dir / "000_602e51685fe81370.txt"])  # as root
            owner.close()
        result = subprocess_as_nobody(run_byline, ["ingest", str(seeds_dir)], target, shared)
        assert result.returncode == 1, (result.stdout, result.stderr)
        message = " ".join(result.stderr.split())
        assert "error:" in message and "Traceback" not in result.stderr
        assert "writable" in message, message
        assert str(target) in message
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def subprocess_as_nobody(
    run_byline, args: list[str], data_dir: Path, home: Path
) -> subprocess.CompletedProcess[str]:
    env = run_byline.env({"BYLINE_DATA_DIR": str(data_dir), "HOME": str(home)})
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *run_byline.argv(*args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=home,
        stdin=subprocess.DEVNULL,
    )


def test_server_restart_keeps_data_and_outage_is_clear(
    server_settings: Settings, seeds_dir: Path, chroma_server, pipeline_factory: MakePipeline
) -> None:
    pipeline = pipeline_factory(server_settings)
    pipeline.ingest([seeds_dir])
    count = pipeline.store.count()

    chroma_server.stop()
    try:
        with pytest.raises(StoreUnavailable) as info:
            pipeline.store.count()
        assert "chroma server" in str(info.value) and "CHROMA_HOST" in str(info.value)
    finally:
        chroma_server.start()

    assert pipeline.store.count() == count
    report = pipeline.ingest([seeds_dir])
    assert report.embeddings_computed == 0 and sorted(report.unchanged) == SEED_IDS
    assert Counter(c.article_id for c in pipeline.store.iter_chunks()) == {
        k: len(v) for k, v in expected_ids(server_settings, seeds_dir).items()
    }
