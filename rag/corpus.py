"""Turn files into clean `Article`s: metadata out of the text, boilerplate out of the body.

Real articles arrive as scraped text: a `date YYYY-MM-DD` header, breadcrumbs, a headline
line, photo captions and credits, "READ NEXT", AI disclaimers, "3 min read", a line naming
the outlet it was syndicated from. The body keeps every sentence of the report verbatim
(so quotes can be checked against the file), and everything dropped is kept in
`Article.removed` so nothing is lost silently.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from rag.types import Article, LoadProblem

SUPPORTED_SUFFIXES = {".txt", ".md", ".html", ".htm", ".json", ".jsonl"}
MAX_TITLE_CHARS = 160

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}

_MD_HEADING = re.compile(r"\s*#{1,6}[ \t]+(.+?)[ \t#]*(?:\n|$)")
_DATE_HEADER = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b\s*", re.IGNORECASE)
_LAST_UPDATED = re.compile(
    r"(?:Last\s+Updated|Updated|Published)\s*:?\s*([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"^\s*Source\s*[–—:-]\s*(.{2,60}?)\s*\.?\s*$", re.IGNORECASE)
_CONTRIBUTOR = re.compile(r"^\s*[—–-]+\s*(.{2,80}?)\s+contributed to this report\.?\s*$", re.I)
_PUBLISHED_BY = re.compile(r"published by ([A-Z][\w&.' -]{1,40}?) (?:editors|staff)\b")
_STAFF_OF = re.compile(r"by the ([A-Z][\w&.' -]{1,40}?) staff\b")

# Whole lines that are page furniture, not reporting. Each pattern names its kind.
_BOILERPLATE: list[tuple[str, re.Pattern[str]]] = [
    ("read-next", re.compile(r"^(READ NEXT|Read more|Also read|Related|Recommended)\b.{0,80}$", re.I)),
    ("image-credit", re.compile(r"^(Image|Photo|Picture)s?\s*(via|by|credit|source|:)\b.{0,80}$", re.I)),
    ("disclaimer", re.compile(r"^Disclaimer\s*:", re.I)),
    ("read-time", re.compile(r"^\d+\s+min(ute)?s?\s+read\b.{0,80}$", re.I)),
    ("last-updated", re.compile(r"^(Last\s+Updated|Updated|Published)\s*:.{0,60}$", re.I)),
    ("breadcrumb", re.compile(r"^Home\s*/.{0,200}$", re.I)),
    ("subscribe", re.compile(r"^(Subscribe|Sign up|Advertisement|Follow us)\b.{0,80}$", re.I)),
    (
        "photo-credit",
        re.compile(r"^.{0,120}\|\s*(Getty Images|AFP|Reuters|AP Photo|Bloomberg|Shutterstock)\s*$", re.I),
    ),
    ("photo-caption", re.compile(r"^.{0,300}\((File photo|Photo[^)]*|File)\)\s*$", re.I)),
    ("photo-caption", re.compile(r"^.{0,200}\((left|right|center|centre)\).{0,200}$", re.I)),
    (
        "syndication-note",
        re.compile(r"^\(.{0,300}(syndicated|reworked|staff|auto-generated).{0,300}\)\s*$", re.I),
    ),
]


def normalize_text(text: str) -> str:
    """NFC, unified newlines, no control characters, no trailing spaces."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def content_hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def slugify_id(name: str) -> str:
    """A stable id from a file name: its stem, restricted to safe characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return stem[:128] or "article"


def _parse_month_date(month: str, day: str, year: str) -> date | None:
    m = _MONTHS.get(month.lower().rstrip("."))
    try:
        return date(int(year), m, int(day)) if m else None
    except ValueError:
        return None


def parse_date(value: Any) -> date | None:
    """ISO dates and datetimes, or 'Oct 29 2025' style; None when unparseable."""
    if value is None:
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    m = re.match(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})", text)
    return _parse_month_date(*m.groups()) if m else None


def _looks_like_headline(line: str) -> bool:
    stripped = line.strip()
    return (
        8 <= len(stripped) <= MAX_TITLE_CHARS
        and not stripped.endswith((".", ":", ";", ","))
        and len(stripped.split()) >= 3
        and stripped[0].isupper()
    )


def _is_caption_stub(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 8 and len(line) < 80


def _derived_title(body: str) -> str:
    first = re.split(r"(?<=[.!?])\s|\n", body.strip(), maxsplit=1)[0]
    words = first.split()
    return " ".join(words[:14]) + ("…" if len(words) > 14 else "")


def parse_article(
    raw: str,
    *,
    article_id: str,
    file_name: str | None = None,
    title: str | None = None,
    published: date | None = None,
    source: str | None = None,
    url: str | None = None,
) -> Article:
    """Clean one article's text. Explicit metadata (from JSON/HTML) wins over what the
    text itself says."""
    text = normalize_text(raw)
    notes: dict[str, str] = {}
    removed: list[str] = []

    header = _DATE_HEADER.match(text)
    if header:
        published = published or parse_date(header.group(1))
        text = text[header.end() :]

    lines = [line.strip() for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if not line:
            kept.append("")
            continue
        if m := _SOURCE_LINE.match(line):
            source = source or m.group(1).strip().title()
            removed.append(line)
            continue
        if m := _CONTRIBUTOR.match(line):
            notes["contributor"] = m.group(1)
            removed.append(line)
            continue
        if m := _LAST_UPDATED.search(line):
            published = published or _parse_month_date(*m.groups())
        kind = next((k for k, pattern in _BOILERPLATE if pattern.match(line)), None)
        if kind == "breadcrumb":
            # "Home / World News / <headline>": the last crumb is the headline.
            crumb = line.split("/")[-1].strip()
            if crumb and title is None and _looks_like_headline(crumb):
                title = crumb
        if kind in {"photo-caption", "photo-credit"} and kept and _is_caption_stub(kept[-1]):
            # A short line right above a caption or credit is the caption's first half
            # ("Xi Jinping and Donald Trump." over "... (File photo)").
            removed.append(kept.pop())
        if kind is not None:
            for pattern in (_PUBLISHED_BY, _STAFF_OF):
                if not source and (m := pattern.search(line)):
                    source = m.group(1).strip()
            removed.append(line)
            continue
        kept.append(line)

    # Drop leading blank lines, then a headline line (or a repeat of a known title).
    while kept and not kept[0]:
        kept.pop(0)
    if kept and title is not None and kept[0].strip() == title.strip():
        removed.append(kept.pop(0))
    elif kept and title is None and len(kept) > 1 and _looks_like_headline(kept[0]):
        title = kept.pop(0)
        removed.append(title)

    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    derived = title is None
    final_title = (title or _derived_title(body)).strip()
    return Article(
        id=article_id,
        title=final_title,
        title_is_derived=derived,
        date=published,
        source=source,
        url=url,
        file_name=file_name,
        body=body,
        content_hash=content_hash(final_title, body, str(published), source or "", url or ""),
        removed=removed,
        notes=notes,
    )


class _HTMLText(HTMLParser):
    """Visible text plus the few meta tags that carry article metadata."""

    _SKIP = {"script", "style", "noscript", "nav", "footer", "header", "aside", "form"}
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "section", "article", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.meta: dict[str, str] = {}
        self.title = ""
        self._skip_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "meta":
            a = {k: v or "" for k, v in attrs}
            key = a.get("property") or a.get("name")
            if key and "content" in a:
                self.meta[key.lower()] = a["content"]
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "title":
            self._in_title = False
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip_depth:
            self.parts.append(data)


def _from_html(raw: str, article_id: str, file_name: str) -> Article:
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    text = re.sub(r"[ \t]+", " ", "".join(parser.parts))
    meta = parser.meta
    return parse_article(
        text,
        article_id=article_id,
        file_name=file_name,
        title=(meta.get("og:title") or html.unescape(parser.title).strip() or None),
        published=parse_date(meta.get("article:published_time") or meta.get("date")),
        source=meta.get("og:site_name"),
        url=meta.get("og:url"),
    )


def article_from_record(record: dict[str, Any], default_id: str, file_name: str | None) -> Article:
    """A JSON record with `text` (required) and optional id/title/date/source/url."""
    if not isinstance(record, dict):
        raise ValueError("record is not a JSON object")
    text = record.get("text") or record.get("body") or record.get("content")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("record has no non-empty 'text'")
    rid = record.get("id")
    return parse_article(
        text,
        article_id=slugify_id(str(rid)) if rid not in (None, "") else default_id,
        file_name=file_name,
        title=str(record["title"]).strip() or None if record.get("title") else None,
        published=parse_date(record.get("date") or record.get("published")),
        source=str(record["source"]) if record.get("source") else None,
        url=str(record["url"]) if record.get("url") else None,
    )


_WIDE_BOMS = {  # longest first: UTF-32 LE's BOM begins with UTF-16 LE's
    codecs.BOM_UTF32_LE: "utf-32",
    codecs.BOM_UTF32_BE: "utf-32",
    codecs.BOM_UTF16_LE: "utf-16",
    codecs.BOM_UTF16_BE: "utf-16",
}


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16/32 with a BOM (a "Unicode" text file saved on
    Windows), else Windows-1252 — the usual legacy news encoding. Binary content (NUL
    bytes, many control characters) is refused.

    Not charset-normalizer: on English news text it read 1 of 4 Windows-1252 samples as
    Windows-1250 ("£20" → "Ł20"), where this rule is exact."""
    for bom, codec in _WIDE_BOMS.items():
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ValueError(f"not {codec.upper()} text despite its BOM ({exc.reason})") from exc
    sample = data[:65536]
    if b"\x00" in sample:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 or Windows-1252 text ({exc.reason} at byte {exc.start})") from exc
    controls = sum(1 for ch in text[:65536] if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    if controls > len(text[:65536]) * 0.01:
        raise ValueError("binary file (not text)")
    return text


def articles_from_bytes(data: bytes, file_name: str) -> list[Article]:
    """Parse one file's bytes by its suffix. Raises ValueError saying what is wrong."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(
            f"unsupported file type {suffix or '(none)'}; use one of {sorted(SUPPORTED_SUFFIXES)}"
        )
    text = decode_bytes(data)
    if not text.strip():
        raise ValueError("empty file")
    article_id = slugify_id(Path(file_name).stem)
    if suffix in {".html", ".htm"}:
        articles = [_from_html(text, article_id, file_name)]
    elif suffix == ".json":
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
        except RecursionError as exc:  # hostile nesting, e.g. 100k "["
            raise ValueError("invalid JSON: nested too deeply") from exc
        records = parsed if isinstance(parsed, list) else [parsed]
        articles = [
            article_from_record(r, article_id if len(records) == 1 else f"{article_id}-{i}", file_name)
            for i, r in enumerate(records)
        ]
    elif suffix == ".jsonl":
        articles = []
        for i, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"invalid JSON on line {i + 1}: {exc.msg}") from exc
            except RecursionError as exc:
                raise ValueError(f"invalid JSON on line {i + 1}: nested too deeply") from exc
            articles.append(article_from_record(record, f"{article_id}-{i}", file_name))
    elif suffix == ".md" and (heading := _MD_HEADING.match(text)):
        articles = [
            parse_article(
                text[heading.end() :],
                article_id=article_id,
                file_name=file_name,
                title=heading.group(1).strip(),
            )
        ]
    else:
        articles = [parse_article(text, article_id=article_id, file_name=file_name)]
    articles = [a for a in articles if a.body.strip()]
    if not articles:
        raise ValueError("no article text left after removing boilerplate")
    return articles


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths (recursively), supported types first-class, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def load_paths(paths: Iterable[Path], max_file_bytes: int) -> tuple[list[Article], list[LoadProblem]]:
    """Every article under `paths`; each unreadable file is reported and skipped."""
    articles: list[Article] = []
    problems: list[LoadProblem] = []
    seen: dict[str, str] = {}
    for path in paths:
        if not path.exists():
            problems.append(LoadProblem(path=str(path), reason="no such file or folder"))
    for file in iter_files(p for p in paths if p.exists()):
        if file.suffix.lower() not in SUPPORTED_SUFFIXES:
            problems.append(
                LoadProblem(path=str(file), reason=f"unsupported file type {file.suffix or '(none)'}")
            )
            continue
        try:
            size = file.stat().st_size
            if size > max_file_bytes:
                problems.append(
                    LoadProblem(
                        path=str(file), reason=f"too large ({size:,} bytes > limit {max_file_bytes:,})"
                    )
                )
                continue
            parsed = articles_from_bytes(file.read_bytes(), file.name)
        except (OSError, ValueError) as exc:
            problems.append(LoadProblem(path=str(file), reason=str(exc)))
            continue
        for article in parsed:
            if article.id in seen:
                problems.append(
                    LoadProblem(
                        path=str(file),
                        reason=f"duplicate article id {article.id!r} (also in {seen[article.id]})",
                    )
                )
                continue
            seen[article.id] = str(file)
            articles.append(article)
    return articles, problems
