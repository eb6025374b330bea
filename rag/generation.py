"""Generators turn a numbered `Context` into draft text, behind one small Protocol.

- `openai`: any OpenAI-compatible chat server (OpenAI, vLLM, Ollama, llama.cpp).
- `local`: the same code path, pointed at an in-process xllamacpp server running the
  pinned GGUF — so streaming, timeouts and token accounting are shared, not duplicated.
- `extractive`: no LLM; quotes the best supporting sentence. Also the fallback when an
  LLM fails, so a reader always gets a grounded answer or an honest abstention.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from collections.abc import Generator as Gen
from typing import Any, Literal, Protocol

from rag.config import Settings
from rag.errors import GenerationFailed, ModelUnavailable
from rag.prompts import MODEL_ABSTAIN, build_messages
from rag.text import AnswerKind, cue_bonus, gives_kind
from rag.types import Backend, Context, Draft, Turn, Usage

log = logging.getLogger("byline")


class Generator(Protocol):
    """Streams the draft's text; the stream's return value is that call's `Usage`."""

    @property
    def backend(self) -> Backend: ...

    def stream(
        self,
        context: Context,
        history: list[Turn] | None = None,
        deadline: float | None = None,
        *,
        insist: bool = False,
    ) -> Gen[str, None, Usage]:
        """`insist`: ask again, pressing for an answer (the first reply was "I don't
        know"); a generator that never abstains on its own may ignore it."""
        ...


class CircuitBreaker:
    """Stops calling an upstream that keeps failing, so a dead LLM server costs each
    question one fast refusal (and an extractive fallback) instead of a timeout.

    Closed: calls go through; `failures` consecutive failures open it. Open: calls fail
    fast with `GenerationFailed` until `cooldown_s` has passed. Half-open: one trial call
    goes through (others still fail fast); success closes it, failure opens it again.
    `failures=0` disables it. Thread-safe: one breaker is shared by every request thread.
    """

    def __init__(self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False
        self._short_circuited = 0

    @property
    def short_circuited(self) -> int:
        """Calls refused without reaching the upstream since start-up (for /metrics)."""
        with self._lock:
            return self._short_circuited

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._trial_in_flight or self._clock() - self._opened_at >= self.cooldown_s:
                return "half-open"
            return "open"

    def before_call(self) -> None:
        """Raises `GenerationFailed` while open; otherwise lets the call through."""
        if self.failures <= 0:
            return
        with self._lock:
            if self._opened_at is None:
                return
            remaining = self.cooldown_s - (self._clock() - self._opened_at)
            if remaining <= 0 and not self._trial_in_flight:
                self._trial_in_flight = True  # half-open: this call is the trial
                return
            self._short_circuited += 1
        raise GenerationFailed(
            f"LLM circuit open after {self._consecutive} consecutive failures; "
            f"the upstream is retried in {max(remaining, 0.0):.0f}s",
            "check the LLM server; answers are extractive meanwhile",
        )

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        if self.failures <= 0:
            return
        with self._lock:
            self._consecutive += 1
            if self._trial_in_flight or self._consecutive >= self.failures:
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def release(self) -> None:
        """A call ended with neither verdict (the caller stopped reading a stream)."""
        with self._lock:
            self._trial_in_flight = False


_RETRY_BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 2.0)


class OpenAIChatGenerator:
    """One code path for every OpenAI-compatible chat endpoint.

    Each answer gets one time budget for the LLM, retries included (`budget_s`): the
    client's own retries are off, because it would wait up to a minute on an upstream's
    `Retry-After` and give every attempt the full timeout, so a slow upstream could hold
    a request past the service's deadline instead of falling back to an extractive answer.
    """

    backend: Backend = "openai"

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
    ) -> None:
        self._settings = settings
        self._base_url = base_url or settings.openai_base_url
        key = settings.openai_api_key
        self._api_key = api_key or (key.get_secret_value() if key else "not-needed")
        self._model = model or settings.openai_model
        self._client: Any = None
        self.breaker = CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown_s)

    def warm_up(self) -> None:
        """Import the client library and its chat resources (about 2 s on 2 cores) at
        start-up, not inside a first question's budget."""
        _ = self._get_client().chat.completions

    def _get_client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(
                api_key=self._api_key,
                base_url=self._base_url,
                timeout=self._settings.llm_timeout_s,
                max_retries=0,  # retried by `_create`, within the budget
            )
        return self._client

    def budget_s(self, deadline: float | None) -> float:
        """`llm_timeout_s`, capped at half of what is left before the caller's `deadline`
        (a `time.monotonic()` instant, e.g. the HTTP request's): the other half covers the
        extractive fallback and verification, so a request whose LLM fails still gets its
        answer in time (504 is only for the truly stuck)."""
        if deadline is None:
            return self._settings.llm_timeout_s
        return max(min(self._settings.llm_timeout_s, (deadline - time.monotonic()) / 2), 0.01)

    def _create(self, request: dict[str, Any], deadline: float | None, **extra: Any) -> Any:
        """`chat.completions.create`, retried on connection errors, timeouts, 429 and 5xx
        (`llm_max_retries` times) while the budget lasts; each attempt gets what is left
        of it as its timeout."""
        import openai

        deadline = time.monotonic() + self.budget_s(deadline)
        attempt = 0
        while True:
            remaining = max(deadline - time.monotonic(), 0.01)
            try:
                return self._get_client().chat.completions.create(**request, **extra, timeout=remaining)
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError):
                backoff = _RETRY_BACKOFF_S[min(attempt, len(_RETRY_BACKOFF_S) - 1)]
                attempt += 1
                if attempt > self._settings.llm_max_retries or time.monotonic() + backoff + 0.1 >= deadline:
                    raise
                time.sleep(backoff)

    def _before_ask(self, deadline: float | None, *, insist: bool) -> None:
        """What a backend does before each ask (the local model: see `LocalGenerator`)."""

    def _request(self, context: Context, history: list[Turn] | None, insist: bool = False) -> dict[str, Any]:
        return {
            "model": self._model,
            "messages": build_messages(context, history, insist=insist),
            "temperature": 0.0,
            "max_tokens": self._settings.max_answer_tokens,
        }

    def stream(
        self,
        context: Context,
        history: list[Turn] | None = None,
        deadline: float | None = None,
        *,
        insist: bool = False,
    ) -> Gen[str, None, Usage]:
        import openai

        request = self._request(context, history, insist)
        usage_seen = Usage()
        self.breaker.before_call()
        verdict = False
        try:
            self._before_ask(deadline, insist=insist)
            chunks = self._create(request, deadline, stream=True, stream_options={"include_usage": True})
            for chunk in chunks:
                usage = getattr(chunk, "usage", None)
                if usage is not None:
                    usage_seen = Usage(
                        prompt_tokens=int(usage.prompt_tokens or 0),
                        completion_tokens=int(usage.completion_tokens or 0),
                    )
                if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
            verdict = True
            self.breaker.record_success()
            return usage_seen
        except openai.OpenAIError as exc:
            verdict = True
            self.breaker.record_failure()
            raise GenerationFailed(f"LLM stream failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            verdict = True
            self.breaker.record_failure()
            raise GenerationFailed("LLM stream was malformed") from exc
        finally:
            if not verdict:
                self.breaker.release()


class LocalServer:
    """The pinned GGUF loaded once per process by xllamacpp, serving the OpenAI API on a
    loopback port that only this process uses."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._server: Any = None
        self._lock = threading.Lock()
        self.model_path: str | None = None

    def address(self) -> str:
        with self._lock:
            if self._server is None:
                from rag.model_assets import ensure_local_model

                path = ensure_local_model(self._settings)
                try:
                    import xllamacpp
                except ImportError as exc:  # pragma: no cover - install problem
                    raise ModelUnavailable(f"xllamacpp is not installed: {exc}", "reinstall byline") from exc
                params = xllamacpp.CommonParams()
                params.model.path = str(path)
                params.n_ctx = self._settings.local_n_ctx
                params.n_parallel = 1
                params.cpuparams.n_threads = self._settings.local_threads
                params.cpuparams_batch.n_threads = self._settings.local_threads
                params.warmup = False
                params.cache_prompt = True
                # llama.cpp also keeps past prompts' states in RAM (up to 8 GiB by default)
                # to restore a repeated prefix; ours share only the fixed opening, which the
                # slot's own cache already keeps. Measured on 12 questions: 90 MB more RSS and
                # growing with every question, no faster (3.32 s against 3.41 s p50, noise).
                params.cache_ram_mib = 0
                params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
                try:
                    self._server = xllamacpp.Server(params)
                except Exception as exc:
                    raise ModelUnavailable(
                        f"could not load {path.name}: {exc}", "check the GGUF file"
                    ) from exc
                self.model_path = str(path)
            return f"{self._server.listening_address}/v1"


class LocalGenerator(OpenAIChatGenerator):
    backend: Backend = "local"

    def __init__(self, settings: Settings, server: LocalServer | None = None) -> None:
        super().__init__(settings, api_key="not-needed", model="local")
        self._server = server or LocalServer(settings)
        # The start every prompt shares: the system prompt and the user turn's opening.
        system = build_messages(Context(question="", passages=[], best_relevance=0.0))[:1]
        self._opening = [*system, {"role": "user", "content": "Sources:\n"}]

    def _get_client(self) -> Any:
        if self._client is None:
            self._base_url = self._server.address()
        return super()._get_client()

    def warm_up(self) -> None:
        """Load the model, then have it read the fixed start of every prompt (the system
        prompt and the user turn's opening) once, so its prompt cache holds them: the
        first question then pays only for its own sources and words, like every later
        one (≈150 tokens, ≈1.7 s on two cores, off the first answer's path)."""
        super().warm_up()
        try:
            self._read_opening(None)
        except Exception:  # only a head start: the first question reads the prompt itself
            log.debug("prompt-cache warm-up failed", exc_info=True)

    def _read_opening(self, deadline: float | None) -> None:
        """Ask for one token after the fixed opening alone. Its prompt is cached whole, so
        this reads one token (≈0.09 s) and leaves the cache holding exactly the opening."""
        self._get_client().chat.completions.create(
            model=self._model,
            messages=self._opening,
            max_tokens=1,
            temperature=0.0,
            timeout=min(self.budget_s(deadline), 10.0),  # no retries: the question's own call has them
        )

    def _before_ask(self, deadline: float | None, *, insist: bool) -> None:
        """The same question gets the same answer whatever was asked before. llama.cpp
        reuses the longest prefix the last prompt shares with this one, and on CPU a
        token's numbers depend on the batch it was read in: after another question, the
        few tokens two prompts share ("[1] (", an outlet's name) come from that question's
        batch, and a greedy reply can change. Measured on 24 dev questions, each asked
        after a different one: 4 replies changed, one from an answer to "I don't know";
        going back to the opening first, 24 of 24 were the same every time, for 0.09 s a
        question. The second ask (`insist`) keeps the first one's prompt: it is read on
        top of it on purpose."""
        if insist:
            return
        try:
            self._read_opening(deadline)
        except Exception:  # the question itself reports an unreachable model
            log.debug("prompt-cache rewind failed", exc_info=True)


_ENTITY = re.compile(r"\b[A-Z][a-zA-Z’'-]+(?:\s+[A-Z][a-zA-Z’'-]+)*")


class ExtractiveGenerator:
    """Quotes the passage sentence that best answers the question, cited.

    Sentences are ranked by the score the context stage gave them; a second
    sentence from another article is added when it is nearly as good (several outlets
    agreeing, or disagreeing — the verifier then reports the conflict).
    """

    backend: Backend = "extractive"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _ranked(self, context: Context, giving: AnswerKind | None = None) -> list[tuple[float, int, str]]:
        """Sentences by the score the context stage already gave them (cosine, word
        overlap, question-type cue against the standalone question); a hand-built context
        without scores falls back to its passage's relevance. With `giving`, only those
        holding that kind of thing, when any does."""
        question = context.standalone_question or context.question
        ranked = []
        for p in context.passages:
            for s in p.sentences or []:
                if len(s.text) < 25:
                    continue
                if giving and not gives_kind(s.text, giving, question):
                    continue
                score = s.score if s.score is not None else p.relevance + cue_bonus(question, s.text)
                ranked.append((score, p.n, s.text))
        return sorted(ranked, reverse=True)

    def generate(
        self, context: Context, history: list[Turn] | None = None, *, giving: AnswerKind | None = None
    ) -> Draft:
        """`giving`: quote only sentences holding that kind of thing (the answer to "which
        city?" is a sentence naming one), if any does."""
        del history
        started = time.perf_counter()
        ranked = (self._ranked(context, giving) if giving else []) or self._ranked(context)
        if not ranked:
            return Draft(text=MODEL_ABSTAIN, backend=self.backend)
        best_score, best_n, best_text = ranked[0]
        if best_score < self._settings.extractive_min_score:
            return Draft(text=MODEL_ABSTAIN, backend=self.backend)
        parts = [f"{best_text} [{best_n}]"]
        for score, n, text in ranked[1:]:
            if score >= best_score - 0.05 and n != best_n and text != best_text:
                parts.append(f"{text} [{n}]")
                break
        return Draft(
            text=" ".join(parts), backend=self.backend, time_to_first_token_s=time.perf_counter() - started
        )

    def stream(
        self,
        context: Context,
        history: list[Turn] | None = None,
        deadline: float | None = None,
        *,
        insist: bool = False,
    ) -> Gen[str, None, Usage]:
        del deadline, insist  # milliseconds of work, no upstream; its threshold is its judgement
        yield self.generate(context, history).text
        return Usage()


def build_generator(
    settings: Settings, backend: Backend, local_server: LocalServer | None = None
) -> Generator:
    if backend == "openai":
        return OpenAIChatGenerator(settings)
    if backend == "local":
        return LocalGenerator(settings, local_server)
    return ExtractiveGenerator(settings)
