"""The real `byline` console script: ingest (with bad files), stats, delete, search."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from support.pipelines import SEED_IDS


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_ingest_stats_delete_search_prune(tmp_path: Path, seeds_dir: Path, run_byline: Any) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(seeds_dir, corpus)
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    missing = tmp_path / "missing.txt"

    first = run_byline("ingest", corpus, missing)
    assert first.returncode == 3, first.stderr  # partial: some files skipped
    out, err = _flat(first.stdout), first.stderr
    assert out.startswith("added 5, updated 0, unchanged 0, deleted 0, skipped 3;"), out
    skipped = {
        line.split(": ", 1)[0]: line.split(": ", 1)[1]
        for line in err.splitlines()
        if line.startswith("skipped ")
    }
    assert skipped == {
        f"skipped {corpus / 'binary.txt'}": "binary file (contains NUL bytes)",
        f"skipped {corpus / 'empty.txt'}": "empty file",
        f"skipped {missing}": "no such file or folder",
    }
    assert "Traceback" not in err

    again = run_byline("ingest", corpus, missing)
    assert again.returncode == 3
    assert "added 0, updated 0, unchanged 5" in _flat(again.stdout)
    assert "chunks written 0, deleted 0" in _flat(again.stdout)

    stats = run_byline("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    data = json.loads(stats.stdout)
    assert str(tmp_path / "data") in data["store"]
    assert [row["article_id"] for row in data["articles"]] == SEED_IDS
    chunks = {row["article_id"]: row["chunks"] for row in data["articles"]}
    assert all(n > 0 for n in chunks.values())

    victim = SEED_IDS[1]
    deleted = run_byline("delete", victim)
    assert deleted.returncode == 0, deleted.stderr
    assert _flat(deleted.stdout) == f"deleted {victim} ({chunks[victim]} chunks)"

    unknown = run_byline("delete", victim)
    assert unknown.returncode == 1
    assert f"no article with id '{victim}'" in _flat(unknown.stderr)
    assert "Traceback" not in unknown.stderr

    search = run_byline("search", "Where will Trump and Xi meet?", "--json", "-k", "4")
    assert search.returncode == 0, search.stderr
    hits = json.loads(search.stdout)
    assert 1 <= len(hits) <= 4
    assert all(h["chunk"]["article_id"] in SEED_IDS and h["chunk"]["article_id"] != victim for h in hits)
    assert all(h["chunk"]["text"] and h["score"] > 0 for h in hits)

    # --prune: a vanished file's article goes; the deleted one's file is still there, so it
    # comes back; files that fail to load are not taken for removed ones.
    (corpus / f"{SEED_IDS[0]}.txt").unlink()
    pruned = run_byline("ingest", "--prune", corpus)
    assert pruned.returncode == 3, pruned.stderr
    assert _flat(pruned.stdout).startswith("added 1, updated 0, unchanged 3, deleted 1, skipped 2;"), (
        pruned.stdout
    )
