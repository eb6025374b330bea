"""What a run leaves behind: a terminal table, `report.json`, `report.html`, a comparison
with an earlier run, and a RAGAS-style export.

`report.json` is the source of truth (aggregates + every question with its answer,
citations and scores); the HTML page and comparisons are derived from that structure, so
an old report can be compared with a new one without re-running anything. The HTML page is
one self-contained file (inline CSS/SVG, no scripts, no external assets) so it opens
offline and can be attached to a CI run; every piece of text in it is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from eval.metrics import CHUNK_KS, FUNNEL_STAGES, METRIC_DIRECTIONS, GoldItem, QuestionScores, funnel_counts
from eval.runner import Row, RunResult

# 2: questions carry chunk_texts, prompt_text, draft and their funnel; aggregates a "funnel".
REPORT_VERSION = 2
# The rows of the terminal table, in reading order.
TABLE_METRICS = (
    "n",
    "errors",
    "correctness",
    "token_f1",
    "recall_at_1",
    "recall_at_3",
    "recall_at_5",
    "mrr",
    "citation_precision",
    "quote_precision",
    "citation_recall",
    "support_rate",
    "abstention_precision",
    "abstention_recall",
    "abstention_rate",
    "conflict_coverage",
    "latency_p50_s",
    "latency_p95_s",
)
# The stage metrics ("funnel" block of the table), in pipeline order, then answer quality.
FUNNEL_TABLE_METRICS = (
    *(f"chunk_recall_at_{k}" for k in CHUNK_KS),
    "context_recall",
    "context_recall_of_retrieved",
    "reader_accuracy",
    "over_abstention",
    "answerable_accuracy",
    "unanswerable_refused",
    "false_premise_corrected",
    "conflict_both_sides",
    "false_conflicts",
    "premise_accepted",
    "broken_answers",
    "filler_answers",
)


# --- report.json ------------------------------------------------------------------------------
def _question_entry(item: GoldItem, row: Row, scores: QuestionScores, judge: bool | None) -> dict[str, Any]:
    answer = row.answer
    return {
        "id": item.id,
        "type": item.type,
        "split": item.split,
        "sides": item.sides,
        "question": item.question,
        "reference": item.answer,
        "accept": item.accept,
        "sources": item.sources,
        "evidence": item.evidence,
        "notes": item.notes,
        "answer": answer.text if answer else None,
        "abstained": answer.abstained if answer else None,
        "abstain_reason": answer.abstain_reason if answer else None,
        "citations": [
            {
                "n": c.n,
                "article_id": c.article_id,
                "file_name": c.file_name,
                "title": c.title,
                "quote": c.quote,
                "start": c.start,
                "end": c.end,
            }
            for c in (answer.citations if answer else [])
        ],
        "conflicts": [c.model_dump(mode="json") for c in (answer.conflicts if answer else [])],
        "claims": [c.model_dump(mode="json") for c in (answer.claims if answer else [])],
        "backend": answer.backend if answer else None,
        # the model's token counts (a replay needs to know whether the cap cut the draft)
        "prompt_tokens": answer.prompt_tokens if answer else None,
        "completion_tokens": answer.completion_tokens if answer else None,
        "fallback_reason": answer.fallback_reason if answer else None,
        "retrieved": row.retrieved,
        "latency_s": row.latency_s,
        "error": row.error,
        "cached": row.cached,
        "scores": scores.to_json(),
        # stage by stage: was the answer still there? (see eval.metrics); lost_at names the
        # first stage where a wrong answer's answer was missing
        "funnel": {**scores.funnel(), "lost_at": scores.lost_at},
        "chunk_texts": row.chunk_texts,
        "prompt_text": row.prompt_text,
        "draft": row.draft,
        "judge_correct": judge,
    }


def build_report(result: RunResult, gold_path: Path | None = None) -> dict[str, Any]:
    verdicts = (result.judge or {}).get("verdicts", {})
    judge = {k: v for k, v in result.judge.items() if k != "verdicts"} if result.judge else None
    return {
        "version": REPORT_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "meta": {**result.meta, "gold": str(gold_path) if gold_path else None},
        "aggregates": {
            "overall": result.overall,
            "by_type": result.by_type,
            "funnel": {
                "all": funnel_counts(result.scores),
                **{t: funnel_counts([s for s in result.scores if s.type == t]) for t in result.by_type},
            },
        },
        "judge": judge,
        "questions": [
            _question_entry(item, row, s, verdicts.get(item.id))
            for item, row, s in zip(result.items, result.rows, result.scores, strict=True)
        ],
    }


def aggregates_json(report: dict[str, Any]) -> str:
    """What `--json` prints: the aggregates (and the judge's, kept apart)."""
    return json.dumps({**report["aggregates"], "judge": report.get("judge")}, indent=2)


def write_reports(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


def load_report(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "aggregates" not in data:
        raise ValueError(f"{path} is not a byline eval report.json")
    return data


# --- terminal ---------------------------------------------------------------------------------------
def fmt(value: Any, name: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}s" if name.endswith("_s") else f"{value:.3f}"
    return str(value)


def print_table(report: dict[str, Any], console: Console) -> None:
    overall = report["aggregates"]["overall"]
    by_type = report["aggregates"]["by_type"]
    meta = report["meta"]
    title = f"byline eval — pipeline {meta.get('pipeline')}, backend {meta.get('backend')}"
    if meta.get("endpoint"):
        title += f", endpoint {meta['endpoint']}"
    if meta.get("split"):
        title += f", split {meta['split']}"
    table = Table(title=title)
    table.add_column("metric", no_wrap=True)
    table.add_column("all", justify="right", style="bold")
    for name in by_type:
        table.add_column(name, justify="right", no_wrap=True)
    for block, metrics in (("", TABLE_METRICS), ("funnel", FUNNEL_TABLE_METRICS)):
        if block:
            table.add_section()
            table.add_row(f"[bold]{block}[/bold]")
        for metric in metrics:
            table.add_row(
                metric,
                fmt(overall.get(metric), metric),
                *(fmt(a.get(metric), metric) for a in by_type.values()),
            )
    console.print(table)
    backends = ", ".join(f"{k}: {v}" for k, v in overall.get("backends", {}).items()) or "none"
    console.print(f"backends used: {backends}; fallbacks: {overall.get('fallbacks', 0)}", highlight=False)
    judge = report.get("judge")
    if judge:
        console.print(
            f"LLM judge ({judge['model']}, separate from the metrics above): correctness "
            f"{fmt(judge['correctness'])} over {judge['n']} answers",
            highlight=False,
        )


# --- comparison ----------------------------------------------------------------------------------------
@dataclass
class Comparison:
    improved: list[tuple[str, float, float]] = field(default_factory=list)
    regressed: list[tuple[str, float, float]] = field(default_factory=list)
    now_correct: list[str] = field(default_factory=list)
    now_wrong: list[str] = field(default_factory=list)
    # right or wrong as before, but the answer's text (or its abstention) is not the same
    answer_changed: list[str] = field(default_factory=list)
    only_old: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)


def compare_reports(old: dict[str, Any], new: dict[str, Any], tolerance: float = 1e-9) -> Comparison:
    """Direction-aware metric deltas (overall and per type, named "type/metric") and the
    questions whose correctness flipped."""
    out = Comparison()

    def scan(prefix: str, a: dict[str, Any], b: dict[str, Any]) -> None:
        for name, higher_better in METRIC_DIRECTIONS.items():
            before, after = a.get(name), b.get(name)
            if not isinstance(before, int | float) or not isinstance(after, int | float):
                continue
            delta = after - before
            if abs(delta) <= tolerance:
                continue
            better = delta > 0 if higher_better else delta < 0
            (out.improved if better else out.regressed).append((prefix + name, float(before), float(after)))

    scan("", old["aggregates"]["overall"], new["aggregates"]["overall"])
    old_types, new_types = old["aggregates"]["by_type"], new["aggregates"]["by_type"]
    for t in new_types:
        if t in old_types:
            scan(f"{t}/", old_types[t], new_types[t])
    old_q = {q["id"]: q for q in old.get("questions", [])}
    new_q = {q["id"]: q for q in new.get("questions", [])}
    for qid, q in new_q.items():
        if qid not in old_q:
            out.only_new.append(qid)
            continue
        was, now = bool(old_q[qid]["scores"]["correct"]), bool(q["scores"]["correct"])
        if now and not was:
            out.now_correct.append(qid)
        elif was and not now:
            out.now_wrong.append(qid)
        elif (old_q[qid]["answer"], old_q[qid]["abstained"]) != (q["answer"], q["abstained"]):
            out.answer_changed.append(qid)
    out.only_old = [qid for qid in old_q if qid not in new_q]
    return out


def print_comparison(cmp: Comparison, console: Console, old_name: str) -> None:
    console.print(f"[bold]compared with {escape(old_name)}[/bold]")

    def show(label: str, style: str, changes: list[tuple[str, float, float]]) -> None:
        console.print(f"[{style}]{label}: {len(changes)}[/{style}]")
        for name, before, after in changes:
            console.print(
                f"  {name}: {fmt(before, name)} → {fmt(after, name)} ({after - before:+.3f})", highlight=False
            )

    show("improved", "green", cmp.improved)
    show("regressed", "red", cmp.regressed)
    fixed, broken = escape(", ".join(cmp.now_correct)) or "-", escape(", ".join(cmp.now_wrong)) or "-"
    console.print(f"[green]questions now correct ({len(cmp.now_correct)})[/green]: {fixed}")
    console.print(f"[red]questions now wrong ({len(cmp.now_wrong)})[/red]: {broken}")
    changed = escape(", ".join(cmp.answer_changed)) or "-"
    console.print(f"answers changed, still as right or wrong ({len(cmp.answer_changed)}): {changed}")
    if cmp.only_old or cmp.only_new:
        console.print(f"only in the old run: {len(cmp.only_old)}; only in the new run: {len(cmp.only_new)}")


# --- RAGAS export -------------------------------------------------------------------------------------
def export_ragas(report: dict[str, Any], path: Path) -> int:
    """One JSON object per line in RAGAS's single-turn sample schema. Questions that
    errored are left out (there is no response to grade)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for q in report["questions"]:
            if q["answer"] is None:
                continue
            sample = {
                "user_input": q["question"],
                "response": q["answer"],
                "retrieved_contexts": [c["quote"] for c in q["citations"]],
                "reference": q["reference"],
            }
            fh.write(json.dumps(sample, ensure_ascii=False) + "\n")
            n += 1
    return n


# --- report.html -----------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
  max-width:1100px;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{padding:4px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{position:relative;background:#f0f0f0;height:16px;min-width:80px}
.bar>span{position:absolute;left:0;top:0;bottom:0;background:#4a7fd4}
.bar>em{position:relative;font-style:normal;font-size:11px;padding-left:4px}
.fail{border:1px solid #e3c6c6;background:#fffafa;margin:1rem 0;padding:.5rem .8rem;border-radius:4px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.pair>div{background:#fff;border:1px solid #eee;padding:.4rem .6rem}
.label{font-size:11px;text-transform:uppercase;color:#666;letter-spacing:.04em}
.meta{color:#555;font-size:12px}blockquote{margin:.2rem 0 .2rem 1rem;color:#444;font-size:12px}
.ok{color:#1a7f37}.bad{color:#b42318}
.funnels{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
"""
_BAR_METRICS = (
    "correctness",
    "token_f1",
    "recall_at_3",
    "citation_precision",
    "quote_precision",
    "citation_recall",
    "support_rate",
    "abstention_rate",
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _bar(value: Any) -> str:
    if not isinstance(value, int | float):
        return '<td class="num">n/a</td>'
    pct = max(0.0, min(1.0, float(value))) * 100
    return f'<td><div class="bar"><span style="width:{pct:.1f}%"></span><em>{value:.2f}</em></div></td>'


def _svg_correctness(by_type: dict[str, dict[str, Any]]) -> str:
    """Horizontal bars of correctness per type, as inline SVG."""
    row_h, label_w, width = 24, 120, 520
    height = row_h * max(1, len(by_type)) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + label_w + 60}" height="{height}" '
        'role="img">'
    ]
    for i, (name, agg) in enumerate(by_type.items()):
        value = agg.get("correctness") or 0.0
        y = 5 + i * row_h
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{_e(name)} (n={_e(agg.get("n"))})</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{width}" height="18" fill="#f0f0f0"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{width * value:.1f}" height="18" fill="#4a7fd4"/>')
        parts.append(f'<text x="{label_w + width + 6}" y="{y + 14}" font-size="12">{value:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_funnel(name: str, counts: dict[str, int]) -> str:
    """One question type's funnel as inline SVG: how many of its answerable questions
    still had the answer at each stage. The stage with the biggest loss is drawn red and
    every loss is labelled, so where answers go missing shows at a glance."""
    n = counts.get("n", 0)
    row_h, label_w, width, top = 20, 120, 220, 22
    previous, drops = n, {}
    for key, _ in FUNNEL_STAGES:
        drops[key] = previous - counts.get(key, 0)
        previous = counts.get(key, 0)
    worst = max(drops, key=lambda k: drops[k]) if any(d > 0 for d in drops.values()) else None
    height = top + row_h * len(FUNNEL_STAGES) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 90}" height="{height}" '
        f'role="img" class="funnel"><title>{_e(name)}: answers kept stage by stage</title>',
        f'<text x="0" y="14" font-size="13" font-weight="bold">{_e(name)} ({_e(n)} answerable)</text>',
    ]
    for i, (key, label) in enumerate(FUNNEL_STAGES):
        count = counts.get(key, 0)
        y = top + i * row_h
        bar = width * count / n if n else 0.0
        fill = "#b42318" if key == worst else "#4a7fd4"
        loss = f" (−{drops[key]})" if drops[key] > 0 else (f" (+{-drops[key]})" if drops[key] < 0 else "")
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{_e(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{width}" height="16" fill="#f0f0f0"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{bar:.1f}" height="16" fill="{fill}"/>')
        parts.append(
            f'<text x="{label_w + width + 6}" y="{y + 13}" font-size="12">{_e(count)}{_e(loss)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _funnel_section(funnel: dict[str, dict[str, int]]) -> list[str]:
    """Funnels of every type with answerable questions whose stages were all recorded
    (none for naive or endpoint runs: they can't see inside the pipeline)."""
    shown = {name: counts for name, counts in funnel.items() if counts.get("n")}
    if not shown:
        return []
    return [
        "<h2>Where answers are lost</h2>",
        "<p class='meta'>Answerable questions whose answer (an accept string or gold evidence) was "
        "still present at each stage; red marks the stage that lost the most. Per question, "
        "“lost at” below names the stage after the last one that still had it: retrieval (not in "
        "the top-6 chunks), context (not in the prompt), reader (not in the draft) or verifier.</p>",
        "<div class='funnels'>",
        *(_svg_funnel(name, counts) for name, counts in shown.items()),
        "</div>",
    ]


def _lost_at(q: dict[str, Any]) -> str:
    funnel = q.get("funnel") or {}
    if q["scores"]["correct"]:
        return "-"
    return str(funnel.get("lost_at") or "n/a")


def _answer_block(q: dict[str, Any]) -> str:
    if q["error"]:
        return f'<p class="bad">error: {_e(q["error"])}</p>'
    cites = "".join(
        f"<blockquote>[{_e(c['n'])}] {_e(c['file_name'] or c['article_id'])}: “{_e(c['quote'])}”</blockquote>"
        for c in q["citations"]
    )
    flag = " (abstained)" if q["abstained"] else ""
    return f"<p>{_e(q['answer'])}<span class='meta'>{_e(flag)}</span></p>{cites}"


def _scores_line(s: dict[str, Any]) -> str:
    keys = (
        "token_f1",
        "mrr",
        "citation_precision",
        "quote_precision",
        "citation_recall",
        "support_rate",
        "latency_s",
    )
    return " · ".join(f"{k} {_e(fmt(s.get(k), k))}" for k in keys)


def render_html(report: dict[str, Any]) -> str:
    meta, aggs = report["meta"], report["aggregates"]
    overall, by_type = aggs["overall"], aggs["by_type"]
    title = f"byline eval: {meta.get('pipeline')} / {meta.get('backend')}"
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>created {_e(report.get('created'))} · gold {_e(meta.get('gold'))} · "
        f"{_e(meta.get('n'))} questions · config {_e(str(meta.get('config_hash', ''))[:12])}"
        f"{' · split ' + _e(meta['split']) if meta.get('split') else ''}"
        f"{' · endpoint ' + _e(meta['endpoint']) if meta.get('endpoint') else ''}</p>",
        "<h2>Overall</h2><table><tr><th>metric</th><th>value</th></tr>",
    ]
    for name in (m for m in overall if m not in ("backends",)):
        out.append(f"<tr><td>{_e(name)}</td><td class='num'>{_e(fmt(overall[name], name))}</td></tr>")
    backends = ", ".join(f"{k}: {v}" for k, v in overall.get("backends", {}).items()) or "none"
    out.append(f"<tr><td>backends</td><td class='num'>{_e(backends)}</td></tr></table>")
    judge = report.get("judge")
    if judge:
        out.append(
            f"<p>LLM judge <b>{_e(judge['model'])}</b> (reported separately, not part of the metrics "
            f"above): correctness {_e(fmt(judge['correctness']))} over {_e(judge['n'])} answers.</p>"
        )
    out.append("<h2>Correctness by question type</h2>")
    out.append(_svg_correctness(by_type))
    out.append("<h2>Metrics by question type</h2><table><tr><th>type</th><th>n</th>")
    out.extend(f"<th>{_e(m)}</th>" for m in _BAR_METRICS)
    out.append("<th>p50</th></tr>")
    for name, agg in by_type.items():
        out.append(f"<tr><td>{_e(name)}</td><td class='num'>{_e(agg['n'])}</td>")
        out.extend(_bar(agg.get(m)) for m in _BAR_METRICS)
        out.append(f"<td class='num'>{_e(fmt(agg.get('latency_p50_s'), 'latency_p50_s'))}</td></tr>")
    out.append("</table>")
    out.extend(_funnel_section(aggs.get("funnel") or {}))

    failed = [q for q in report["questions"] if not q["scores"]["correct"]]
    out.append(f"<h2>Failed questions ({len(failed)} of {len(report['questions'])})</h2>")
    for q in failed:
        accept = ", ".join(q["accept"]) or "(abstain)"
        out.append(
            f"<div class='fail'><div><b>{_e(q['id'])}</b> <span class='meta'>[{_e(q['type'])}]</span> "
            f"{_e(q['question'])}</div><div class='pair'>"
            f"<div><div class='label'>answer</div>{_answer_block(q)}</div>"
            f"<div><div class='label'>reference</div><p>{_e(q['reference'])}</p>"
            f"<p class='meta'>accept: {_e(accept)}<br>sources: {_e(', '.join(q['sources']) or '-')}</p>"
            + (f"<p class='meta'>notes: {_e(q['notes'])}</p>" if q.get("notes") else "")
            + "</div></div>"
            + (f"<p class='meta'>draft: {_e(q['draft'])}</p>" if q.get("draft") else "")
            + f"<p class='meta'>lost at: {_e(_lost_at(q))} · {_scores_line(q['scores'])}</p></div>"
        )
    out.append(
        "<h2>All questions</h2><table><tr><th>id</th><th>type</th><th>question</th>"
        "<th>answer</th><th>ok</th><th>lost at</th></tr>"
    )
    for q in report["questions"]:
        ok = q["scores"]["correct"]
        answer = q["answer"] if q["answer"] is not None else f"error: {q['error']}"
        out.append(
            f"<tr><td>{_e(q['id'])}</td><td>{_e(q['type'])}</td><td>{_e(q['question'])}</td>"
            f"<td>{_e(answer)}</td><td class='{'ok' if ok else 'bad'}'>{'✓' if ok else '✗'}</td>"
            f"<td>{_e(_lost_at(q))}</td></tr>"
        )
    out.append("</table></body></html>")
    return "\n".join(out)
