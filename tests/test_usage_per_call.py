"""Token counts belong to the answer whose generation produced them.

Generators are shared by every request thread; their usage used to sit on the generator
(`last_usage`) between the stream's end and the pipeline reading it, so one answer could
report another's counts. Now each stream returns its own `Usage`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from support.llm import Reply, ScriptedLLM
from support.pipelines import seeded_pipeline

from rag.config import Settings
from rag.pipeline import Pipeline
from rag.types import Answer

QUESTION = "Where will Trump and Xi meet?"


def _ask(pipeline: Pipeline, question: str) -> tuple[int, Answer]:
    """The streamed words (the scripted server sends one word per delta and reports
    that many completion tokens) and the final answer."""
    words = 0
    answer = None
    for event in pipeline.ask_stream(question, backend="openai"):
        if event.kind == "delta":
            words += 1
        elif event.kind == "answer":
            answer = event.answer
    assert answer is not None
    return words, answer


def test_concurrent_answers_report_their_own_token_counts(settings: Settings) -> None:
    lengths = [3, 20, 7, 15, 5, 11, 9, 13]
    # Slow short replies and quick long ones, so the streams overlap and end out of order.
    replies = [
        Reply(
            text=" ".join(["South Korea"] + ["really"] * (n - 3) + ["[1]."]), delay_s=0.4 if n < 10 else 0.05
        )
        for n in lengths
    ]
    with ScriptedLLM() as llm:
        llm.then(*replies)
        configured = Settings(
            data_dir=settings.data_dir, llm_backend="openai", openai_base_url=llm.url, openai_api_key="k"
        )
        with seeded_pipeline(configured) as pipeline, ThreadPoolExecutor(len(lengths)) as pool:
            results = list(pool.map(lambda _i: _ask(pipeline, QUESTION), range(len(lengths))))
    assert sorted(words for words, _ in results) == sorted(lengths)
    for words, answer in results:
        assert answer.completion_tokens == words, (words, answer.completion_tokens)
        assert answer.prompt_tokens == 100
