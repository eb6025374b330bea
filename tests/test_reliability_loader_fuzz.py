"""A fuzz of the article loader (hypothesis): random bytes, huge lines, odd encodings and
random JSON structures either load as articles or raise ValueError saying what is wrong —
never another exception, and never a hang."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.corpus import SUPPORTED_SUFFIXES, articles_from_bytes
from rag.types import Article

SUFFIXES = sorted(SUPPORTED_SUFFIXES) + [".pdf", ""]
FUZZ = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=200),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["id", "title", "text", "body", "content", "date", "published", "source", "url", "x"]
            )
            | st.text(max_size=10),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)

article_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=2000
)


def _load(data: bytes, name: str) -> list[Article] | None:
    try:
        articles = articles_from_bytes(data, name)
    except ValueError as exc:
        assert str(exc)  # says what is wrong
        return None
    assert articles and all(isinstance(a, Article) and a.body.strip() and a.id for a in articles)
    return articles


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(data: bytes, suffix: str) -> None:
    _load(data, f"fuzz{suffix}")


@FUZZ
@given(
    text=article_texts,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]),
    suffix=st.sampled_from(SUFFIXES),
)
def test_odd_encodings(text: str, encoding: str, suffix: str) -> None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode(encoding, errors="replace")
    _load(data, f"enc{suffix}")


@FUZZ
@given(value=json_values, as_lines=st.booleans())
def test_random_json_structures(value: Any, as_lines: bool) -> None:
    if as_lines:
        items = value if isinstance(value, list) else [value]
        data = "\n".join(json.dumps(v) for v in items).encode()
        _load(data, "records.jsonl")
    else:
        _load(json.dumps(value).encode(), "records.json")


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    line=st.text(alphabet="abc .,\n<>&;\"'", min_size=1, max_size=20),
    repeat=st.integers(min_value=10_000, max_value=200_000),
    suffix=st.sampled_from(sorted(SUPPORTED_SUFFIXES)),
)
def test_huge_lines(line: str, repeat: int, suffix: str) -> None:
    _load((line.replace("\n", " ") * repeat).encode(), f"huge{suffix}")


def test_known_odd_inputs() -> None:
    body = (
        "Le conseil municipal a voté le budget de 2025 à l'unanimité mardi soir, après trois heures de débat."
    )
    for encoding in ("utf-16", "latin-1", "cp1252", "utf-8-sig"):
        result = _load(f"Budget voté\n\n{body}\n".encode(encoding), "a.txt")
        assert result and "unanimité" in result[0].body  # UTF-16: read by its BOM
    # UTF-16 without a BOM is NUL bytes all through: refused as binary, with a reason.
    assert _load(f"Budget voté\n\n{body}\n".encode("utf-16-le"), "a.txt") is None
    # Deeply nested JSON must not blow the stack with anything but a ValueError.
    assert _load(b"[" * 100_000 + b"]" * 100_000, "deep.json") is None
    assert _load(b'{"text": "ok"}\n' + b"[" * 100_000 + b"\n", "deep.jsonl") is None
    assert _load(b'{"text": ' * 5000 + b'"x"' + b"}" * 5000, "deep.json") is None
    # A compressed payload ("zip bomb"-like) is binary: refused without inflating it.
    import zlib

    assert _load(zlib.compress(b"A" * 10_000_000), "bomb.txt") is None
