"""The values that flow between pipeline stages, defined once.

corpus → Article → chunking → Chunk → store/retrieval → Hit → context → Context
→ generation → Draft → citations → Answer. Every model is frozen: a stage returns new
values rather than mutating what it was given.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Backend = Literal["local", "openai", "extractive"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Article(_Frozen):
    """A cleaned article. `body` is what is indexed and what every char span points into."""

    id: str
    title: str
    title_is_derived: bool = False
    date: dt.date | None = None
    source: str | None = None
    url: str | None = None
    file_name: str | None = None
    body: str
    content_hash: str
    removed: list[str] = Field(default_factory=list, description="Boilerplate lines dropped from the body.")
    notes: dict[str, str] = Field(default_factory=dict)


class LoadProblem(_Frozen):
    """A file that could not be turned into an article, and why."""

    path: str
    reason: str


class Chunk(_Frozen):
    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    title: str
    date: dt.date | None = None
    source: str | None = None
    url: str | None = None
    file_name: str | None = None
    version: str = Field(
        description="The article's content hash and the chunker's settings, hashed: a chunk "
        "whose version differs from the article's current one is stale."
    )
    n_chunks: int


class StoredArticle(_Frozen):
    """An article as the store holds it: its metadata, how many chunks, and (when asked
    for one article) the chunks themselves. What `Pipeline` hands to the CLI, the service
    and the eval instead of the store's metadata rows."""

    id: str
    title: str
    date: dt.date | None = None
    source: str | None = None
    url: str | None = None
    file_name: str | None = None
    version: str = Field(description="The chunk version: article content and chunker settings, hashed.")
    n_chunks: int
    chunks: list[Chunk] = Field(default_factory=list)


class Hit(_Frozen):
    chunk: Chunk
    score: float = Field(description="Fused reciprocal-rank score.")
    vector_similarity: float | None = None
    bm25_score: float | None = None


class Span(_Frozen):
    """A verbatim slice of an article body: body[start:end] == text."""

    start: int
    end: int
    text: str
    score: float | None = Field(
        default=None, description="How well this sentence answers the question (context stage)."
    )


class Passage(_Frozen):
    """A numbered span of one article shown to the generator as [n]."""

    n: int
    article_id: str
    title: str
    date: dt.date | None = None
    source: str | None = None
    url: str | None = None
    file_name: str | None = None
    text: str
    start: int
    end: int
    relevance: float
    sentences: list[Span] = Field(default_factory=list)

    def cite(self, n: int | None = None, span: Span | None = None) -> Citation:
        """This passage as citation `n`, quoting `span` (default: the whole passage)."""
        quoted = span or Span(start=self.start, end=self.end, text=self.text)
        return Citation(
            n=self.n if n is None else n,
            article_id=self.article_id,
            title=self.title,
            source=self.source,
            date=self.date,
            url=self.url,
            file_name=self.file_name,
            quote=quoted.text,
            start=quoted.start,
            end=quoted.end,
        )


class Context(_Frozen):
    question: str
    standalone_question: str | None = Field(
        default=None, description="The follow-up made self-contained; what retrieval used."
    )
    passages: list[Passage]
    best_relevance: float
    prompt_tokens_estimate: int = 0
    article_texts: dict[str, str] = Field(
        default_factory=dict,
        description="What retrieval read of each article (the sentences of its pooled chunks, by "
        "article id), beyond the passages: an article that names two values gives both, it "
        "does not disagree with itself.",
    )
    reported_on: dt.date | None = Field(
        default=None,
        description="The latest publication date among the articles retrieval read: the present "
        "that 'how many years since …' counts to when no passage's article is dated.",
    )


class Usage(_Frozen):
    """Token counts of one generation call, returned by that call's stream (never kept
    on a generator shared by concurrent requests)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class Draft(_Frozen):
    """What a generator produced, before verification."""

    text: str
    backend: Backend
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float | None = None
    fallback_reason: str | None = None
    fallback_from: Backend | None = Field(default=None, description="The backend that failed, if any.")


class Citation(_Frozen):
    n: int
    article_id: str
    title: str
    source: str | None = None
    date: dt.date | None = None
    url: str | None = None
    file_name: str | None = None
    quote: str
    start: int
    end: int


class ClaimCheck(_Frozen):
    """One answer sentence and how well the passages it cites support it."""

    text: str
    cited: list[int]
    support: float
    supported: bool
    action: Literal["kept", "cited_added", "flagged", "removed"] = "kept"


class Conflict(_Frozen):
    """Two sources that state different values for the same thing."""

    description: str
    values: list[str]
    citations: list[int]


class Timings(_Frozen):
    retrieve_s: float = 0.0
    generate_s: float = 0.0
    verify_s: float = 0.0
    total_s: float = 0.0
    time_to_first_token_s: float | None = None


class Answer(_Frozen):
    question: str
    standalone_question: str
    text: str
    citations: list[Citation]
    abstained: bool
    abstain_reason: str | None = None
    conflicts: list[Conflict] = Field(default_factory=list)
    claims: list[ClaimCheck] = Field(default_factory=list)
    backend: Backend
    fallback_reason: str | None = None
    fallback_from: Backend | None = Field(
        default=None, description="The backend asked first, when it failed and `backend` answered instead."
    )
    retrieved: list[str] = Field(
        default_factory=list, description="Retrieved chunks' article file names (or ids), best first."
    )
    timings: Timings = Field(default_factory=Timings)
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Turn(_Frozen):
    role: Literal["user", "assistant"]
    content: str


class SearchFilters(_Frozen):
    sources: list[str] | None = None
    article_ids: list[str] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class IngestReport(BaseModel):
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    skipped: list[LoadProblem] = Field(default_factory=list)
    chunks_written: int = 0
    chunks_deleted: int = 0
    embeddings_computed: int = 0
    seconds: float = 0.0

    @property
    def partial(self) -> bool:
        return bool(self.skipped)
