"""Word overlap between gold questions and the articles they are asked about.

A question that repeats a long run of an article's own words flatters a retrieval system:
lexical search finds the sentence by its wording, not by understanding the question. This
module measures, for every gold question, the longest run of consecutive word tokens it
shares with any seed article, so the "r" questions (written in a reader's words) can be held
to a limit (< 4 shared consecutive words; tests/test_gold.py) and the two generations of
questions can be compared.

Tokens: the text is lowercased, curly quotes become straight ones, apostrophes inside words
are dropped ("Trump's" -> "trumps", "don't" -> "dont") and every other run of characters
that are not letters or digits separates words ("Trump–Xi" -> "trump", "xi"; "U.S." -> "u",
"s"). Punctuation is therefore ignored and the comparison is case-insensitive.

Usage::

    python -m eval.goldcheck [GOLD] [SEEDS_DIR]

prints a Markdown table (id, split, type, longest shared run, the run) and a summary of the
mean and maximum run per id prefix ("q" = original questions, "r" = reader-worded ones).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

DEFAULT_GOLD = Path("eval/gold/qa.jsonl")
DEFAULT_SEEDS = Path("seeds")

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})
_INNER_APOSTROPHE = re.compile(r"(?<=[^\W_])'(?=[^\W_])")
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The word tokens of `text` (lowercase, punctuation ignored; see the module docstring)."""
    cleaned = _INNER_APOSTROPHE.sub("", text.translate(_QUOTES).lower())
    return _WORD.findall(cleaned)


def _longest_common_run(a: Sequence[str], b: Sequence[str]) -> tuple[int, int]:
    """Length of the longest common contiguous run of `a` and `b`, and where it ends in `a`."""
    best_len, best_end = 0, 0
    previous = [0] * (len(b) + 1)
    for i, token in enumerate(a, 1):
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if token == other:
                run = previous[j - 1] + 1
                current[j] = run
                if run > best_len:
                    best_len, best_end = run, i
        previous = current
    return best_len, best_end


def longest_shared_run(question: str, texts: Iterable[str]) -> tuple[int, str]:
    """The longest run of consecutive word tokens `question` shares with any of `texts`.

    Returns the run's length in words and the run itself (its tokens joined by single
    spaces); ``(0, "")`` when no word is shared.
    """
    q_words = words(question)
    best_len, best_run = 0, ""
    for text in texts:
        length, end = _longest_common_run(q_words, words(text))
        if length > best_len:
            best_len, best_run = length, " ".join(q_words[end - length : end])
    return best_len, best_run


@dataclass(frozen=True)
class Row:
    id: str
    split: str
    type: str
    length: int
    run: str


def overlap_rows(gold: Path, seeds_dir: Path) -> list[Row]:
    """One row per gold question, in file order."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(seeds_dir.glob("*.txt"))]
    rows: list[Row] = []
    for line in gold.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        length, run = longest_shared_run(str(item["question"]), texts)
        rows.append(Row(str(item["id"]), str(item.get("split", "")), str(item["type"]), length, run))
    return rows


def render(rows: Sequence[Row], command: str) -> str:
    """The Markdown report: the command, a summary per id prefix, then one row per question."""
    out = [
        "# Gold questions: longest word run shared with a seed article",
        "",
        f"Produced by `{command}` (eval/goldcheck.py). A run is a sequence of consecutive word",
        "tokens (case and punctuation ignored) that occurs in the question and in some seed article.",
        "Reader-worded questions (ids `r…`) must stay below 4 shared words (tests/test_gold.py).",
        "",
        "## Summary",
        "",
        "| prefix | questions | mean run | max run | questions with run ≥ 4 |",
        "|---|---:|---:|---:|---:|",
    ]
    prefixes = sorted({row.id[:1] for row in rows})
    for prefix in prefixes:
        lengths = [row.length for row in rows if row.id[:1] == prefix]
        at_least_4 = sum(1 for n in lengths if n >= 4)
        out.append(f"| {prefix} | {len(lengths)} | {mean(lengths):.2f} | {max(lengths)} | {at_least_4} |")
    out += ["", "## Per question", "", "| id | split | type | run | shared words |", "|---|---|---|---:|---|"]
    for row in rows:
        out.append(f"| {row.id} | {row.split} | {row.type} | {row.length} | {row.run} |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 2 or any(a in ("-h", "--help") for a in args):
        sys.stdout.write("usage: python -m eval.goldcheck [GOLD] [SEEDS_DIR]\n")
        return 0 if args and args[0] in ("-h", "--help") else 2
    gold = Path(args[0]) if args else DEFAULT_GOLD
    seeds_dir = Path(args[1]) if len(args) > 1 else DEFAULT_SEEDS
    command = " ".join(["python -m eval.goldcheck", *args]) if args else "python -m eval.goldcheck"
    sys.stdout.write(render(overlap_rows(gold, seeds_dir), command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
