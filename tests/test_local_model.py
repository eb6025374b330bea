"""The real embedded model (Qwen2.5 1.5B GGUF via xllamacpp) on a handful of questions.
Slow (seconds per answer) but kept in CI: it is the product's default path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.pipelines import SEEDS_DIR, seeded_pipeline

from rag.config import Settings
from rag.model_assets import MODEL_SIZE, ensure_local_model
from rag.pipeline import Pipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), seeds_dir=SEEDS_DIR, llm_backend="local")
    with seeded_pipeline(settings) as pipeline:
        pipeline.warm_up()
        yield pipeline


def test_model_file_is_assembled_and_verified(local_pipeline: Pipeline) -> None:
    path = ensure_local_model(local_pipeline.settings)
    assert path.stat().st_size == MODEL_SIZE
    assert path.with_suffix(".verified").is_file()


def test_answers_with_verified_citation(local_pipeline: Pipeline) -> None:
    answer = local_pipeline.ask(
        "How large is the additional tariff Trump threatened to put on Chinese goods?"
    )
    assert answer.backend == "local" and answer.fallback_reason is None
    assert not answer.abstained
    assert "100%" in answer.text or "100 per" in answer.text
    assert answer.citations and all(
        c.quote in _body_of(local_pipeline, c.article_id) for c in answer.citations
    )
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0


def test_streams_tokens(local_pipeline: Pipeline) -> None:
    events = list(local_pipeline.ask_stream("Who is the White House press secretary?"))
    assert events[0].kind == "sources"
    assert sum(1 for e in events if e.kind == "delta") > 3
    final = events[-1].answer
    assert final is not None and "Leavitt" in final.text


def test_abstains_when_articles_do_not_say(local_pipeline: Pipeline) -> None:
    answer = local_pipeline.ask("What was the weather like in Busan on the day of the meeting?")
    assert answer.abstained
    assert answer.text == "The articles don't say."


def test_the_same_question_gets_the_same_answer_whatever_came_before(local_pipeline: Pipeline) -> None:
    """The model's prompt cache must not carry one question into the next one's reply:
    without going back to the fixed opening first, the first answer here was "The
    articles don't say." and the same question after another one was answered."""
    question = "So Trump and Xi had talked three times in 2025 before meeting, is that right?"
    first = local_pipeline.ask(question)
    local_pipeline.ask("Over how many years does China's new economic blueprint aim to deepen self-reliance?")
    again = local_pipeline.ask(question)
    assert again.text == first.text
    assert [c.quote for c in again.citations] == [c.quote for c in first.citations]


def _body_of(pipeline: Pipeline, article_id: str) -> str:
    return " ".join(c.text for c in pipeline.store.chunks_of(article_id))
