"""`POST /v1/ask`: a verified, cited answer — as JSON, or as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from rag.types import Answer
from service.answering import AnswerStream, AskJob, answer_once, context_citations, open_stream
from service.deps import PipelineDep, PublicAccess, State
from service.errors import stream_problem
from service.schemas import ASK_EVENT_SCHEMA, AskRequest, error_responses
from service.sse import frame

router = APIRouter(prefix="/v1", tags=["ask"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

_STREAM_DOC = """Server-sent events, in order:

- `citations` — `{"citations": [Citation…]}`: the numbered passages the answer may cite
  (`quote` is the whole passage), sent before any text;
- `delta` — `{"text": "…"}`, repeated: the draft answer as it is generated (none when the
  model's reply is that the sources don't say: that is not shown while it is asked again);
- `done` — the verified `Answer` (same JSON as the non-streaming response). **Its `text`
  may differ from the concatenated deltas**: unsupported sentences are removed,
  citations fixed and renumbered to match `citations` in `done`. Replace the draft with it.
- `error` — a problem object (then the stream ends), e.g. a timeout mid-answer.
"""


def sse(event: str, data: Any) -> bytes:
    return frame(data, event)


def wants_stream(request: Request, requested: bool) -> bool:
    return requested or "text/event-stream" in request.headers.get("accept", "")


async def _ask_events(stream: AnswerStream) -> AsyncIterator[bytes]:
    yield sse(
        "citations", {"citations": [c.model_dump(mode="json") for c in context_citations(stream.context)]}
    )
    try:
        async for event in stream.events():
            if event.kind == "delta":
                yield sse("delta", {"text": event.delta})
            elif event.kind == "answer" and event.answer is not None:
                yield sse("done", event.answer.model_dump(mode="json"))
    except Exception as exc:  # the response has started: reported in-stream
        yield sse("error", stream_problem(exc))


@router.post(
    "/ask",
    response_model=Answer,
    summary="Answer a question from the articles, with verified citations",
    responses={
        200: {
            "description": "The answer (JSON), or with `stream` / `Accept: text/event-stream` "
            "a stream of events.\n\n" + _STREAM_DOC,
            "content": {"text/event-stream": {"schema": ASK_EVENT_SCHEMA}},
        },
        **error_responses(401, 403, 409, 413, 422, 429, 503, 504),
    },
)
async def ask(
    body: AskRequest, request: Request, _caller: PublicAccess, state: State, pipeline: PipelineDep
) -> Response:
    question = AskJob(
        text=body.question,
        history=[t.to_turn() for t in body.history],
        top_k=body.top_k,
        filters=body.filters.to_filters() if body.filters else None,
        backend=state.check_backend(body.backend),
    )
    if wants_stream(request, body.stream):
        stream = await open_stream(state, pipeline, question)
        return StreamingResponse(_ask_events(stream), media_type="text/event-stream", headers=SSE_HEADERS)
    answer = await answer_once(state, pipeline, question)
    return JSONResponse(answer.model_dump(mode="json"))
