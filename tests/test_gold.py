"""Structural and grounding checks for the evaluation gold set (eval/gold/qa.jsonl)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLD_PATH = ROOT / "eval" / "gold" / "qa.jsonl"
SEEDS_DIR = ROOT / "seeds"

REQUIRED_FIELDS = frozenset(
    {"id", "question", "answer", "accept", "sources", "evidence", "type"}
)
OPTIONAL_FIELDS = frozenset({"notes"})
ALLOWED_TYPES = frozenset(
    {
        "single",
        "multi",
        "temporal",
        "conflict",
        "numeric",
        "unanswerable",
        "adversarial",
    }
)
MIN_QUESTIONS = 60

_QUOTE_TABLE = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
)


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
    return {
        p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt"))
    }


def _item_ids() -> list[str]:
    return [str(item.get("id", f"line{i}")) for i, item in enumerate(_items(), 1)]


def test_gold_file_exists() -> None:
    assert GOLD_PATH.is_file(), f"missing gold file: {GOLD_PATH}"


def test_every_line_parses_as_object() -> None:
    for number, line in enumerate(_raw_lines(), 1):
        parsed = json.loads(line)
        assert isinstance(parsed, dict), f"line {number} is not a JSON object"


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
    keys = set(item)
    assert REQUIRED_FIELDS <= keys, f"missing fields: {sorted(REQUIRED_FIELDS - keys)}"
    extra = keys - REQUIRED_FIELDS - OPTIONAL_FIELDS
    assert not extra, f"unexpected fields: {sorted(extra)}"
    for field in ("id", "question", "answer", "type"):
        assert isinstance(item[field], str) and item[field].strip(), (
            f"{field} must be a string"
        )
    for field in ("accept", "sources", "evidence"):
        value = item[field]
        assert isinstance(value, list), f"{field} must be a list"
        assert all(isinstance(v, str) and v.strip() for v in value), (
            f"{field} has a bad entry"
        )
    if "notes" in item:
        assert isinstance(item["notes"], str)
    assert item["type"] in ALLOWED_TYPES


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
        assert any(quote in text for text in texts), (
            f"evidence not found verbatim: {quote!r}"
        )


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


def test_normalise_helper() -> None:
    assert normalise("  Trump\u2019s  \u201cBIG\u201d\n deal ") == 'trump\'s "big" deal'
