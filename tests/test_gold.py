"""Structural and grounding checks for the evaluation gold set (eval/gold/qa.jsonl).

eval/gold/README.md describes the fields, the frozen dev/test split and how the reader-worded
"r" questions were written; these tests hold the file to it. The fields and their types are
checked by the eval's own loader and model (`load_gold` with `StrictGoldItem`), so the
file the tests pass is the file the eval reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from eval.goldcheck import longest_shared_run, overlap_rows, render
from eval.metrics import QUESTION_TYPES, StrictGoldItem, premise_restated
from eval.runner import load_gold

ROOT = Path(__file__).resolve().parents[1]
GOLD_PATH = ROOT / "eval" / "gold" / "qa.jsonl"
SEEDS_DIR = ROOT / "seeds"

REQUIRED_FIELDS = frozenset({"id", "question", "answer", "accept", "sources", "evidence", "type", "split"})
OPTIONAL_FIELDS = frozenset({"notes", "sides", "premise"})
SPLITS = ("dev", "test")
ALLOWED_TYPES = frozenset(QUESTION_TYPES)  # the eval's own Literal: one place names the types
MIN_QUESTIONS = 170

# Reader-worded questions (ids "r..."): how many of each type at least, and the longest run
# of consecutive words a question may share with a seed article (exclusive).
MIN_READER_QUESTIONS = 90
MIN_READER_PER_TYPE = {
    "single": 20,
    "multi": 10,
    "temporal": 10,
    "numeric": 10,
    "conflict": 6,
    "false_premise": 12,
    "unanswerable": 12,
    "adversarial": 2,
}
MAX_SHARED_RUN = 4

# The dev/test split is fixed once and never changed: sha256 over the sorted "id:split"
# lines of the items that existed when it was drawn (q001-q078, r001-r103). Items added
# later get a split of their own and leave this digest alone.
FROZEN_IDS = tuple(f"q{n:03d}" for n in range(1, 79)) + tuple(f"r{n:03d}" for n in range(1, 104))
FROZEN_SPLIT_SHA256 = "18bb9078e341784c371ccc8e52cc68d1e6b4ad368e04e6e43a0fe8414a70b951"

_QUOTE_TABLE = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def normalise(text: str) -> str:
    """Lowercase, map curly quotes to straight quotes and collapse whitespace."""
    return re.sub(r"\s+", " ", text.translate(_QUOTE_TABLE)).strip().lower()


@cache
def _raw_lines() -> tuple[str, ...]:
    lines = GOLD_PATH.read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line.strip())


@cache
def _items() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in _raw_lines())


@cache
def _seed_texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt"))}


def _item_ids() -> list[str]:
    return [str(item.get("id", f"line{i}")) for i, item in enumerate(_items(), 1)]


def _reader_items() -> tuple[dict[str, Any], ...]:
    return tuple(item for item in _items() if str(item.get("id", "")).startswith("r"))


def test_gold_file_exists() -> None:
    assert GOLD_PATH.is_file(), f"missing gold file: {GOLD_PATH}"


def test_every_line_parses_as_object() -> None:
    for number, line in enumerate(_raw_lines(), 1):
        parsed = json.loads(line)
        assert isinstance(parsed, dict), f"line {number} is not a JSON object"


def test_the_eval_loads_every_item() -> None:
    """The eval's own loader, held to the README's contract, takes the whole file (it
    raises with the line number of the first bad line) and keeps every item, in order."""
    loaded = load_gold(GOLD_PATH, StrictGoldItem)
    assert [item.id for item in loaded] == [item["id"] for item in _items()]


def test_model_fields_are_the_documented_ones() -> None:
    """StrictGoldItem requires exactly the README's required fields, allows its optional
    ones, and its question types are the eval's."""
    fields = StrictGoldItem.model_fields
    assert {name for name, f in fields.items() if f.is_required()} == REQUIRED_FIELDS
    assert {name for name, f in fields.items() if not f.is_required()} == OPTIONAL_FIELDS
    assert StrictGoldItem.model_config.get("extra") == "forbid"
    assert get_args(fields["split"].annotation) == SPLITS
    with pytest.raises(ValidationError, match="type"):
        StrictGoldItem.model_validate({**_items()[0], "type": "made_up"})


def test_minimum_question_count() -> None:
    assert len(_items()) >= MIN_QUESTIONS


def test_ids_unique() -> None:
    ids = [item["id"] for item in _items()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate ids: {duplicates}"


def test_every_type_present() -> None:
    present = {item["type"] for item in _items()}
    assert present == ALLOWED_TYPES, f"missing types: {sorted(ALLOWED_TYPES - present)}"


def test_every_seed_is_a_source() -> None:
    used = {source for item in _items() for source in item["sources"]}
    unused = sorted(set(_seed_texts()) - used)
    assert not unused, f"seed files never cited: {unused}"


@pytest.mark.parametrize("item", _items(), ids=_item_ids())
def test_fields_and_types(item: dict[str, Any]) -> None:
    """Each item on its own, as the loader validates it: every required field, no unknown
    one, non-blank strings and lists of them, notes as text, a known type and split, and
    a q###/r### id."""
    try:
        StrictGoldItem.model_validate(item)
    except ValidationError as exc:
        pytest.fail(f"not a gold item as eval/gold/README.md specifies: {exc}")


@pytest.mark.parametrize("item", _items(), ids=_item_ids())
def test_sources_exist(item: dict[str, Any]) -> None:
    seeds = _seed_texts()
    for source in item["sources"]:
        assert source in seeds, f"unknown source {source!r}"


@pytest.mark.parametrize("item", _items(), ids=_item_ids())
def test_evidence_is_verbatim(item: dict[str, Any]) -> None:
    seeds = _seed_texts()
    texts = [seeds[s] for s in item["sources"] if s in seeds]
    for quote in item["evidence"]:
        assert any(quote in text for text in texts), f"evidence not found verbatim: {quote!r}"


@pytest.mark.parametrize("item", _items(), ids=_item_ids())
def test_answerability_contract(item: dict[str, Any]) -> None:
    if item["type"] == "unanswerable":
        assert item["accept"] == []
        assert item["sources"] == []
        assert item["evidence"] == []
        return
    assert item["accept"], "answerable item needs accept strings"
    assert item["sources"], "answerable item needs sources"
    assert item["evidence"], "answerable item needs evidence"
    answer = normalise(item["answer"])
    assert any(normalise(a) in answer for a in item["accept"]), (
        "reference answer contains none of its accept strings"
    )


@pytest.mark.parametrize("item", _items(), ids=_item_ids())
def test_sides(item: dict[str, Any]) -> None:
    """`sides`: only on conflict items; >= 2 distinct values, each one found in the item's
    evidence or source texts and in its reference answer, none contained in another (or an
    answer giving one side would count as giving both)."""
    if "sides" not in item:
        return
    assert item["type"] == "conflict", "sides only belong on conflict items"
    sides = item["sides"]
    assert isinstance(sides, list) and len(sides) >= 2, "sides needs at least two values"
    assert all(isinstance(s, str) and s.strip() for s in sides), "sides has a bad entry"
    normalised = [normalise(s) for s in sides]
    assert len(set(normalised)) == len(normalised), "sides repeat"
    for a in normalised:
        assert not any(a != b and a in b for b in normalised), f"side {a!r} is inside another side"
    seeds = _seed_texts()
    haystack = [normalise(e) for e in item["evidence"]] + [
        normalise(seeds[s]) for s in item["sources"] if s in seeds
    ]
    answer = normalise(item["answer"])
    for side in normalised:
        assert any(side in text for text in haystack), f"side {side!r} not in evidence or sources"
        assert side in answer, f"reference answer does not report side {side!r}"


@pytest.mark.parametrize("item", _items(), ids=_item_ids())
def test_premise(item: dict[str, Any]) -> None:
    """`premise`: on every false-premise item and no other. The scorer calls an answer
    that states one of these strings undenied wrong, so the reference answer and each
    accept string must not do so: a right answer could not pass otherwise."""
    if item["type"] != "false_premise":
        assert "premise" not in item, "premise only belongs on false-premise items"
        return
    assert item.get("premise"), "a false-premise item needs the strings that restate its premise"
    assert not premise_restated(item["answer"], item["premise"]), "the reference answer restates the premise"
    for accept in item["accept"]:
        assert not premise_restated(accept, item["premise"]), f"accept string {accept!r} restates the premise"


def test_every_split_has_every_type() -> None:
    for split in SPLITS:
        present = {item["type"] for item in _items() if item["split"] == split}
        assert present == ALLOWED_TYPES, f"{split} lacks {sorted(ALLOWED_TYPES - present)}"


# Questions used to find and fix failures go to dev whatever their type (README "Split");
# r268 onwards are drawn between the splits again.
TUNING_IDS = {f"r{n:03d}" for n in range(116, 268)}


def test_splits_are_balanced_per_type() -> None:
    drawn = [i for i in _items() if i["id"] not in TUNING_IDS]
    for type_ in sorted(ALLOWED_TYPES):
        counts = [sum(1 for i in drawn if i["type"] == type_ and i["split"] == s) for s in SPLITS]
        assert abs(counts[0] - counts[1]) <= 1, f"{type_}: dev/test = {counts}"
    assert all(i["split"] == "dev" for i in _items() if i["id"] in TUNING_IDS)


def test_frozen_split_unchanged() -> None:
    by_id = {item["id"]: item["split"] for item in _items()}
    missing = [i for i in FROZEN_IDS if i not in by_id]
    assert not missing, f"frozen items removed: {missing}"
    lines = "\n".join(f"{i}:{by_id[i]}" for i in sorted(FROZEN_IDS))
    digest = hashlib.sha256(lines.encode()).hexdigest()
    assert digest == FROZEN_SPLIT_SHA256, "the dev/test split of existing items changed"


def test_reader_question_counts() -> None:
    reader = _reader_items()
    assert len(reader) >= MIN_READER_QUESTIONS
    for type_, minimum in MIN_READER_PER_TYPE.items():
        count = sum(1 for item in reader if item["type"] == type_)
        assert count >= minimum, f"only {count} reader-worded {type_} questions"


@pytest.mark.parametrize("item", _reader_items(), ids=[i["id"] for i in _reader_items()])
def test_reader_question_avoids_article_wording(item: dict[str, Any]) -> None:
    length, run = longest_shared_run(item["question"], _seed_texts().values())
    assert length < MAX_SHARED_RUN, f"shares {length} consecutive words with an article: {run!r}"


def test_overlap_report_is_current() -> None:
    """eval/gold/overlap.md is the output of `python -m eval.goldcheck` for the current file."""
    expected = render(overlap_rows(GOLD_PATH, SEEDS_DIR), "python -m eval.goldcheck")
    actual = (GOLD_PATH.parent / "overlap.md").read_text(encoding="utf-8")
    assert actual == expected, "regenerate: python -m eval.goldcheck > eval/gold/overlap.md"


def test_longest_shared_run() -> None:
    texts = ["The Cat sat on the mat.", "A dog’s day"]
    assert longest_shared_run("the cat, SAT on a mat", texts) == (4, "the cat sat on")
    assert longest_shared_run("one dog's day out", texts) == (2, "dogs day")
    assert longest_shared_run("nothing shared", texts) == (0, "")


def test_normalise_helper() -> None:
    assert normalise("  Trump\u2019s  \u201cBIG\u201d\n deal ") == 'trump\'s "big" deal'
