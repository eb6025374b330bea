"""Replaying a past run: each question's model reply taken from its report.

A change after the model (verifier, abstention policy, conflicts) is then measured on every
stored draft in seconds, where a local run takes twenty minutes. Retrieval and context are
rebuilt by the code as it is now; only the model's reply comes from the report, so a change
before the model (retrieval, context, prompt) still needs a real run.
"""

from __future__ import annotations

import json
from collections.abc import Generator as Gen
from dataclasses import dataclass
from pathlib import Path

from rag.errors import BylineError, InvalidInput
from rag.prompts import MODEL_ABSTAIN
from rag.types import Backend, Context, Turn, Usage


@dataclass(frozen=True)
class StoredDraft:
    """One question's model reply as a past run's report kept it."""

    text: str  # the streamed draft; empty when the model said "I don't know" (never streamed)
    completion_tokens: int | None  # None in reports written before token counts were kept


class ReplayGenerator:
    """A `Generator` that hands back the reply a past run's model wrote for the question
    being asked (`current`, set by the answerer); unchanged code must then give the
    report's answers back, which the tests check."""

    def __init__(self, backend: Backend, max_answer_tokens: int) -> None:
        self._backend: Backend = backend
        self._max_answer_tokens = max_answer_tokens
        self.current: StoredDraft | None = None

    @property
    def backend(self) -> Backend:
        return self._backend

    def stream(
        self,
        context: Context,
        history: list[Turn] | None = None,
        deadline: float | None = None,
        *,
        insist: bool = False,
    ) -> Gen[str, None, Usage]:
        del context, history, deadline, insist  # the reply was written already
        if self.current is None:
            raise BylineError("no stored draft for this question")
        text = self.current.text.strip() or MODEL_ABSTAIN
        yield text
        tokens = self.current.completion_tokens
        if tokens is None:
            from rag.pipeline import complete_sentences  # the whole stack: loaded only to replay

            # Older reports: a draft ending inside a sentence (words after its last full
            # stop, not just a stray closing quote) is one the token cap cut.
            unfinished = text[len(complete_sentences(text)) :]
            tokens = self._max_answer_tokens if any(ch.isalnum() for ch in unfinished) else 0
        return Usage(completion_tokens=tokens)


@dataclass(frozen=True)
class ReplaySource:
    """The drafts of a past report, by question text, and the backend that wrote them."""

    path: Path
    backend: Backend
    drafts: dict[str, StoredDraft]

    @classmethod
    def load(cls, path: Path) -> ReplaySource:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
            meta, questions = report["meta"], report["questions"]
            backend = meta["config"]["backend"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"cannot read {path} as an eval report: {exc}", "check --replay") from exc
        if meta.get("pipeline") != "ours" or meta["config"].get("mode") not in ("in-process", "replay"):
            raise InvalidInput(
                f"{path} was not answered by our pipeline in process, so it holds no drafts",
                "replay a report of `byline eval` without --endpoint or --pipeline naive",
            )
        if backend == "extractive":
            raise InvalidInput(f"{path} was answered without a model", "replay a local or openai run")
        drafts = {
            q["question"]: StoredDraft(q.get("draft") or "", q.get("completion_tokens"))
            for q in questions
            # An error or a fallback left no reply of this backend's model to replay.
            if q.get("answer") is not None and q.get("draft") is not None and q.get("backend") == backend
        }
        return cls(path=path, backend=backend, drafts=drafts)
