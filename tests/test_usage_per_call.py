"""Token counts belong to the answer whose generation produced them.

Generators are shared by every request thread; their usage used to sit on the generator
(`last_usage`) between the stream's end and the pipeline reading it, so one answer could
report another's counts. Now each stream returns its own `Usage`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from support.llm import Reply, ScriptedLLM
from support.pipelines import seeded_pipeline

from rag.config import Settings
from rag.pipeline import Pipeline, complete_sentences
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


def test_a_draft_cut_by_the_token_cap_loses_its_unfinished_sentence(settings: Settings) -> None:
    """The scripted server reports one completion token per word: 18 words hit a cap of 16."""
    text = "Trump and Xi will meet in South Korea [1]. This can be seen in source [1], which states that"
    assert len(text.split()) >= 16
    with ScriptedLLM() as llm:
        llm.reply_with(Reply(text=text))
        configured = Settings(
            data_dir=settings.data_dir,
            llm_backend="openai",
            openai_base_url=llm.url,
            openai_api_key="k",
            max_answer_tokens=16,
        )
        with seeded_pipeline(configured) as pipeline:
            draft = "".join(e.delta or "" for e in pipeline.ask_stream(QUESTION) if e.kind == "delta")
            answer = pipeline.ask(QUESTION)
    assert draft.strip() == text  # the reader saw the stream as it came
    assert answer.completion_tokens >= 16
    assert "which states" not in answer.text and "South Korea" in answer.text


def test_complete_sentences() -> None:
    assert (
        complete_sentences("They met [1]. He said it was [2][3]. This is")
        == "They met [1]. He said it was [2][3]."
    )
    assert complete_sentences('He said "great." Then') == 'He said "great."'
    assert complete_sentences("no sentence ends here") == "no sentence ends here"
