"""OpenAI-compatible `POST /v1/chat/completions` and `GET /v1/models`.

Any OpenAI client or chat UI works with only its base URL changed. The last user message
is the question, earlier user/assistant turns are the history (system prompts are ignored:
the answering prompt is fixed and tuned). The content is the verified answer with its
sources appended as a numbered markdown list; the sources are also in an extra top-level
`citations` field.

Streaming sends the *verified* answer, not the draft: an OpenAI stream can't take text
back, and verification may drop sentences and renumber citations. The role chunk goes out
at once; the text follows when the answer is verified. (`POST /v1/ask` streams the draft.)
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response, StreamingResponse

from rag.errors import InvalidInput, NotFound
from rag.types import Answer, Backend, Citation, Turn
from service.answering import AnswerStream, AskJob, answer_once, open_stream
from service.deps import PipelineDep, PublicAccess, State
from service.errors import stream_problem
from service.schemas import (
    CHAT_EVENT_SCHEMA,
    MAX_HISTORY_TURNS,
    MAX_TURN_CHARS,
    ChatChoice,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    ChatResponseMessage,
    ModelCard,
    ModelList,
    Usage,
    error_responses,
    is_blank,
)
from service.sse import DONE, frame
from service.state import ServiceState

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

MODELS: dict[str, tuple[Backend | None, str]] = {
    "byline": (None, "The server's configured default backend."),
    "byline-local": ("local", "The embedded local model."),
    "byline-extractive": ("extractive", "Quotes the best-matching sentences; no LLM."),
    "byline-openai": ("openai", "OpenAI or the configured OpenAI-compatible server."),
}
_CREATED = int(time.time())
_SOURCES_MARK = "\n\nSources:\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def available_models(state: ServiceState) -> list[str]:
    return [m for m, (backend, _) in MODELS.items() if backend is None or backend in state.backends]


def backend_for(state: ServiceState, model: str) -> Backend | None:
    available = available_models(state)
    if model not in available:
        raise NotFound(
            f"model {model!r} does not exist on this server",
            f"use one of {', '.join(available)} (GET /v1/models)",
        )
    return MODELS[model][0]


def format_sources(citations: list[Citation]) -> str:
    lines = []
    for c in citations:
        meta = ", ".join(x for x in (c.source, c.date.isoformat() if c.date else None) if x)
        head = f"[{c.n}] {c.title}" + (f" — {meta}" if meta else "")
        lines.append(f"{head}: “{c.quote}”")
    return _SOURCES_MARK + "\n".join(lines) if lines else ""


def answer_content(answer: Answer) -> str:
    return answer.text + format_sources(answer.citations)


def to_question(messages: list[ChatMessage], backend: Backend | None) -> AskJob:
    last = messages[-1]
    text = last.text().strip()
    if last.role != "user" or is_blank(text):
        raise InvalidInput(
            "the last message must be the user's question, with text",
            'end `messages` with {"role": "user", "content": "…"}',
        )
    history: list[Turn] = []
    for m in messages[:-1]:
        if m.role not in ("user", "assistant"):
            continue
        content = m.text()
        if m.role == "assistant":
            content = content.split(_SOURCES_MARK, 1)[0]  # our own appended sources
        content = re.sub(r"\s+", " ", content).strip()[:MAX_TURN_CHARS]
        if content:
            history.append(Turn(role="user" if m.role == "user" else "assistant", content=content))
    return AskJob(text=text, history=history[-MAX_HISTORY_TURNS:], backend=backend)


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _usage(answer: Answer) -> Usage:
    return Usage(
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        total_tokens=answer.prompt_tokens + answer.completion_tokens,
    )


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        **extra,
    }
    return frame(body)


def _error_chunk(error: dict[str, Any]) -> bytes:
    """How OpenAI-compatible servers report an error mid-stream (the client raises it)."""
    return frame({"error": error})


def _pieces(text: str) -> list[str]:
    """The content in word-sized pieces, so a UI renders it progressively."""
    return re.findall(r"\S+\s*|\s+", text)


async def _chat_events(stream: AnswerStream, model: str, include_usage: bool) -> AsyncIterator[bytes]:
    cid = _completion_id()
    yield _chunk(cid, model, {"role": "assistant", "content": ""})
    try:
        answer: Answer | None = None
        async for event in stream.events():
            if event.kind == "answer":
                answer = event.answer
        assert answer is not None
        for piece in _pieces(answer_content(answer)):
            yield _chunk(cid, model, {"content": piece})
        citations = [c.model_dump(mode="json") for c in answer.citations]
        yield _chunk(cid, model, {}, "stop", citations=citations, abstained=answer.abstained)
        if include_usage:
            usage = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [],
                "usage": _usage(answer).model_dump(),
            }
            yield frame(usage)
    except Exception as exc:  # the response has started: reported in-stream, OpenAI-style
        problem = stream_problem(exc)
        yield _error_chunk({**problem, "message": problem["detail"], "code": problem["status"]})
    yield DONE


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat completion (stream or not)",
    responses={
        200: {
            "description": "A chat completion, or with `stream: true` OpenAI-style `chat.completion.chunk` "
            "events ending with `data: [DONE]`; the last chunk carries `citations`.",
            "content": {"text/event-stream": {"schema": CHAT_EVENT_SCHEMA}},
        },
        **error_responses(401, 403, 404, 409, 413, 422, 429, 503, 504),
    },
)
async def chat_completions(
    body: ChatCompletionRequest, _caller: PublicAccess, state: State, pipeline: PipelineDep
) -> Response:
    question = to_question(body.messages, backend_for(state, body.model))
    if body.stream:
        stream = await open_stream(state, pipeline, question)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _chat_events(stream, body.model, include_usage),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    answer = await answer_once(state, pipeline, question)
    completion = ChatCompletion(
        id=_completion_id(),
        created=int(time.time()),
        model=body.model,
        choices=[ChatChoice(message=ChatResponseMessage(content=answer_content(answer)))],
        usage=_usage(answer),
        citations=answer.citations,
        abstained=answer.abstained,
        backend=answer.backend,
        fallback_reason=answer.fallback_reason,
    )
    return JSONResponse(completion.model_dump(mode="json"))


def _card(model_id: str) -> ModelCard:
    return ModelCard(id=model_id, created=_CREATED, description=MODELS[model_id][1])


@router.get(
    "/models",
    response_model=ModelList,
    summary="The models (answering backends) on offer",
    responses=error_responses(401, 403, 429),
)
async def list_models(_caller: PublicAccess, state: State) -> ModelList:
    return ModelList(data=[_card(m) for m in available_models(state)])


@router.get(
    "/models/{model_id}",
    response_model=ModelCard,
    summary="One model",
    responses=error_responses(401, 403, 404, 422, 429),
)
async def get_model(_caller: PublicAccess, state: State, model_id: str = Path(max_length=100)) -> ModelCard:
    backend_for(state, model_id)
    return _card(model_id)
