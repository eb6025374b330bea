"""Ingest and retrieval at one corpus size, in a process of its own (so its peak memory is
its own). `python -m benchmarks` runs it once per size; by hand:

    python -m benchmarks.scale --chunks 1000 --work /tmp/b1k --baseline --json-out b1k.json

Ingest: our `byline ingest` path (load, chunk, embed, write to embedded Chroma) against
 - the floor: the same chunk texts through the same ONNX model in one call, nothing else;
 - llama-index's default recipe on the same data and model (`IngestionPipeline` with a
   `SentenceSplitter` of the same chunk size, `ChromaVectorStore`, then
   `VectorStoreIndex.from_vector_store`), first run and re-run.
Retrieval: `Pipeline.search` (query embedding + Chroma + BM25 + fusion) per question,
vector-only and BM25-only, against the floor of one query embedding plus one raw Chroma
query with a precomputed vector asking for the same records and fields.

`--vectors-in`: precomputed-embedding mode for sizes too large to embed here. The chunk
vectors are the real MiniLM vectors saved by a smaller run (`--vectors-out`; the corpus
stream makes the smaller corpus a prefix of the larger), and for chunks past those, a real
vector of another chunk plus Gaussian noise (cosine ≈ 0.9 to it), normalised — so the
index holds a realistic, clustered distribution. Ingest throughput is then "everything but
the model"; query vectors are always computed live by the real model.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import peak_rss_mb, rss_mb, summary
from benchmarks.scale_corpus import Record, build_corpus, queries
from rag.chunking import Chunker
from rag.config import PROJECT_ROOT, Settings
from rag.corpus import article_from_record, load_paths
from rag.embedding import OnnxMiniLMEmbedder, Vectors
from rag.ingest import Ingestor
from rag.pipeline import Pipeline
from rag.types import Article

NOISE_NORM = 0.5  # ‖noise‖ for a unit vector: cosine to the source vector ≈ 0.89


class PrecomputedEmbedder:
    """An `Embedder` that answers from vectors computed earlier by the real model (and
    noisy copies of them past the end), for the precomputed-embedding mode. Same name and
    dimension as the real model: the collection is queried with live MiniLM vectors."""

    name = OnnxMiniLMEmbedder.name
    dimension = OnnxMiniLMEmbedder.dimension

    def __init__(self, texts: Sequence[str], known: dict[str, np.ndarray], seed: int = 11) -> None:
        base = list(known.values())
        rng = np.random.default_rng(seed)
        self._vectors: dict[str, np.ndarray] = {}
        for i, text in enumerate(texts):
            vector = known.get(text)
            if vector is None:
                source = base[i % len(base)]
                noise = rng.normal(0.0, NOISE_NORM / np.sqrt(self.dimension), self.dimension)
                mixed = source + noise
                vector = (mixed / np.linalg.norm(mixed)).astype(np.float32)
            self._vectors[text] = vector
        self.synthetic = len(texts) - sum(1 for t in texts if t in known)

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32)


def _chunk_texts(articles: Sequence[Article], settings: Settings) -> list[str]:
    chunker = Chunker(settings)
    return [c.text for a in articles for c in chunker.chunk(a)]


def _llama_index_ingest(corpus: Path, store_dir: Path, settings: Settings) -> dict[str, Any]:
    """llama-index's default recipe, same data, same model, same chunk size; run twice."""
    import chromadb
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from eval.naive import EmbedderAdapter

    embed_model = EmbedderAdapter(OnnxMiniLMEmbedder(settings))
    embed_model.get_text_embedding("warm up")
    client = chromadb.PersistentClient(
        path=str(store_dir), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection("llamaindex", metadata={"hnsw:space": "cosine"})
    vector_store = ChromaVectorStore(chroma_collection=collection)
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        articles, _problems = load_paths([corpus], settings.max_file_bytes)
        documents = [
            Document(
                text=a.body,
                metadata={"title": a.title, "date": str(a.date or ""), "source": a.source or ""},
            )
            for a in articles
        ]
        pipeline = IngestionPipeline(
            transformations=[
                SentenceSplitter(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap),
                embed_model,
            ],
            vector_store=vector_store,
        )
        nodes = pipeline.run(documents=documents)
        VectorStoreIndex.from_vector_store(vector_store, embed_model=embed_model)
        runs.append(
            {"seconds": time.perf_counter() - started, "nodes": len(nodes), "stored": collection.count()}
        )
    return {
        "first_s": runs[0]["seconds"],
        "rerun_s": runs[1]["seconds"],
        "nodes": runs[0]["nodes"],
        "stored_after_rerun": runs[1]["stored"],
        "embed_batch_size": embed_model.embed_batch_size,
    }


def _bench_queries(n_synthetic: int) -> list[str]:
    gold = [
        json.loads(line)["question"]
        for line in (PROJECT_ROOT / "eval/gold/qa.jsonl").read_text().splitlines()
    ]
    return gold + queries(n_synthetic)


def _measure_retrieval(pipeline: Pipeline, qs: list[str]) -> dict[str, Any]:
    retriever = pipeline.retriever
    collection = pipeline.vector_collection()
    candidates = pipeline.settings.candidates
    started = time.perf_counter()
    retriever.warm_up()  # loads the embedder, builds the BM25 index from the store
    bm25_build_s = time.perf_counter() - started
    for q in qs[:10]:  # warm caches of the code paths, not of the answers
        pipeline.search(q)

    def each(fn: Any) -> list[float]:
        pipeline.embedder.clear()  # every query embedded cold, as a new question would be
        out = []
        for q in qs:
            t = time.perf_counter()
            fn(q)
            out.append(time.perf_counter() - t)
        return out

    hybrid = each(pipeline.search)
    vector = each(lambda q: retriever.search(q, mode="vector"))
    bm25 = each(lambda q: retriever.search(q, mode="bm25"))
    raw = OnnxMiniLMEmbedder(pipeline.settings)
    raw.embed(["warm up"])
    query_vectors = [raw.embed([q])[0] for q in qs]
    embed_only = []
    for q in qs:
        t = time.perf_counter()
        raw.embed([q])
        embed_only.append(time.perf_counter() - t)
    chroma_only = []
    for v in query_vectors:
        t = time.perf_counter()
        collection.query(
            query_embeddings=[v.tolist()],
            n_results=candidates,
            include=["documents", "metadatas", "distances"],
        )
        chroma_only.append(time.perf_counter() - t)
    floor = [e + c for e, c in zip(embed_only, chroma_only, strict=True)]
    hybrid_s = summary(hybrid, 1000)
    floor_s = summary(floor, 1000)
    return {
        "queries": len(qs),
        "bm25_index_build_s": bm25_build_s,
        "hybrid_ms": hybrid_s,
        "vector_only_ms": summary(vector, 1000),
        "bm25_only_ms": summary(bm25, 1000),
        "query_embedding_ms": summary(embed_only, 1000),
        "raw_chroma_query_ms": summary(chroma_only, 1000),
        "floor_ms": floor_s,
        "hybrid_over_floor_p50": hybrid_s["p50"] / floor_s["p50"],
        "rss_after_warm_up_mb": rss_mb(),
    }


def run(
    target_chunks: int,
    work: Path,
    *,
    baseline: bool,
    vectors_in: Path | None,
    vectors_out: Path | None,
    n_queries: int,
    corpus_dir: Path | None = None,
) -> dict[str, Any]:
    if work.exists():
        shutil.rmtree(work)
    corpus = work / "corpus"
    settings = Settings(data_dir=work / "data", llm_backend="extractive")
    started = time.perf_counter()
    taken: list[Record] = []
    if corpus_dir is not None:  # an existing folder (the seeds), as is
        shutil.copytree(corpus_dir, corpus)
        loaded, _ = load_paths([corpus], settings.max_file_bytes)
        n_articles, texts = len(loaded), _chunk_texts(loaded, settings)
    else:
        taken, texts = build_corpus(target_chunks, corpus, settings)
        n_articles = len(taken)
    n_chunks = len(texts)
    result: dict[str, Any] = {
        "corpus": str(corpus_dir.name) if corpus_dir else "generated",
        "target_chunks": target_chunks,
        "articles": n_articles,
        "chunks": n_chunks,
        "corpus_mb": sum(p.stat().st_size for p in corpus.iterdir()) / 2**20,
        "generate_s": time.perf_counter() - started,
        "mode": "precomputed" if vectors_in else "real",
    }
    gc.collect()
    rss_start = rss_mb()

    pipeline = Pipeline(settings)
    if vectors_in:
        saved = np.load(vectors_in)
        saved_texts = json.loads(vectors_in.with_suffix(".texts.json").read_text())
        known = dict(zip(saved_texts, saved, strict=True))
        embedder = PrecomputedEmbedder(texts, known)
        result["synthetic_vectors"] = embedder.synthetic
        result["real_vectors"] = len(texts) - embedder.synthetic
        del saved, known
        pipeline.ingestor = Ingestor(settings, embedder, pipeline.store, pipeline.chunker)
    else:
        floor_embedder = OnnxMiniLMEmbedder(settings)
        floor_embedder.embed(texts[:16])
        t = time.perf_counter()
        vectors = floor_embedder.embed(texts)
        floor_s = time.perf_counter() - t
        result["floor_embed"] = {"seconds": floor_s, "chunks_per_s": len(texts) / floor_s}
        if vectors_out:
            vectors_out.parent.mkdir(parents=True, exist_ok=True)
            np.save(vectors_out, vectors)
            vectors_out.with_suffix(".texts.json").write_text(json.dumps(texts))
        del floor_embedder, vectors
        pipeline.embedder.inner.embed(["warm up"])  # model load is not ingest throughput
    del texts
    # Opening the store isn't throughput either (the llama-index run opens its client
    # before its clock starts too).
    pipeline.store_status()
    gc.collect()

    started = time.perf_counter()
    report = pipeline.ingest([corpus])
    first_s = time.perf_counter() - started
    ingest: dict[str, Any] = {
        "seconds": first_s,
        "articles_per_s": n_articles / first_s,
        "chunks_per_s": report.chunks_written / first_s,
        "chunks_written": report.chunks_written,
        "embeddings_computed": report.embeddings_computed,
        "peak_rss_mb": peak_rss_mb(),
        "rss_growth_mb": rss_mb() - rss_start,
    }
    if "floor_embed" in result:
        ingest["ratio_to_floor"] = ingest["chunks_per_s"] / result["floor_embed"]["chunks_per_s"]
    started = time.perf_counter()
    again = pipeline.ingest([corpus])
    ingest["reingest_s"] = time.perf_counter() - started
    ingest["reingest_embeddings"] = again.embeddings_computed
    ingest["reingest_ratio"] = ingest["reingest_s"] / first_s
    # A news day: 1% of the articles change (a paragraph added), the rest stay.
    rng = random.Random(5)
    changed = (
        []
        if not taken
        else [
            article_from_record(
                {
                    **json.loads(r.as_json()),
                    "text": r.text + "\n\nCorrection: an earlier version misstated a figure.",
                },
                r.id,
                "gen.jsonl",
            )
            for r in rng.sample(taken, max(1, len(taken) // 100))
        ]
    )
    if vectors_in is None and changed:
        started = time.perf_counter()
        update = pipeline.ingest_articles(changed)
        ingest["update_1pct_s"] = time.perf_counter() - started
        ingest["update_1pct_embeddings"] = update.embeddings_computed
    del changed
    ingest["stored"] = pipeline.store_status().chunks
    result["ingest"] = ingest

    result["retrieval"] = _measure_retrieval(pipeline, _bench_queries(n_queries))
    result["peak_rss_mb"] = peak_rss_mb()
    pipeline.close()

    if baseline and vectors_in is None:
        gc.collect()
        li = _llama_index_ingest(corpus, work / "llamaindex", settings)
        li["chunks_per_s"] = li["nodes"] / li["first_s"]
        li["ours_over_llamaindex"] = ingest["chunks_per_s"] / li["chunks_per_s"]
        result["llamaindex"] = li
    shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=0, help="size of the generated corpus")
    parser.add_argument("--corpus-dir", type=Path, help="use this folder (e.g. seeds/) instead of generating")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (deleted)")
    parser.add_argument("--baseline", action="store_true", help="also run llama-index's default recipe")
    parser.add_argument(
        "--vectors-in", type=Path, help="precomputed-embedding mode: vectors saved by a smaller run"
    )
    parser.add_argument("--vectors-out", type=Path, help="save the real chunk vectors (.npy + .texts.json)")
    parser.add_argument(
        "--queries", type=int, default=122, help="synthetic questions on top of every gold question"
    )
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    result = run(
        args.chunks,
        args.work,
        baseline=args.baseline,
        vectors_in=args.vectors_in,
        vectors_out=args.vectors_out,
        n_queries=args.queries,
        corpus_dir=args.corpus_dir,
    )
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
