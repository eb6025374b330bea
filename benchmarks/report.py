"""BENCHMARKS.md and the scaling plot, rendered from one run's JSON (nothing typed by hand
except `benchmarks/analysis.md`, which explains the numbers and is pasted in as is)."""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path
from typing import Any

from rag.config import PROJECT_ROOT

ANALYSIS = Path(__file__).resolve().parent / "analysis.md"


def _f(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _label(row: dict[str, Any]) -> str:
    if row.get("corpus") not in (None, "generated"):
        return f"{row['corpus']} ({row['articles']} articles)"
    return f"{row['chunks']:,} chunks"


# --- targets ---------------------------------------------------------------------------------


def targets(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, measured, verdict, how far) for each target of issue 7 this run measured."""
    out: list[tuple[str, str, str, str]] = []

    def check(name: str, value: float | None, limit: float, higher_is_better: bool, fmt: str) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        ok = value >= limit if higher_is_better else value <= limit
        if ok:
            gap = ""
        elif higher_is_better:
            gap = f"short by {fmt.format(limit - value)} ({(limit - value) / limit:.0%})"
        else:
            gap = f"over by {fmt.format(value - limit)} ({(value - limit) / limit:.0%})"
        out.append((name, fmt.format(value), "met" if ok else "**missed**", gap))

    scale = [r for r in result.get("scale", []) if r.get("corpus") == "generated"]
    real = [r for r in scale if r["mode"] == "real"]
    if real:
        worst = min(r["ingest"]["ratio_to_floor"] for r in real)
        check("ingest ≥ 0.9× raw embedding throughput (worst size)", worst, 0.9, True, "{:.2f}×")
        check(
            "re-ingest of unchanged corpus ≤ 2% of first ingest (worst size embedded for real)",
            max(r["ingest"]["reingest_ratio"] for r in real) * 100,
            2.0,
            False,
            "{:.2f}%",
        )
    li = [r["llamaindex"] for r in result.get("scale", []) if "llamaindex" in r]
    if li:
        check(
            "ingest ≥ llama-index default pipeline (worst corpus)",
            min(x["ours_over_llamaindex"] for x in li),
            1.0,
            True,
            "{:.2f}×",
        )
    if scale:
        largest = max(scale, key=lambda r: r["chunks"])
        hybrid = largest["retrieval"]["hybrid_ms"]
        size = f"{largest['chunks']:,} chunks"
        check(f"retrieval p50 ≤ 12 ms at {size}", hybrid["p50"], 12.0, False, "{:.1f} ms")
        check(f"retrieval p95 ≤ 20 ms at {size}", hybrid["p95"], 20.0, False, "{:.1f} ms")
    http = result.get("http")
    if http:
        check(
            "HTTP /v1/search p50 ≤ 1.3× in-process (1 client)",
            http["http_over_in_process_search_p50"],
            1.3,
            False,
            "{:.2f}×",
        )
        runs = http["runs"] + [r for r in http.get("workers", []) if "requests" in r]
        unexpected = sum(r["errors"]["unexpected"] for r in runs)
        check("zero failed requests under load (unexpected errors)", float(unexpected), 0.0, False, "{:.0f}")
        rss = http.get("embedded_service", {}).get("rss_end_mb")
        if rss and any(r.get("backend") == "local" for r in http["runs"]):
            check("service memory ≤ 2.5 GB with the local model loaded", rss / 1024, 2.5, False, "{:.2f} GB")
    answers = result.get("answers", {})
    if "local" in answers:
        local = answers["local"]
        check("local answer p50 ≤ 2.5 s", local["total_s"]["p50"], 2.5, False, "{:.2f} s")
        check("local answer p95 ≤ 5 s", local["total_s"]["p95"], 5.0, False, "{:.2f} s")
        check("local first token p50 ≤ 1 s", local["first_token_s"]["p50"], 1.0, False, "{:.2f} s")
    if "extractive" in answers:
        check(
            "extractive answer p50 ≤ 50 ms",
            answers["extractive"]["total_s"]["p50"] * 1000,
            50.0,
            False,
            "{:.0f} ms",
        )
    return out


# --- sections -------------------------------------------------------------------------------


def _ingest_section(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        i = r["ingest"]
        floor = r.get("floor_embed", {}).get("chunks_per_s")
        body.append(
            [
                _label(r),
                r["mode"],
                _f(r["chunks"]),
                _f(i["seconds"], 2, " s"),
                _f(i["articles_per_s"], 1),
                _f(i["chunks_per_s"], 1),
                _f(floor, 1),
                _f(i.get("ratio_to_floor"), 2, "×"),
                f"{_f(i['reingest_s'], 2, ' s')} ({_f(i['reingest_ratio'] * 100, 2, '%')})",
                _f(i.get("update_1pct_s"), 2, " s"),
                _f(i["peak_rss_mb"], 0, " MB"),
            ]
        )
    table = _table(
        [
            "corpus",
            "vectors",
            "chunks",
            "ingest",
            "articles/s",
            "chunks/s",
            "floor chunks/s",
            "ours ÷ floor",
            "re-ingest unchanged",
            "1% of articles changed",
            "peak RSS",
        ],
        body,
    )
    li_rows = []
    for r in rows:
        li = r.get("llamaindex")
        if not li:
            continue
        li_rows.append(
            [
                _label(r),
                _f(li["nodes"]),
                _f(li["first_s"], 2, " s"),
                _f(li["chunks_per_s"], 1),
                _f(r["ingest"]["chunks_per_s"], 1),
                _f(li["ours_over_llamaindex"], 2, "×"),
                _f(li["rerun_s"], 2, " s"),
                f"{li['stored_after_rerun']:,} (of {li['nodes']:,})",
            ]
        )
    li_table = _table(
        [
            "corpus",
            "llama-index nodes",
            "llama-index ingest",
            "its chunks/s",
            "our chunks/s",
            "ours ÷ llama-index",
            "its re-run",
            "records after its re-run",
        ],
        li_rows,
    )
    return f"{table}\n\nAgainst llama-index's default recipe (same files, same ONNX model, same chunk size):\n\n{li_table}"


def _retrieval_section(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        t = r["retrieval"]

        def pp(key: str, t: dict[str, Any] = t) -> str:
            return f"{_f(t[key]['p50'], 1)} / {_f(t[key]['p95'], 1)}"

        body.append(
            [
                _label(r),
                r["mode"],
                pp("hybrid_ms"),
                pp("vector_only_ms"),
                pp("bm25_only_ms"),
                pp("query_embedding_ms"),
                pp("raw_chroma_query_ms"),
                pp("floor_ms"),
                _f(t["hybrid_over_floor_p50"], 2, "×"),
                _f(t["bm25_index_build_s"], 2, " s"),
                _f(t["rss_after_warm_up_mb"], 0, " MB"),
            ]
        )
    return _table(
        [
            "corpus",
            "vectors",
            "hybrid (ours)",
            "vector only",
            "BM25 only",
            "query embedding",
            "raw Chroma query",
            "floor (embedding + Chroma)",
            "ours ÷ floor (p50)",
            "BM25 index build",
            "RSS after warm-up",
        ],
        body,
    )


def _answers_section(a: dict[str, Any]) -> str:
    rows = []
    for backend in ("extractive", "local"):
        if backend not in a:
            continue
        b = a[backend]

        def pp(key: str, scale: float, digits: int, unit: str, b: dict[str, Any] = b) -> str:
            s = b[key]
            if not s.get("n"):
                return "–"
            return f"{_f(s['p50'] * scale, digits)} / {_f(s['p95'] * scale, digits)}{unit}"

        rows.append(
            [
                backend,
                _f(b["total_s"]["n"]),
                pp("total_s", 1000, 0, " ms"),
                pp("first_token_s", 1000, 0, " ms"),
                pp("prompt_tokens", 1, 0, ""),
                pp("generated_tokens_per_s", 1, 1, ""),
            ]
        )
    naive = a.get("naive_llamaindex_local")
    if naive:
        rows.append(
            [
                "llama-index recipe (same model)",
                _f(naive["questions"]),
                f"{_f(naive['total_s']['p50'] * 1000, 0)} / {_f(naive['total_s']['p95'] * 1000, 0)} ms",
                "– (not streamed)",
                "–",
                "–",
            ]
        )
    table = _table(
        [
            "backend",
            "questions",
            "total p50 / p95",
            "first token p50 / p95",
            "prompt tokens p50 / p95",
            "generated tok/s p50 / p95",
        ],
        rows,
    )
    notes = [f"Retrieval inside these answers: p50 {_f(a['retrieval_ms']['p50'], 1)} ms."]
    if "model_load_to_ready_s" in a:
        notes.append(
            f"Cold start: seeds ingested and embedder loaded {_f(a['seed_ingest_and_embedder_load_s'], 2)} s; "
            f"model joined from its PyPI parts {_f(a['model_assembly_s'], 2)} s (first run only); model loaded to "
            f"ready {_f(a['model_load_to_ready_s'], 2)} s. Memory: {_f(a['rss_without_llm_mb'], 0)} MB without "
            f"the LLM, {_f(a.get('rss_with_local_model_mb'), 0)} MB with it."
        )
    local = a.get("local", {})
    stages = local.get("stages_s")
    if stages and stages.get("retrieve", {}).get("n"):
        parts = ", ".join(
            f"{label} {_f(stages[key]['p50'], 2)} s"
            for key, label in (
                ("retrieve", "retrieval and context"),
                ("model_first_token", "the model reading its prompt (first token)"),
                ("writing", "writing the rest"),
                ("verify", "verification"),
            )
            if stages.get(key, {}).get("n")
        )
        notes.append(f"Where a local answer's time goes (p50 of each stage): {parts}.")
    if local.get("completion_tokens", {}).get("n"):
        c = local["completion_tokens"]
        notes.append(f"Answer length: p50 {_f(c['p50'], 0)}, p95 {_f(c['p95'], 0)}, max {_f(c['max'], 0)} tokens.")
    runtime = a.get("local_runtime")
    if runtime and runtime["new_prompt_tokens"].get("n"):
        r = runtime
        drafts = (
            f"{r['draft_tokens_accepted']} of {r['draft_tokens']} drafted tokens accepted"
            if r["draft_tokens"]
            else "no speculative drafting"
        )
        notes.append(
            f"llama.cpp's own timings on {r['questions']} of these prompts (p50): "
            f"{_f(r['new_prompt_tokens']['p50'], 0)} new prompt tokens read at "
            f"{_f(r['prompt_tokens_per_s']['p50'], 1)} tok/s, {_f(r['cached_prompt_tokens']['p50'], 0)} more "
            f"from the prompt cache; {_f(r['generated_tokens']['p50'], 0)} tokens written at "
            f"{_f(r['generated_tokens_per_s']['p50'], 1)} tok/s; {drafts}."
        )
    cli = a.get("cli_cold_start")
    if cli:
        notes.append(
            f"`byline ask` on the local model, a new process each time (imports, store, embedder, "
            f"model load beside retrieval, one answer): p50 {_f(cli['total_s']['p50'], 1)} s over "
            f"{cli['total_s']['n']} runs."
        )
    if naive:
        notes.append(
            f"On the same {naive['questions']} questions ours took p50 {_f(naive['ours_p50_on_same_questions_s'], 2)}"
            f" s: the llama-index recipe is {_f(naive['speedup_p50'], 1)}× slower at p50."
        )
    return table + "\n\n" + " ".join(notes)


def _http_section(h: dict[str, Any]) -> str:
    def row(r: dict[str, Any], setup: str) -> list[str]:
        lat = r["latency_ms"]
        route = r["path"] + (f" ({r['backend']})" if r.get("backend") else "")
        statuses = ", ".join(f"{k}: {v:,}" for k, v in r["status_codes"].items())
        return [
            setup,
            route,
            str(r["clients"]),
            _f(r["requests"]),
            _f(r["requests_per_s"], 1),
            f"{_f(lat['p50'], 1)} / {_f(lat['p95'], 1)} / {_f(lat['p99'], 1)}",
            statuses or "–",
            f"{r['errors']['unexpected']} / {r['errors']['by_design']}",
        ]

    rows = [row(r, "1 worker, embedded Chroma") for r in h["runs"]]
    rows += [
        row(r, f"{r['workers']} worker(s), chroma server") for r in h.get("workers", []) if "requests" in r
    ]
    table = _table(
        [
            "setup",
            "route",
            "clients",
            "requests",
            "req/s",
            "latency ms p50 / p95 / p99",
            "statuses",
            "unexpected / by design (429·503 + Retry-After)",
        ],
        rows,
    )
    svc = h["embedded_service"]
    starts = [w for w in h.get("workers", []) if "service" in w]
    start_notes = "; ".join(
        f"{w['workers']} worker(s) on a chroma server {_f(w['service']['cold_start_to_ready_s'], 1)} s, "
        f"{_f(w['service']['rss_ready_mb'], 0)} MB"
        for w in starts
    )
    return (
        f"{table}\n\nIn-process `Pipeline.search` on the same kind of questions: p50 "
        f"{_f(h['in_process_search_ms']['p50'], 1)} ms, p95 {_f(h['in_process_search_ms']['p95'], 1)} ms; over HTTP with "
        f"one client the p50 is {_f(h['http_over_in_process_search_p50'], 2)}× that. Cold start of `byline serve` "
        f"(spawn → `/readyz` 200, embedder and BM25 index loaded, local model loaded unless --quick): "
        f"{_f(svc['cold_start_to_ready_s'], 1)} s; service memory (process tree) {_f(svc['rss_ready_mb'], 0)} MB when "
        f"ready, {_f(svc.get('rss_end_mb'), 0)} MB after all the runs above. {start_notes}."
    )


def _widget_section() -> str:
    raw = (PROJECT_ROOT / "service" / "static" / "widget.js").read_bytes()
    return (
        f"`service/static/widget.js` (the whole chat widget): {len(raw):,} bytes raw, "
        f"{len(gzip.compress(raw, 9)):,} bytes gzip -9 (aim: under 15 KB; `tests/test_widget.py` enforces it)."
    )


def render_markdown(result: dict[str, Any], *, json_path: Path, plot_path: Path, root: Path) -> str:
    m = result["machine"]
    v = result["versions"]
    rel_json = os.path.relpath(json_path, root)
    rel_plot = os.path.relpath(plot_path, root)
    parts = [
        "# Benchmarks",
        "",
        "Generated by the benchmark suite; do not edit by hand (the explanations come from "
        "`benchmarks/analysis.md`). Every number below was measured in one run:",
        "",
        f"```bash\n{result['command']}\n```",
        "",
        f"{result['date']} · {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, no GPU · Python {m['python']} · "
        f"load average at start {', '.join(f'{x:.2f}' for x in m['load_average_at_start'])} · "
        + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
        f"Raw numbers: [`{rel_json}`]({rel_json}). Latencies are p50 / p95 (nearest rank) unless marked.",
    ]
    if result.get("quick"):
        parts += ["", "**Quick run** (the CI smoke): sizes and durations too small to mean anything."]
    checks = targets(result)
    if checks:
        parts += ["", "## Targets", "", _table(["target", "measured", "", "gap"], [list(c) for c in checks])]
    if ANALYSIS.exists() and not result.get("quick"):
        parts += ["", ANALYSIS.read_text().strip()]
    scale = result.get("scale", [])
    if scale:
        parts += ["", "## Ingest", "", _ingest_section(scale)]
        parts += [
            "",
            "## Retrieval",
            "",
            "Milliseconds, p50 / p95, over "
            f"{scale[0]['retrieval']['queries']} questions per corpus (78 gold + generated ones); every "
            "query embedded cold.",
            "",
            _retrieval_section(scale),
        ]
        parts += ["", f"![latency and memory against corpus size]({rel_plot})"]
    if "answers" in result:
        parts += ["", "## Answers (seed corpus)", "", _answers_section(result["answers"])]
    if "http" in result:
        parts += [
            "",
            "## HTTP under load",
            "",
            "Closed-loop clients (`benchmarks/loadgen.py`, async httpx, its own "
            "process) against `byline serve` on 127.0.0.1, rate limit off. Search questions are unique "
            "(no cache hits); answers use the gold questions.",
            "",
            _http_section(result["http"]),
        ]
    parts += ["", "## Widget size", "", _widget_section(), ""]
    return "\n".join(parts)


def render_plot(result: dict[str, Any], path: Path) -> None:
    rows = sorted(
        (r for r in result.get("scale", []) if r.get("corpus") == "generated"), key=lambda r: r["chunks"]
    )
    if not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["chunks"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [
        ("hybrid p50 (ours)", "hybrid_ms", "p50", "-o"),
        ("hybrid p95 (ours)", "hybrid_ms", "p95", "--o"),
        ("vector only p50", "vector_only_ms", "p50", "-s"),
        ("BM25 only p50", "bm25_only_ms", "p50", "-^"),
        ("floor p50 (embedding + raw Chroma)", "floor_ms", "p50", ":d"),
    ]
    for label, key, q, style in series:
        ax1.plot(x, [r["retrieval"][key][q] for r in rows], style, label=label)
    ax1.axhline(12, color="grey", lw=0.8, ls="--")
    ax1.text(x[0], 12.3, "p50 target 12 ms", fontsize=8, color="grey")
    ax1.set_xscale("log")
    ax1.set_xlabel("chunks in the store")
    ax1.set_ylabel("ms per search")
    ax1.set_title("Retrieval latency")
    ax1.legend(fontsize=8)
    ax2.plot(x, [r["ingest"]["peak_rss_mb"] for r in rows], "-o", label="peak RSS during ingest")
    ax2.plot(
        x,
        [r["retrieval"]["rss_after_warm_up_mb"] for r in rows],
        "-s",
        label="RSS serving (BM25 index loaded)",
    )
    ax2.set_xscale("log")
    ax2.set_xlabel("chunks in the store")
    ax2.set_ylabel("MB")
    ax2.set_title("Memory")
    ax2.legend(fontsize=8)
    modes = {r["chunks"]: r["mode"] for r in rows}
    pre = [c for c, mode in modes.items() if mode == "precomputed"]
    if pre:
        fig.text(
            0.01, 0.01, f"{', '.join(f'{c:,}' for c in pre)} chunks: precomputed-embedding mode", fontsize=7
        )
    fig.suptitle(f"Byline on {result['machine']['cores']} CPU cores, {result['date']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
