"""The funnel in the reports, from hand-built rows whose stages are known by reading them:
report.json's per-question stages, the terminal table's funnel block, and the HTML chart
(one inline SVG per question type, the stage losing most answers in red, every loss
labelled) with a "lost at" column. No pipeline: these only read rows."""

from __future__ import annotations

import re

from rich.console import Console

from eval.metrics import GoldItem
from eval.report import build_report, print_table, render_html
from eval.runner import Row, RunResult, score_rows
from rag.types import Answer, Timings

OTHER = "Trump will travel to Tokyo on Oct. 27."


def item(qid: str, kind: str = "single", accept: tuple[str, ...] = ("Gyeongju",)) -> GoldItem:
    return GoldItem(
        id=qid,
        question=f"Where is the summit? ({qid})",
        answer="Gyeongju",
        accept=list(accept),
        sources=["000_602e51685fe81370.txt"],
        type=kind,
    )


def row(qid: str, text: str, *, chunk_at: int, prompt: str, draft: str, abstained: bool = False) -> Row:
    answer = Answer(
        question="q",
        standalone_question="q",
        text=text,
        citations=[],
        abstained=abstained,
        backend="extractive",
        timings=Timings(total_s=0.1),
    )
    chunks = ["Gyeongju hosts APEC." if i == chunk_at else f"{OTHER} {i}" for i in range(20)]
    return Row(
        id=qid,
        question=f"Where is the summit? ({qid})",
        answer=answer,
        retrieved=[],
        latency_s=0.1,
        chunk_texts=chunks,
        prompt_text=prompt,
        draft=draft,
    )


def result() -> RunResult:
    """Five "single" questions: one correct, one lost at each stage; plus a type whose
    name needs escaping, whose one question the reader lost."""
    good = "[1] (Reuters) Gyeongju hosts APEC."
    items = [item(f"s{n}") for n in range(5)] + [item("x1", kind="<odd>&type")]
    rows = [
        row("s0", "It is in Gyeongju [1].", chunk_at=0, prompt=good, draft="Gyeongju [1]."),
        row("s1", "Tokyo.", chunk_at=12, prompt="[1] Tokyo.", draft="Tokyo [1]."),  # retrieval
        row("s2", "Tokyo.", chunk_at=2, prompt="[1] Tokyo.", draft="Tokyo [1]."),  # context
        row("s3", "The articles don't say.", chunk_at=1, prompt=good, draft="<i>No</i>", abstained=True),
        row("s4", "Tokyo [1].", chunk_at=0, prompt=good, draft="Gyeongju [1]."),  # verifier
        row("x1", "The articles don't say.", chunk_at=0, prompt=good, draft="No.", abstained=True),
    ]
    return RunResult(
        items=items, rows=rows, scores=score_rows(items, rows), meta={"pipeline": "ours", "backend": "x"}
    )


def test_report_json_carries_each_questions_stages() -> None:
    report = build_report(result())
    funnels = {q["id"]: q["funnel"] for q in report["questions"]}
    assert funnels["s0"] == {
        "in_top_20": True,
        "in_top_6": True,
        "in_prompt": True,
        "in_draft": True,
        "correct": True,
        "lost_at": None,
    }
    assert [funnels[f"s{n}"]["lost_at"] for n in range(1, 5)] == [
        "retrieval",
        "context",
        "reader",
        "verifier",
    ]
    assert funnels["s1"]["in_top_20"] is True and funnels["s1"]["in_top_6"] is False
    assert report["questions"][3]["draft"] == "<i>No</i>" and len(report["questions"][0]["chunk_texts"]) == 20
    assert report["aggregates"]["funnel"]["single"] == {
        "n": 5,
        "in_top_20": 5,
        "in_top_6": 4,
        "in_prompt": 3,
        "in_draft": 2,
        "correct": 1,
    }
    assert report["aggregates"]["funnel"]["all"]["n"] == 6


def test_terminal_table_has_the_funnel_block() -> None:
    console = Console(record=True, width=200)
    print_table(build_report(result()), console)
    text = console.export_text()
    funnel_at = text.index("funnel")
    assert (
        text.index("latency_p95_s")
        < funnel_at
        < text.index("chunk_recall_at_6")
        < text.index("filler_answers")
    )
    assert re.search(r"chunk_recall_at_6\s+│\s+0\.833", text)  # 5 of 6 answerable in the top 6


def test_html_funnel_chart_per_type_and_lost_at_column() -> None:
    page = render_html(build_report(result()))
    svgs = re.findall(r'<svg[^>]*class="funnel".*?</svg>', page, re.S)
    assert len(svgs) == 3  # all, single, and the odd type; never a script, never unescaped
    assert "<script" not in page and "<odd>" not in page and "&lt;odd&gt;&amp;type" in page
    assert "<i>No</i>" not in page and "&lt;i&gt;No&lt;/i&gt;" in page

    single = next(svg for svg in svgs if ">single (5 answerable)<" in svg)
    labels = re.findall(
        r'font-size="12">(in top-20 chunks|in top-6 chunks|in prompt|in draft|correct)<', single
    )
    assert labels == ["in top-20 chunks", "in top-6 chunks", "in prompt", "in draft", "correct"]
    assert re.findall(r'font-size="12">(\d+(?: \([−+]\d+\))?)</text>', single) == [
        "5",
        "4 (−1)",
        "3 (−1)",
        "2 (−1)",
        "1 (−1)",
    ]
    # every stage after the top 20 lost one: the first of the biggest losses is red
    bars = re.findall(r'<rect x="120" y="\d+" width="([\d.]+)" height="16" fill="(#[0-9a-f]+)"/>', single)
    drawn = [(float(width), fill) for width, fill in bars if fill != "#f0f0f0"]
    assert drawn == [
        (220.0, "#4a7fd4"),
        (176.0, "#b42318"),
        (132.0, "#4a7fd4"),
        (88.0, "#4a7fd4"),
        (44.0, "#4a7fd4"),
    ]

    odd = next(svg for svg in svgs if "(1 answerable)" in svg)
    assert re.findall(r'font-size="12">(\d+(?: \([−+]\d+\))?)</text>', odd) == ["1", "1", "1", "0 (−1)", "0"]
    red = re.findall(r'<rect x="120" y="(\d+)" width="[\d.]+" height="16" fill="#b42318"/>', odd)
    assert red == [str(22 + 3 * 20)]  # the draft row: the reader lost it

    lost = re.findall(r"<td class='(?:ok|bad)'>[✓✗]</td><td>([^<]*)</td></tr>", page)
    assert lost == ["-", "retrieval", "context", "reader", "verifier", "reader"]
