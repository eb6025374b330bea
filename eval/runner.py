"""Runs every gold question through a pipeline and keeps what came back.

Four ways to get answers, one shape of result (`Row`):
- in process: our `Pipeline`, streamed so the stage metrics see what each stage produced
  (the prompt's passages, the raw draft), plus a deeper retrieval call (top 20 chunks);
- `replay`: the same, with the model's replies taken from a past report (`eval.replay`);
- `naive`: the plain llama-index recipe over the same store (`eval.naive`);
- `endpoint`: a running service's `POST /v1/ask`, so a deployment can be evaluated.

Each finished answer is cached as a JSON file keyed by question id, question text and a
hash of everything that can change an answer (pipeline, backend, answer-relevant
settings, the source code of `rag/`, the stored corpus), so a re-run after a
crash continues where it stopped, and a code or corpus change never reuses stale answers.
Errors are never cached: a re-run retries them. Scores are recomputed from answers every
time, so editing the gold set's accept strings needs no re-run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import rag
from eval.metrics import (
    CHUNK_KS,
    GoldItem,
    QuestionScores,
    aggregate,
    aggregate_by_type,
    score_question,
)
from eval.replay import ReplayGenerator, ReplaySource
from rag.config import Settings
from rag.errors import BylineError, InvalidInput
from rag.prompts import format_passage
from rag.types import Answer, Backend, Context

DEFAULT_GOLD = Path(__file__).resolve().parent / "gold" / "qa.jsonl"
PipelineKind = Literal["ours", "naive"]
# 2: rows carry chunk_texts, prompt_text and draft (the stage metrics need them).
CACHE_VERSION = 2


# --- gold ------------------------------------------------------------------------------------
def load_gold(path: Path, item_model: type[GoldItem] = GoldItem) -> list[GoldItem]:
    """Parse a gold JSONL file; any problem is reported with its line number. Each line must
    be an `item_model`: GoldItem takes any gold file; StrictGoldItem holds a file to
    eval/gold/README.md (the tests check the shipped gold set with it)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read gold file {path}: {exc.strerror}", "check --gold") from exc
    items: list[GoldItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = item_model.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{path}:{number}: not valid JSON ({exc.msg})", "one JSON object per line"
            ) from exc
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            raise InvalidInput(
                f"{path}:{number}: {problem}", "see eval/gold/qa.jsonl for the format"
            ) from exc
        if item.id in seen:
            raise InvalidInput(f"{path}:{number}: duplicate id {item.id!r}", "ids must be unique")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InvalidInput(f"gold file {path} has no questions", "check --gold")
    return items


def select_items(
    items: Sequence[GoldItem],
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    split: str | None = None,
) -> list[GoldItem]:
    """`split` keeps one gold split (dev to tune on, test held out); then `sample` draws a
    seeded random subset (kept in file order, so reports read in order); `limit` then
    keeps the first N. Splitting first keeps a sample's draw within the split."""
    chosen = list(items)
    if split is not None:
        chosen = [item for item in chosen if item.split == split]
        if not chosen:
            raise InvalidInput(
                f"no question in the gold file has split {split!r}",
                'give items a "split": "dev" or "test" field, or drop --split',
            )
    if sample is not None and sample < len(chosen):
        keep = set(random.Random(seed).sample(range(len(chosen)), sample))
        chosen = [item for i, item in enumerate(chosen) if i in keep]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen


# --- results ------------------------------------------------------------------------------------
@dataclass
class Row:
    """One question's outcome: what the cache stores and the report shows."""

    id: str
    question: str
    answer: Answer | None = None
    retrieved: list[str] | None = None
    latency_s: float | None = None
    error: str | None = None
    cached: bool = False
    # What each stage produced, for the stage metrics (None where the answerer can't see
    # inside the pipeline: naive baseline, remote endpoint).
    chunk_texts: list[str] | None = None  # top-20 retrieved chunks, best first
    prompt_text: str | None = None  # the passages exactly as the model saw them
    draft: str | None = None  # the generator's raw text, before verification

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer.model_dump(mode="json") if self.answer else None,
            "retrieved": self.retrieved,
            "latency_s": self.latency_s,
            "error": self.error,
            "chunk_texts": self.chunk_texts,
            "prompt_text": self.prompt_text,
            "draft": self.draft,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        return cls(
            id=str(data["id"]),
            question=str(data["question"]),
            answer=Answer.model_validate(data["answer"]) if data.get("answer") else None,
            retrieved=data.get("retrieved"),
            latency_s=data.get("latency_s"),
            error=data.get("error"),
            chunk_texts=data.get("chunk_texts"),
            prompt_text=data.get("prompt_text"),
            draft=data.get("draft"),
        )


@dataclass
class RunResult:
    items: list[GoldItem]
    rows: list[Row]
    scores: list[QuestionScores]
    meta: dict[str, Any]
    judge: dict[str, Any] | None = None
    answered: int = 0
    from_cache: int = 0

    @property
    def overall(self) -> dict[str, Any]:
        return aggregate(self.scores)

    @property
    def by_type(self) -> dict[str, dict[str, Any]]:
        return aggregate_by_type(self.scores)


class ResultCache:
    """One JSON file per answered question; written atomically so a crash mid-write
    leaves no half file behind."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, data: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def cache_key(item: GoldItem, config_hash: str) -> str:
    safe_id = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in item.id)[:40]
    return f"{safe_id}-{_digest([item.id, item.question, config_hash])[:16]}"


def code_fingerprint() -> str:
    """Hash of the pipeline's source: a code change must not reuse cached answers."""
    root = Path(rag.__file__).resolve().parent
    files = sorted(root.rglob("*.py")) + [Path(__file__).resolve().parent / "naive.py"]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# Settings that can't change an answer (where things live, how many threads).
_NEUTRAL_SETTINGS = {
    "data_dir",
    "seeds_dir",
    "chroma_host",
    "chroma_port",
    "chroma_ssl",
    "store_lock_timeout_s",
    "embed_threads",
    "local_threads",
    "openai_api_key",
    "llm_timeout_s",
    "llm_max_retries",
    "max_file_bytes",
}


def settings_fingerprint(settings: Settings) -> dict[str, Any]:
    return settings.model_dump(mode="json", exclude=_NEUTRAL_SETTINGS)


# --- answerers --------------------------------------------------------------------------------
class Answerer(Protocol):
    def fingerprint(self) -> dict[str, Any]: ...

    def ask(self, question: str) -> Row: ...


def prompt_text(context: Context) -> str:
    """The passages as the generator sees them (the "Sources:" block of its prompt)."""
    return "\n".join(format_passage(p) for p in context.passages)


class InProcessAnswerer:
    """Our pipeline. The answer is streamed so the row keeps the prompt's passages and
    the raw draft; a separate `retrieve` with the same question (what `ask` retrieves for a
    question without history), 20 deep, gives the chunks for "was the answer retrieved
    at all, and how high". Latency stays the answer's own: the extra search isn't in it."""

    def __init__(self, pipeline: Any, backend: Backend) -> None:
        self.pipeline = pipeline
        self.backend = backend

    def fingerprint(self) -> dict[str, Any]:
        corpus = sorted((article.id, article.version) for article in self.pipeline.list_articles())
        return {
            "mode": "in-process",
            "pipeline": "ours",
            "backend": self.backend,
            "settings": settings_fingerprint(self.pipeline.settings),
            "code": code_fingerprint(),
            "corpus": _digest(corpus),
        }

    def ask(self, question: str) -> Row:
        hits = self.pipeline.retrieve(question, top_k=CHUNK_KS[-1])
        context: Context | None = None
        pieces: list[str] = []
        answer: Answer | None = None
        for event in self.pipeline.ask_stream(question, backend=self.backend):
            if event.kind == "sources":
                context = event.context
            elif event.kind == "delta":
                pieces.append(event.delta)
            elif event.kind == "answer":
                answer = event.answer
        if answer is None:
            raise BylineError("the pipeline's stream ended without an answer")
        return Row(
            id="",
            question=question,
            answer=answer,
            retrieved=list(answer.retrieved),
            latency_s=answer.timings.total_s,
            chunk_texts=[h.chunk.text for h in hits],
            prompt_text=prompt_text(context) if context is not None else None,
            # An early abstention (no usable passage) never asks the generator: empty draft.
            draft="".join(pieces),
        )


class ReplayAnswerer(InProcessAnswerer):
    """Our pipeline with each question's model reply taken from a past report: retrieval,
    context and everything after the model run as the code now is. Latencies leave out
    the model, so they say nothing about speed."""

    def __init__(self, pipeline: Any, replay: ReplaySource, generator: ReplayGenerator) -> None:
        super().__init__(pipeline, replay.backend)
        self.replay = replay
        self.generator = generator

    def fingerprint(self) -> dict[str, Any]:
        drafts = sorted((q, d.text, d.completion_tokens) for q, d in self.replay.drafts.items())
        return {**super().fingerprint(), "mode": "replay", "replay": _digest(drafts)}

    def ask(self, question: str) -> Row:
        stored = self.replay.drafts.get(question)
        if stored is None:
            raise BylineError(f"the replayed report has no draft for {question!r}")
        self.generator.current = stored
        try:
            return super().ask(question)
        finally:
            self.generator.current = None


class NaiveAnswerer(InProcessAnswerer):
    def __init__(self, pipeline: Any, backend: Backend) -> None:
        from eval.naive import NaivePipeline

        super().__init__(pipeline, backend)
        self.naive = NaivePipeline(pipeline, backend)

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "pipeline": "naive", "top_k": self.naive.top_k}

    def ask(self, question: str) -> Row:
        answer, retrieved = self.naive.ask(question)
        return Row(
            id="", question=question, answer=answer, retrieved=retrieved, latency_s=answer.timings.total_s
        )


class EndpointAnswerer:
    """A running service. Latency is what the client saw (network included); retrieval
    metrics are not available (the endpoint returns citations, not the ranked hits)."""

    def __init__(self, endpoint: str, backend: Backend | None, timeout_s: float) -> None:
        import httpx

        self.endpoint = endpoint.rstrip("/")
        self.backend = backend
        self._client = httpx.Client(base_url=self.endpoint, timeout=httpx.Timeout(timeout_s, connect=10.0))

    def fingerprint(self) -> dict[str, Any]:
        return {"mode": "endpoint", "endpoint": self.endpoint, "backend": self.backend or "server default"}

    def close(self) -> None:
        self._client.close()

    def ask(self, question: str) -> Row:
        import httpx

        started = time.perf_counter()
        try:
            # No backend given: the deployment's own default is what is being evaluated.
            body = {"question": question, **({"backend": self.backend} if self.backend else {})}
            response = self._client.post("/v1/ask", json=body)
        except httpx.ConnectError as exc:
            raise EndpointUnreachable(
                f"cannot reach {self.endpoint}: {exc}", "start the service or check --endpoint"
            ) from exc
        except httpx.HTTPError as exc:
            return Row(id="", question=question, error=f"request failed: {type(exc).__name__}: {exc}")
        latency = time.perf_counter() - started
        if response.status_code >= 400:
            return Row(id="", question=question, error=f"HTTP {response.status_code}: {_problem(response)}")
        try:
            answer = Answer.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            return Row(id="", question=question, error=f"unexpected response: {str(exc)[:200]}")
        return Row(
            id="",
            question=question,
            answer=answer,
            retrieved=list(answer.retrieved) or None,
            latency_s=latency,
        )


class EndpointUnreachable(BylineError):
    """Raised (not recorded per question): every further question would fail the same way."""

    status_code = 503
    title = "Endpoint unreachable"


def _problem(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text)[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:200]
    return str(body)[:200]


@contextmanager
def open_answerer(
    settings: Settings,
    pipeline_kind: PipelineKind,
    backend: Backend | None,
    endpoint: str | None,
    replay: ReplaySource | None = None,
) -> Iterator[Answerer]:
    """Build the answerer for a run and release what it holds (store lock, HTTP client).
    With `replay`, the model's replies come from that report (its backend is used)."""
    if replay is not None and (endpoint or pipeline_kind != "ours"):
        raise InvalidInput(
            "--replay runs our pipeline in process; it can't be combined with --endpoint or --pipeline naive",
            "drop one of the options",
        )
    if endpoint:
        if pipeline_kind != "ours":
            raise InvalidInput(
                "--pipeline naive runs in process; it can't be combined with --endpoint",
                "drop one of the two options",
            )
        remote = EndpointAnswerer(endpoint, backend, timeout_s=settings.llm_timeout_s * 3)
        try:
            yield remote
        finally:
            remote.close()
        return
    from rag.pipeline import Pipeline

    if replay is not None:
        generator = ReplayGenerator(replay.backend, settings.max_answer_tokens)
        replaying = settings.model_copy(update={"llm_backend": replay.backend})
        pipeline = Pipeline(replaying, {replay.backend: generator})
        try:
            pipeline.ensure_seeded()
            yield ReplayAnswerer(pipeline, replay, generator)
        finally:
            pipeline.close()
        return
    backend = backend or settings.resolved_llm_backend
    if pipeline_kind == "naive" and backend == "extractive":
        raise InvalidInput(
            "the naive baseline needs an LLM; the extractive backend has none",
            "use --backend local or --backend openai with --pipeline naive",
        )
    pipeline = Pipeline(settings.model_copy(update={"llm_backend": backend}))
    try:
        pipeline.ensure_seeded()
        yield (
            NaiveAnswerer(pipeline, backend)
            if pipeline_kind == "naive"
            else InProcessAnswerer(pipeline, backend)
        )
    finally:
        pipeline.close()


# --- the run ---------------------------------------------------------------------------------------
def _answer_one(answerer: Answerer, item: GoldItem) -> Row:
    try:
        row = answerer.ask(item.question)
    except EndpointUnreachable:
        raise
    except BylineError as exc:
        row = Row(id=item.id, question=item.question, error=f"{type(exc).__name__}: {exc}")
    row.id = item.id
    return row


def run_answers(
    items: Sequence[GoldItem],
    answerer: Answerer,
    *,
    cache_dir: Path | None,
    console: Console | None = None,
) -> tuple[list[Row], dict[str, Any]]:
    """Answer every item (or take it from the cache). Returns the rows and run metadata."""
    fingerprint = answerer.fingerprint()
    config_hash = _digest(fingerprint)
    cache = ResultCache(cache_dir) if cache_dir is not None else None
    rows: list[Row] = []
    started = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("evaluating", total=len(items))
        for item in items:
            bar.update(task, description=f"evaluating {item.id}")
            key = cache_key(item, config_hash)
            stored = cache.get(key) if cache else None
            if stored is not None and stored.get("version") == CACHE_VERSION:
                row = Row.from_json(stored["row"])
                row.cached = True
            else:
                row = _answer_one(answerer, item)
                if cache is not None and row.error is None:
                    cache.put(key, {"version": CACHE_VERSION, "config": fingerprint, "row": row.to_json()})
            rows.append(row)
            bar.advance(task)
    meta = {
        "config": fingerprint,
        "config_hash": config_hash,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return rows, meta


def score_rows(items: Sequence[GoldItem], rows: Sequence[Row]) -> list[QuestionScores]:
    return [
        score_question(
            item,
            row.answer,
            row.retrieved,
            latency_s=row.latency_s,
            error=row.error,
            chunk_texts=row.chunk_texts,
            prompt_text=row.prompt_text,
            draft=row.draft,
        )
        for item, row in zip(items, rows, strict=True)
    ]


def run_eval(
    items: Sequence[GoldItem],
    *,
    settings: Settings,
    backend: Backend | None,
    pipeline_kind: PipelineKind = "ours",
    endpoint: str | None = None,
    out_dir: Path,
    use_cache: bool = True,
    console: Console | None = None,
    judge: LLMJudge | None = None,
    split: str | None = None,
    replay: ReplaySource | None = None,
) -> RunResult:
    """The whole run: answers (cached), deterministic scores, and the optional judge.
    `split` only labels the run (the items are already chosen), so a report says whether
    its numbers are dev or held-out test numbers. `replay`: the model's replies come from
    that report (see `ReplayAnswerer`)."""
    if replay is not None:
        backend = replay.backend
    with open_answerer(settings, pipeline_kind, backend, endpoint, replay) as answerer:
        rows, meta = run_answers(
            items, answerer, cache_dir=out_dir / ".cache" if use_cache else None, console=console
        )
    label = backend or ("server default" if endpoint else settings.resolved_llm_backend)
    meta.update(
        {
            "pipeline": pipeline_kind,
            "backend": label,
            "endpoint": endpoint,
            "n": len(items),
            "split": split,
            "replay": str(replay.path) if replay else None,
        }
    )
    result = RunResult(
        items=list(items),
        rows=rows,
        scores=score_rows(items, rows),
        meta=meta,
        answered=sum(not r.cached for r in rows),
        from_cache=sum(r.cached for r in rows),
    )
    if judge is not None:
        result.judge = judge.run(
            items, rows, cache=ResultCache(out_dir / ".cache" / "judge") if use_cache else None
        )
    return result


# --- optional LLM judge ------------------------------------------------------------------------------
JUDGE_SYSTEM = (
    "You grade answers to questions about news articles. Compare the candidate answer with "
    "the reference answer. The candidate is correct if it states the same key facts as the "
    "reference without contradicting it (extra correct detail is fine). If the reference says "
    "the articles don't answer the question, the candidate is correct only if it declines to "
    "answer. Reply with exactly one word: yes or no."
)


@dataclass
class LLMJudge:
    """LLM-graded correctness, reported apart from the deterministic metrics (it is
    neither reproducible nor free). Used only when a judge model is configured."""

    settings: Settings
    model: str
    _client: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None) -> tuple[LLMJudge | None, str | None]:
        """The judge, or None and why it is skipped."""
        if not model:
            return None, None
        if not (settings.openai_api_key or settings.openai_base_url):
            return None, f"judge model {model!r} set but no OPENAI_API_KEY / OPENAI_BASE_URL: judge skipped"
        return cls(settings=settings, model=model), None

    def _get_client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            key = self.settings.openai_api_key
            self._client = OpenAI(
                api_key=key.get_secret_value() if key else "not-needed",
                base_url=self.settings.openai_base_url,
                timeout=self.settings.llm_timeout_s,
                max_retries=self.settings.llm_max_retries,
            )
        return self._client

    def verdict(self, item: GoldItem, answer_text: str) -> bool:
        import openai

        user = (
            f"Question: {item.question}\nReference answer: {item.answer}\n"
            f"Candidate answer: {answer_text}\nCorrect?"
        )
        try:
            response = self._get_client().chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}],
                temperature=0.0,
                max_tokens=3,
            )
        except openai.OpenAIError as exc:
            raise BylineError(f"judge request failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
        reply = (response.choices[0].message.content or "").strip().lower()
        return reply.startswith("yes")

    def run(
        self,
        items: Sequence[GoldItem],
        rows: Sequence[Row],
        *,
        cache: ResultCache | None,
    ) -> dict[str, Any]:
        """Verdicts per question; a question whose judge call failed has none, and its
        error is listed under "errors" (the report shows how many were judged)."""
        verdicts: dict[str, bool | None] = {}
        errors: list[str] = []
        for item, row in zip(items, rows, strict=True):
            if row.answer is None:
                verdicts[item.id] = None
                continue
            key = f"{cache_key(item, self.model)}-{_digest([item.answer, row.answer.text])[:12]}"
            stored = cache.get(key) if cache else None
            if stored is not None and isinstance(stored.get("correct"), bool):
                verdicts[item.id] = stored["correct"]
                continue
            try:
                verdicts[item.id] = self.verdict(item, row.answer.text)
            except BylineError as exc:
                verdicts[item.id] = None
                errors.append(f"{item.id}: {exc}")
                continue
            if cache is not None:
                cache.put(key, {"correct": verdicts[item.id]})
        judged = {k: v for k, v in verdicts.items() if v is not None}
        by_type: dict[str, dict[str, Any]] = {}
        for item in items:
            if item.id in judged:
                entry = by_type.setdefault(item.type, {"n": 0, "correct": 0})
                entry["n"] += 1
                entry["correct"] += int(judged[item.id])
        return {
            "model": self.model,
            "n": len(judged),
            "correctness": sum(judged.values()) / len(judged) if judged else None,
            "by_type": {t: {"n": e["n"], "correctness": e["correct"] / e["n"]} for t, e in by_type.items()},
            "verdicts": verdicts,
            "errors": errors,
        }
