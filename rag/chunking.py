"""Token-aware chunks on sentence boundaries, each knowing where it sits in its article.

llama-index's `SentenceSplitter` does the packing (token counts from tiktoken's
cl100k_base, which llama-index ships, so nothing downloads). Its default sentence splitter
(NLTK punkt) breaks news text at "U.S." and "Oct. 30", so we hand it our own
abbreviation-aware splitter, which the context stage also uses to quote whole sentences.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rag.config import Settings
from rag.corpus import content_hash
from rag.types import Article, Chunk

_ABBREVIATIONS = {
    "u.s",
    "u.k",
    "u.n",
    "e.u",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "jr",
    "sr",
    "gen",
    "gov",
    "sen",
    "rep",
    "lt",
    "col",
    "capt",
    "sgt",
    "inc",
    "corp",
    "co",
    "ltd",
    "no",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "approx",
    "est",
    "dept",
    "univ",
    "ave",
    "blvd",
    "p.m",
    "a.m",
    "d.c",
}
# A sentence ends at . ! or ? (plus closing quotes/brackets), before whitespace and a
# capital letter, digit or opening quote.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


@lru_cache(maxsize=1)
def _tiktoken_encoding():  # type: ignore[no-untyped-def]
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def count_tokens(text: str) -> int:
    return len(_tiktoken_encoding()(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; lines are always separate sentences."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for m in _BOUNDARY.finditer(line):
            word = re.search(r"([\w.]+)[.!?][\"'”’)\]]*$", line[: m.end()])
            token = (word.group(1) if word else "").lower()
            is_initial = len(token) == 1 and token.isalpha()
            if line[m.start()] == "." and (token in _ABBREVIATIONS or is_initial):
                continue
            _add_span(spans, line, offset, start, m.end())
            start = m.end()
        _add_span(spans, line, offset, start, len(line))
        offset += len(line) + 1
    return spans


def _add_span(spans: list[tuple[int, int]], line: str, offset: int, start: int, end: int) -> None:
    piece = line[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    spans.append((offset + start + lead, offset + start + lead + len(stripped)))


def split_sentences(text: str) -> list[str]:
    """The splitter llama-index calls; keeps trailing whitespace so chunks re-join exactly."""
    spans = sentence_spans(text)
    if not spans:
        return [text] if text else []
    out = []
    for i, (start, _end) in enumerate(spans):
        next_start = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        out.append(text[(0 if i == 0 else start) : next_start])
    return out


class Chunker:
    def __init__(self, settings: Settings) -> None:
        self.chunk_size = settings.chunk_size
        self.chunk_overlap = settings.chunk_overlap
        self._splitter: Any = None

    def _split(self, text: str) -> list[str]:
        """The llama-index splitter is built on first use: commands that never chunk
        (stats, delete, ask) don't pay for importing it."""
        if self._splitter is None:
            from llama_index.core.node_parser import SentenceSplitter

            self._splitter = SentenceSplitter(
                chunk_size=self.chunk_size,
                chunk_overlap=self.chunk_overlap,
                tokenizer=_tiktoken_encoding(),
                paragraph_separator="\n\n",
                chunking_tokenizer_fn=split_sentences,
            )
        return list(self._splitter.split_text(text))

    @property
    def signature(self) -> str:
        """Part of every chunk's identity: new chunk settings mean new chunks."""
        return f"sentence-v1:{self.chunk_size}:{self.chunk_overlap}"

    def version(self, article: Article) -> str:
        """Identity of an article's chunks: its content and how it was cut."""
        return content_hash(article.content_hash, self.signature)[:16]

    def chunk(self, article: Article) -> list[Chunk]:
        body = article.body
        version = self.version(article)
        texts = [t for t in self._split(body) if t.strip()]
        located: list[tuple[str, int, int]] = []
        cursor = 0
        for text in texts:
            start = body.find(text, cursor)
            if start < 0:
                start = body.find(text)
            if start < 0:
                # The splitter normalised whitespace; fall back to the first sentence's
                # position so offsets stay inside the article.
                head = text.strip().split("\n")[0][:40]
                start = max(body.find(head), 0)
                text = body[start : start + len(text)]
            end = start + len(text)
            located.append((text, start, end))
            cursor = start + 1
        return [
            Chunk(
                id=f"{article.id}#{version}-{i:04d}",
                article_id=article.id,
                index=i,
                text=text,
                start=start,
                end=end,
                title=article.title,
                date=article.date,
                source=article.source,
                url=article.url,
                file_name=article.file_name,
                version=version,
                n_chunks=len(located),
            )
            for i, (text, start, end) in enumerate(located)
        ]
