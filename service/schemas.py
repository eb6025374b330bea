"""Request and response models of the HTTP API, with the bounds the service enforces.

Request fields take JSON's own types only (`StrictBool`, `TopK`, `IsoDate`): what the
published schema refuses, the service refuses too — `"yes"` or `1` is no boolean, `"5"` no
integer, `0` no date — so a client that sends the wrong type hears about it (422) instead
of getting an answer to a question it didn't ask.

Responses reuse the pipeline's own types (`Answer`, `Hit`, `Citation`, `IngestReport`)
so a client can validate them with `rag.types` (the eval harness does:
`Answer.model_validate(response.json())`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from rag.pipeline import MAX_QUESTION_CHARS
from rag.types import Backend, Citation, Hit, IngestReport, SearchFilters, Turn
from service.errors import PROBLEM_MEDIA_TYPE

MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = 4000
MAX_TOP_K = 50


# The published schema's way of saying "not only whitespace" (the validators below say it
# with a clearer message). One character that is whitespace to nobody: JSON Schema's regex
# `\s` (ECMA) and Python's `str.strip` disagree on \x1c-\x1f and \x85 (Python strips them)
# and on U+FEFF (ECMA calls it space), so the class names them and `_not_blank` agrees.
HAS_TEXT = r"[^\s\x1c-\x1f\x85\ufeff]"


def is_blank(value: str) -> bool:
    """No character of `value` matches `HAS_TEXT`."""
    return all(ch.isspace() or ch == "\ufeff" for ch in value)


def _not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("must contain text, not only whitespace")
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: Any) -> Any:
    """Pydantic alone would also read a number (or a string of digits) as a Unix time."""
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _integer_only(value: Any) -> Any:
    """Pydantic alone would also take `"5"` or `true` for 5 and 1; JSON Schema's integer
    (which a whole number like `5.0` is) stays accepted."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number, not a string or a boolean")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]
# The bounds before the validator: after it (or on the optional field) Pydantic would
# publish them as `ge`/`le`, words JSON Schema doesn't know — an unbounded integer.
TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K), BeforeValidator(_integer_only)]


# --- errors ---------------------------------------------------------------------------
class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `history.3.content`.")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details; every error response has this shape."""

    type: str = Field(description="`urn:byline:problem:<kind>` (or `about:blank`).")
    title: str
    status: int
    detail: str = Field(description="What went wrong.")
    hint: str | None = Field(default=None, description="What to do about it.")
    request_id: str | None = Field(default=None, description="Quote it when reporting a problem.")
    retry_after: int | None = Field(default=None, description="Seconds; also in the Retry-After header.")
    errors: list[FieldError] | None = Field(default=None, description="Validation errors, one per field.")


# --- ask / search -----------------------------------------------------------------------
Question = Annotated[
    str, Field(min_length=1, max_length=MAX_QUESTION_CHARS, json_schema_extra={"pattern": HAS_TEXT})
]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Name] | None = Field(default=None, min_length=1, max_length=50, description="Outlets.")
    article_ids: list[Name] | None = Field(default=None, min_length=1, max_length=200)
    date_from: IsoDate | None = Field(default=None, description="Published on or after (YYYY-MM-DD).")
    date_to: IsoDate | None = Field(
        default=None, description="Published on or before (YYYY-MM-DD); not before `date_from`."
    )

    @model_validator(mode="after")
    def _ordered(self) -> FiltersIn:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self

    def to_filters(self) -> SearchFilters:
        return SearchFilters(**self.model_dump())


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=MAX_TURN_CHARS)

    def to_turn(self) -> Turn:
        return Turn(role=self.role, content=self.content)


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "Where will Trump and Xi meet?"}]},
    )

    question: Question
    top_k: TopK | None = Field(default=None, description="Chunks retrieved.")
    filters: FiltersIn | None = None
    history: list[TurnIn] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS, description="Earlier turns, oldest first."
    )
    backend: Backend | None = Field(default=None, description="Default: the server's configured backend.")
    stream: StrictBool = Field(
        default=False, description="Answer as server-sent events (also: Accept: text/event-stream)."
    )

    _question_not_blank = field_validator("question")(_not_blank)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Question
    top_k: TopK | None = None
    filters: FiltersIn | None = None

    _query_not_blank = field_validator("query")(_not_blank)


class SearchResponse(BaseModel):
    query: str
    hits: list[Hit]


class CitationsEvent(BaseModel):
    """SSE `citations`: the numbered passages the draft may cite ([n] in `delta` text)."""

    citations: list[Citation]


class DeltaEvent(BaseModel):
    """SSE `delta`: the next piece of the draft answer."""

    text: str


def _sse_event(name: str, payload: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": name},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": f"#/components/schemas/{payload}"},
            },
        },
    }


# One server-sent event of `POST /v1/ask` (Open API 3.1 has a stream's `schema` describe
# each event): its name, and its data as JSON of a known shape.
ASK_EVENT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        _sse_event("citations", "CitationsEvent"),
        _sse_event("delta", "DeltaEvent"),
        _sse_event("done", "Answer"),
        _sse_event("error", "Problem"),
    ]
}

# One server-sent event of a chat completion stream, as OpenAI sends them: no event name.
CHAT_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"const": "message"},
        "data": {
            "type": "string",
            "description": 'A `chat.completion.chunk` (JSON), an `{"error": {…}}` object if the answer '
            "failed midway, and last `[DONE]`.",
        },
    },
}


# --- OpenAI-compatible chat -------------------------------------------------------------
class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=64)
    text: str | None = Field(default=None, max_length=MAX_QUESTION_CHARS * 4)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=128)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "\n".join(p.text for p in self.content if p.type == "text" and p.text)


# What JSON Schema can say of "ends with the user's question": some message is a user's with
# text. (It has no word for "the last item"; the route refuses a conversation that ends
# otherwise, 422.)
_USER_QUESTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                {"type": "string", "pattern": HAS_TEXT, "maxLength": MAX_QUESTION_CHARS},
                {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {
                            "type": {"const": "text"},
                            "text": {"type": "string", "pattern": HAS_TEXT, "maxLength": MAX_QUESTION_CHARS},
                        },
                    },
                },
            ]
        },
    },
}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's request shape; sampling parameters are accepted and ignored (answers are
    grounded and verified, not sampled)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "byline",
                    "messages": [{"role": "user", "content": "Where will Trump and Xi meet?"}],
                }
            ]
        },
    )

    model: str = Field(default="byline", min_length=1, max_length=100)
    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=200,
        description="The conversation, oldest first. It must end with the question: a `user` message "
        f"with text (at most {MAX_QUESTION_CHARS} characters); earlier user and assistant messages are "
        "the history, other roles are ignored.",
        json_schema_extra={"contains": _USER_QUESTION_SCHEMA},
    )
    stream: StrictBool = False
    stream_options: StreamOptions | None = None


class ChatResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatResponseMessage
    finish_reason: Literal["stop", "length"] = "stop"
    logprobs: Any = None


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None
    citations: list[Citation] = Field(
        description="Byline extension: the sources of the answer, numbered as [n]."
    )
    abstained: bool = Field(
        default=False, description="Byline extension: the articles don't hold the answer."
    )
    backend: Backend | None = Field(
        default=None, description="Byline extension: the backend that wrote the answer."
    )
    fallback_reason: str | None = Field(
        default=None,
        description="Byline extension: why the requested backend wasn't used (an LLM failure, the "
        "circuit breaker); the answer then comes from the extractive backend.",
    )


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "byline"
    description: str = ""


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# --- documents -------------------------------------------------------------------------
class DocumentIn(BaseModel):
    """One article. Its id defaults to a hash of its text, so posting the same text twice
    changes nothing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"title": "Harbour reopens", "text": "The harbour reopened on Monday.", "source": "Gazette"}
            ]
        },
    )

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,128}$")
    title: str | None = Field(default=None, max_length=500)
    text: str = Field(min_length=1, json_schema_extra={"pattern": HAS_TEXT})
    date: IsoDate | None = Field(default=None, description="YYYY-MM-DD.")
    source: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)

    _text_not_blank = field_validator("text")(_not_blank)


class IngestResult(IngestReport):
    """What ingestion did: unchanged articles cost nothing, changed ones are replaced."""

    articles: list[str] = Field(default_factory=list, description="Ids of the articles in the request.")


class DocumentSummary(BaseModel):
    id: str
    title: str
    date: dt.date | None = None
    source: str | None = None
    url: str | None = None
    file_name: str | None = None
    n_chunks: int


class DocumentList(BaseModel):
    total: int
    documents: list[DocumentSummary]


class ChunkOut(BaseModel):
    index: int
    text: str
    start: int = Field(description="Char offset into the article body.")
    end: int


class DocumentDetail(DocumentSummary):
    chunks: list[ChunkOut] = Field(description="The stored chunks' text, in order.")


class Deleted(BaseModel):
    id: str
    chunks_deleted: int


# --- health -----------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    backend: Backend
    store: Literal["embedded", "server"]
    auth: Literal["keys", "open"]
    data_dir: str = Field(description="Where the embedded store and the assembled model file live.")
    collection: str
    articles: int | None = Field(description="Stored articles; null when the store could not be read.")
    chunks: int | None = Field(description="Stored chunks; null when the store could not be read.")
    warning: str | None = Field(
        default=None,
        description="Why questions can't be answered although the service is up: the store is empty "
        "(and how to fill it), or it could not be read.",
    )


# --- OpenAPI: error responses -------------------------------------------------------------
_ERROR_DESCRIPTIONS = {
    401: "No API key, or an unknown one.",
    403: "The key may not do this: a public key on the documents API, "
    "or used from an origin it isn't bound to.",
    404: "No such resource.",
    409: "The store holds no articles (nothing to answer from), or was built with another embedding model.",
    413: "The body (or uploaded file) is too large.",
    415: "Unsupported content type.",
    422: "Invalid input, or a body that can't be read (not JSON, not UTF-8, a broken form); "
    "`errors` names each offending field (`body`: the body as a whole). Also rules the schema "
    "states in words: see the descriptions.",
    429: "Rate limit exceeded; retry after the Retry-After seconds.",
    503: "Not ready yet, the requested backend's generation queue is full (each LLM backend has "
    "its own; extractive never queues), or a backend is unavailable; see Retry-After.",
    504: "The request took longer than the configured timeout.",
    507: "The store can't be written.",
}


def publish_enabled_backends(components: dict[str, Any], backends: list[Backend]) -> None:
    """`backend` of a question lists what this server enables — a request for another one
    is refused (422), so the schema mustn't offer every backend Byline has."""
    backend = components["AskRequest"]["properties"]["backend"]
    backend["anyOf"] = [{"type": "string", "enum": list(backends)}, {"type": "null"}]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each error as problem+json (see `Problem`)."""
    return {
        code: {
            "model": Problem,
            "description": _ERROR_DESCRIPTIONS[code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }
