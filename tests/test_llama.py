"""Byline inside LlamaIndex apps (`rag.llama`), driven through llama-index's own APIs:
`retrieve`/`aretrieve` on the retriever, `query`/`aquery` on the query engine, the
retriever inside llama-index's `RetrieverQueryEngine`, the engine as a `QueryEngineTool` —
in process, and over HTTP against a real `byline serve`. The README's example runs too."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core import QueryBundle
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.tools import QueryEngineTool
from support.environment import isolated_environ
from support.serve import ServeProcess

from rag.config import Settings
from rag.corpus import load_paths
from rag.llama import (
    BylineQueryEngine,
    BylineRetriever,
    HttpBylineQueryEngine,
    HttpBylineRetriever,
    RemoteError,
)
from rag.pipeline import Pipeline
from rag.types import Answer

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Where will Trump and Xi meet?"
UNANSWERABLE = "What did the mayor of Oslo say about tram fares?"
ADMIN = "llama-admin-key-0123"
NODE_KEYS = {"article_id", "title", "source", "date", "url", "start", "end"}


def make_settings(data: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data, llm_backend="extractive", embed_threads=2)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two identical seeded data dirs: one for in-process tests, one for the service."""
    base = tmp_path_factory.mktemp("llama")
    pipeline = Pipeline(make_settings(base / "local"))
    try:
        pipeline.ensure_seeded()
    finally:
        pipeline.close()
    shutil.copytree(base / "local", base / "served")
    return base / "local", base / "served"


@pytest.fixture(scope="module")
def pipeline(seeded: tuple[Path, Path]) -> Iterator[Pipeline]:
    p = Pipeline(make_settings(seeded[0]))
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(scope="module")
def bodies(seeds_dir: Path) -> dict[str, str]:
    articles, problems = load_paths([seeds_dir], 10_000_000)
    assert not problems
    return {a.id: a.body for a in articles}


def assert_cited(response: Response, bodies: dict[str, str]) -> None:
    """The response is a verified answer whose source nodes are its citations: one per
    [n] marker, each a verbatim quote at its char span."""
    assert isinstance(response, Response)
    answer = response.metadata["answer"] if response.metadata else None
    assert isinstance(answer, Answer) and not answer.abstained
    assert response.response == answer.text
    assert response.metadata is not None and response.metadata["abstained"] is False
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers and markers == {node.metadata["n"] for node in response.source_nodes}
    assert len(response.source_nodes) == len(answer.citations)
    for node, citation in zip(response.source_nodes, sorted(answer.citations, key=lambda c: c.n), strict=True):
        assert isinstance(node, NodeWithScore) and isinstance(node.node, TextNode)
        m = node.metadata
        assert NODE_KEYS | {"n"} <= set(m)
        assert node.text == citation.quote and m["article_id"] == citation.article_id
        assert (m["start"], m["end"]) == (citation.start, citation.end)
        assert (node.node.start_char_idx, node.node.end_char_idx) == (m["start"], m["end"])
        assert node.node.ref_doc_id == m["article_id"]
        assert bodies[m["article_id"]][m["start"] : m["end"]] == node.text


def assert_chunk_nodes(nodes: list[NodeWithScore], bodies: dict[str, str]) -> None:
    assert nodes
    for node in nodes:
        assert isinstance(node.node, TextNode) and node.score is not None
        m = node.metadata
        assert NODE_KEYS <= set(m) and m["title"]
        assert bodies[m["article_id"]][m["start"] : m["end"]] == node.text
        assert node.node.ref_doc_id == m["article_id"]


# --- in process ---------------------------------------------------------------------------
def test_retriever_sync_and_async(pipeline: Pipeline, bodies: dict[str, str]) -> None:
    retriever = BylineRetriever(pipeline, top_k=4)
    nodes = retriever.retrieve(QueryBundle(QUESTION))
    assert_chunk_nodes(nodes, bodies)
    assert [n.node.node_id for n in nodes] == [h.chunk.id for h in pipeline.retrieve(QUESTION, 4)]
    again = asyncio.run(retriever.aretrieve(QUESTION))
    assert [n.node.node_id for n in again] == [n.node.node_id for n in nodes]


def test_query_engine_sync_and_async(pipeline: Pipeline, bodies: dict[str, str]) -> None:
    engine = BylineQueryEngine(pipeline)
    response = engine.query(QUESTION)
    assert_cited(response, bodies)
    assert response.response == pipeline.ask(QUESTION).text
    assert str(response) == response.response

    from_async = asyncio.run(engine.aquery(QueryBundle(QUESTION)))
    assert_cited(from_async, bodies)
    assert from_async.response == response.response

    declined = engine.query(UNANSWERABLE)
    assert declined.metadata is not None and declined.metadata["abstained"] is True
    assert declined.source_nodes == [] and declined.metadata["abstain_reason"]


def test_retriever_in_llama_index_query_engine(pipeline: Pipeline, bodies: dict[str, str]) -> None:
    """Byline's retrieval under llama-index's own RetrieverQueryEngine (any LLM; a mock here)."""
    engine = RetrieverQueryEngine.from_args(BylineRetriever(pipeline, top_k=3), llm=MockLLM(max_tokens=8))
    response = engine.query(QUESTION)
    assert len(response.source_nodes) == 3
    assert_chunk_nodes(response.source_nodes, bodies)


def test_query_engine_as_a_tool(pipeline: Pipeline, bodies: dict[str, str]) -> None:
    tool = QueryEngineTool.from_defaults(
        BylineQueryEngine(pipeline), name="news", description="Cited answers about the news articles."
    )
    output = tool.call(QUESTION)
    assert isinstance(output.raw_output, Response)
    assert output.content == output.raw_output.response
    assert_cited(output.raw_output, bodies)


# --- over HTTP ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(seeded: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """`byline serve` on the second seeded data dir, keys required."""
    env = {
        "BYLINE_DATA_DIR": str(seeded[1]),
        "BYLINE_LLM_BACKEND": "extractive",
        "BYLINE_EMBED_THREADS": "1",
        "BYLINE_ADMIN_KEYS": ADMIN,
    }
    with ServeProcess.byline(tmp_path_factory.mktemp("served"), env) as service:
        service.wait_ready(90)
        yield service


def test_http_query_engine_sync_and_async(served: ServeProcess, pipeline: Pipeline, bodies: dict[str, str]) -> None:
    engine = HttpBylineQueryEngine(served.url, api_key=ADMIN)
    response = engine.query(QUESTION)
    assert_cited(response, bodies)
    assert response.response == pipeline.ask(QUESTION).text  # same answer as in process

    from_async = asyncio.run(engine.aquery(QUESTION))
    assert_cited(from_async, bodies)
    assert from_async.response == response.response

    with pytest.raises(RemoteError) as refused:
        HttpBylineQueryEngine(served.url).query(QUESTION)
    assert refused.value.status_code == 401 and refused.value.hint


def test_http_retriever_sync_and_async(served: ServeProcess, bodies: dict[str, str]) -> None:
    retriever = HttpBylineRetriever(served.url, api_key=ADMIN, top_k=5)
    nodes = retriever.retrieve(QUESTION)
    assert len(nodes) == 5
    assert_chunk_nodes(nodes, bodies)
    again = asyncio.run(retriever.aretrieve(QueryBundle(QUESTION)))
    assert [n.node.node_id for n in again] == [n.node.node_id for n in nodes]


# --- the README's example ---------------------------------------------------------------------
def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Inside LlamaIndex apps", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python example under 'Inside LlamaIndex apps'"
    return match.group(1)


def test_readme_example_runs(tmp_path: Path) -> None:
    code = readme_example()
    assert len(code.strip().splitlines()) <= 10
    env = isolated_environ(
        {"BYLINE_DATA_DIR": str(tmp_path / "data"), "BYLINE_LLM_BACKEND": "extractive", "BYLINE_EMBED_THREADS": "2"}
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "[1]" in lines[0]  # the verified answer, with its markers
    assert any(line.startswith("[1] ") and "chars" in line for line in lines[1:])  # its citations
