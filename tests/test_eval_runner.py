"""`byline eval` end to end on the real in-process pipeline (extractive backend: no LLM,
~50 ms a question), over small gold files: reports, cache, gates, comparison, export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from support.llm import BAD_CITATION, Reply, ScriptedLLM
from typer.testing import CliRunner, Result

from eval.cli import eval_command, parse_thresholds
from eval.metrics import FAIL_OVER_METRICS, FAIL_UNDER_METRICS, GoldItem, normalise
from eval.replay import ReplayGenerator, StoredDraft
from eval.report import build_report, compare_reports, render_html
from eval.runner import (
    CACHE_VERSION,
    DEFAULT_GOLD,
    InProcessAnswerer,
    LLMJudge,
    load_gold,
    run_eval,
    select_items,
)
from rag.config import Settings
from rag.errors import InvalidInput
from rag.pipeline import Pipeline
from rag.premises import event_premise
from rag.prompts import MODEL_ABSTAIN, build_messages
from rag.types import Context, Usage

app = typer.Typer()
app.command()(eval_command)
runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded store for the module: seeding embeds every chunk, once is enough."""
    return tmp_path_factory.mktemp("evaldata")


@pytest.fixture(scope="module")
def small_gold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One question of each of six types from the real set, plus one whose text needs
    escaping — a gold file other than the bundled one, in the same format."""
    items = load_gold(DEFAULT_GOLD)
    picked: list[GoldItem] = []
    for kind in ("single", "multi", "conflict", "numeric", "unanswerable", "adversarial"):
        picked.append(next(i for i in items if i.type == kind))
    tricky = picked[0].model_copy(
        update={"id": "x-html", "question": picked[0].question + " <b>&amp; \u201cquoted\u201d</b>"}
    )
    path = tmp_path_factory.mktemp("gold") / "small.jsonl"
    path.write_text(
        "\n".join(json.dumps(i.model_dump(exclude_none=True)) for i in [*picked, tricky]) + "\n",
        encoding="utf-8",
    )
    return path


def invoke(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    base = {"BYLINE_DATA_DIR": str(data_dir), "BYLINE_LLM_BACKEND": "auto"}
    return runner.invoke(app, list(args), env={**base, **(env or {})})


def test_cli_writes_the_reports(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ragas = tmp_path / "ragas.jsonl"
    result = invoke(
        data_dir,
        "--gold", str(small_gold), "--backend", "extractive", "--out", str(out),
        "--export", "ragas", str(ragas),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "report.json").is_file() and (out / "report.html").is_file() and ragas.is_file()
    assert "correctness" in result.output  # the terminal table

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    by_type = report["aggregates"]["by_type"]
    assert list(by_type) == ["single", "multi", "conflict", "numeric", "unanswerable", "adversarial"]
    assert by_type["single"]["n"] == 2
    for agg in by_type.values():
        assert {"correctness", "citation_precision", "latency_p50_s", "recall_at_1"} <= set(agg)
    assert report["aggregates"]["overall"]["n"] == 7
    assert report["aggregates"]["overall"]["backends"] == {"extractive": 7}
    q = report["questions"][0]
    assert q["answer"] and q["reference"] and q["retrieved"] and "correct" in q["scores"]
    assert q["citations"] and q["citations"][0]["quote"]

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<b>&amp;" not in page and "&lt;b&gt;&amp;amp;" in page  # user text is escaped
    assert "<script" not in page and "https://" not in page  # offline, self-contained
    assert "<svg" in page

    samples = [json.loads(line) for line in ragas.read_text(encoding="utf-8").splitlines()]
    assert len(samples) == 7
    assert set(samples[0]) == {"user_input", "response", "retrieved_contexts", "reference"}
    assert isinstance(samples[0]["retrieved_contexts"], list)


def test_json_flag_prints_aggregates_only_and_an_unconfigured_judge_is_skipped(
    data_dir: Path, small_gold: Path, tmp_path: Path
) -> None:
    result = invoke(
        data_dir,
        "--gold",
        str(small_gold),
        "--backend",
        "extractive",
        "--out",
        str(tmp_path),
        "--json",
        "--limit",
        "2",
        env={"BYLINE_JUDGE_MODEL": "gpt-judge"},  # configured model, but no OpenAI settings
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["overall"]["n"] == 2 and "by_type" in data
    assert data["judge"] is None and "judge skipped" in result.stderr


def test_second_run_is_served_from_the_cache(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=data_dir, llm_backend="extractive")
    items = load_gold(small_gold)[:4]
    first = run_eval(items, settings=settings, backend="extractive", out_dir=tmp_path)
    assert first.answered == 4 and first.from_cache == 0
    assert len(list((tmp_path / ".cache").glob("*.json"))) == 4

    second = run_eval(items, settings=settings, backend="extractive", out_dir=tmp_path)
    assert second.answered == 0 and second.from_cache == 4
    assert [r.answer for r in second.rows] == [r.answer for r in first.rows]
    stages = [(r.chunk_texts, r.prompt_text, r.draft) for r in first.rows]
    assert all(c and p and d is not None for c, p, d in stages)
    assert [(r.chunk_texts, r.prompt_text, r.draft) for r in second.rows] == stages  # the cache keeps them
    assert second.scores == first.scores
    assert second.overall == first.overall

    # a crash after two answers: the re-run answers only what is missing
    for path in sorted((tmp_path / ".cache").glob("*.json"))[:2]:
        path.unlink()
    third = run_eval(items, settings=settings, backend="extractive", out_dir=tmp_path)
    assert third.answered == 2 and third.from_cache == 2

    fresh = run_eval(items, settings=settings, backend="extractive", out_dir=tmp_path, use_cache=False)
    assert fresh.answered == 4


def test_a_different_config_does_not_reuse_the_cache(
    data_dir: Path, small_gold: Path, tmp_path: Path
) -> None:
    items = load_gold(small_gold)[:2]
    base = Settings(data_dir=data_dir, llm_backend="extractive")
    run_eval(items, settings=base, backend="extractive", out_dir=tmp_path)
    changed = base.model_copy(update={"top_k": 3})
    again = run_eval(items, settings=changed, backend="extractive", out_dir=tmp_path)
    assert again.answered == 2


def test_question_errors_become_rows(data_dir: Path, tmp_path: Path) -> None:
    """A question the pipeline rejects (too long) is an error row, not an aborted run."""
    items = [
        GoldItem(
            id="long", question="why? " * 500, answer="x", accept=["x"], sources=["a.txt"], type="single"
        ),
        *load_gold(DEFAULT_GOLD)[:1],
    ]
    settings = Settings(data_dir=data_dir, llm_backend="extractive")
    result = run_eval(items, settings=settings, backend="extractive", out_dir=tmp_path)
    assert result.rows[0].error and "InvalidInput" in result.rows[0].error
    assert result.rows[1].error is None
    assert result.overall["errors"] == 1 and result.overall["n"] == 2
    assert not list((tmp_path / ".cache").glob("long-*.json"))  # errors are retried next time
    assert "error: InvalidInput" in render_html(build_report(result))


@pytest.mark.parametrize(
    ("gate", "code", "message"),
    [
        ("correctness=0", 0, None),
        ("correctness=1.01", 1, "fail-under: correctness"),
        ("abstention_recall=0.5", 1, "not measured"),  # no unanswerable question in the first 2
    ],
)
def test_fail_under_exit_codes(
    data_dir: Path, small_gold: Path, tmp_path: Path, gate: str, code: int, message: str | None
) -> None:
    result = invoke(
        data_dir, "--gold", str(small_gold), "--backend", "extractive", "--limit", "2",
        "--out", str(tmp_path), "--fail-under", gate, "--fail-under", "token_f1=0",
    )  # fmt: skip
    assert result.exit_code == code, result.output
    if message:
        assert message in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-under", "nonsense=0.5"], "valid: correctness"),
        (["--fail-under", "correctness"], "METRIC=VALUE"),
        (["--fail-under", "correctness=high"], "not a number"),
        (["--backend", "gpt"], "unknown backend"),
        (["--pipeline", "naive", "--backend", "extractive"], "needs an LLM"),
        (["--compare", "/nonexistent/old.json"], "cannot read --compare"),
    ],
)
def test_usage_errors_exit_2(data_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke(data_dir, "--out", str(tmp_path), "--limit", "1", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_bad_gold_file_exits_2(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q", "answer": "a", "type": "single"}\n{oops\n', encoding="utf-8")
    result = invoke(data_dir, "--gold", str(bad), "--backend", "extractive", "--out", str(tmp_path))
    assert result.exit_code == 2 and "bad.jsonl:2" in result.output
    with pytest.raises(InvalidInput, match="duplicate id"):
        bad.write_text(
            '{"id": "a", "question": "q", "answer": "a", "type": "single"}\n' * 2, encoding="utf-8"
        )
        load_gold(bad)


def test_compare_shows_improvements_and_regressions(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert (
        invoke(data_dir, "--gold", str(small_gold), "--backend", "extractive", "--out", str(out)).exit_code
        == 0
    )
    new = json.loads((out / "report.json").read_text(encoding="utf-8"))

    old = json.loads(json.dumps(new))
    old["aggregates"]["overall"]["correctness"] = new["aggregates"]["overall"]["correctness"] + 0.25
    old["aggregates"]["overall"]["latency_p95_s"] = 99.0  # slower before: an improvement now
    flipped = old["questions"][0]
    flipped["scores"]["correct"] = not flipped["scores"]["correct"]
    cmp = compare_reports(old, new)
    assert ("correctness" in [m for m, *_ in cmp.regressed]) and (
        "latency_p95_s" in [m for m, *_ in cmp.improved]
    )
    assert flipped["id"] in (cmp.now_correct + cmp.now_wrong)
    assert compare_reports(new, new).improved == [] and compare_reports(new, new).regressed == []

    old_path = tmp_path / "old.json"
    old_path.write_text(json.dumps(old), encoding="utf-8")
    result = invoke(
        data_dir,
        "--gold",
        str(small_gold),
        "--backend",
        "extractive",
        "--out",
        str(out),
        "--compare",
        str(old_path),
    )
    assert result.exit_code == 0, result.output
    assert "regressed" in result.output and "correctness" in result.output
    assert "7 questions (0 answered, 7 from cache)" in result.output


def test_select_items_sample_is_seeded_and_ordered() -> None:
    items = load_gold(DEFAULT_GOLD)
    a = select_items(items, sample=10, seed=3)
    assert a == select_items(items, sample=10, seed=3) != select_items(items, sample=10, seed=4)
    assert [items.index(i) for i in a] == sorted(items.index(i) for i in a)
    assert len(select_items(items, sample=10, seed=3, limit=4)) == 4
    assert select_items(items, limit=3) == items[:3]


def test_parse_thresholds() -> None:
    assert parse_thresholds(["correctness=0.6", "abstention_recall=.5"]) == {
        "correctness": 0.6,
        "abstention_recall": 0.5,
    }
    with pytest.raises(ValueError, match="valid"):
        parse_thresholds(["latency_p50_s=1"])  # lower is better: not a fail-under metric
    assert "conflict_coverage" in FAIL_UNDER_METRICS


class KeywordJudge(LLMJudge):
    """Stands in for the judge model (no LLM in tests): says yes when the answer contains
    the reference's first word. Counts its calls, to show verdicts are cached."""

    calls = 0

    def verdict(self, item: GoldItem, answer_text: str) -> bool:
        KeywordJudge.calls += 1
        return item.answer.split()[0].lower() in answer_text.lower()


def test_judge_is_reported_apart_and_cached(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=data_dir, llm_backend="extractive", openai_base_url="http://127.0.0.1:9")
    judge, skipped = KeywordJudge.from_settings(settings, "judge-model")
    assert isinstance(judge, KeywordJudge) and skipped is None
    items = load_gold(small_gold)[:3]
    result = run_eval(items, settings=settings, backend="extractive", out_dir=tmp_path, judge=judge)
    assert result.judge is not None and result.judge["n"] == 3 and KeywordJudge.calls == 3
    assert result.judge["correctness"] is not None and set(result.judge["by_type"]) <= {i.type for i in items}
    assert "judge" not in json.dumps(result.overall)  # never mixed into the deterministic metrics
    report = build_report(result)
    assert report["judge"]["model"] == "judge-model" and "verdicts" not in report["judge"]
    assert all(q["judge_correct"] in (True, False) for q in report["questions"])
    run_eval(items, settings=settings, backend="extractive", out_dir=tmp_path, judge=judge)
    assert KeywordJudge.calls == 3


def test_naive_baseline_runs_llama_index_recipe(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    """The baseline's own stack (ChromaVectorStore over our collection, OpenAILike) really
    runs, against an OpenAI-compatible server on loopback: a missing integration package
    would otherwise only show when someone runs the comparison."""
    with ScriptedLLM() as llm:
        result = invoke(
            data_dir,
            "--gold", str(small_gold), "--pipeline", "naive", "--backend", "openai", "--limit", "2",
            "--out", str(tmp_path / "naive"),
            env={"OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": "test-key"},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert llm.hits == 2
        prompt = json.dumps(llm.requests[0])
    assert "Context information is below." in prompt  # llama-index's stock QA prompt
    report = json.loads((tmp_path / "naive" / "report.json").read_text(encoding="utf-8"))
    rows = report["questions"]
    assert len(rows) == 2 and all(q["citations"] for q in rows)  # every retrieved node counts as cited
    # the baseline can't show its stages: no stage texts, so no stage metrics (not zeros)
    assert all(q["chunk_texts"] is None and q["prompt_text"] is None and q["draft"] is None for q in rows)
    assert all(q["scores"]["answer_in_prompt"] is None and q["funnel"]["lost_at"] is None for q in rows)
    assert report["aggregates"]["overall"]["context_recall"] is None
    assert report["aggregates"]["funnel"]["all"]["n"] == 0


# --- stage metrics (the funnel) ---------------------------------------------------------------------
def _bare(text: str) -> str:
    """normalise() without the prompt's date annotations "(Oct 23, 2025)"."""
    return normalise(re.sub(r"\s*\([^()]*\)", "", text))


def test_in_process_rows_carry_what_each_stage_saw(data_dir: Path, small_gold: Path) -> None:
    """The answerer's stage texts are the real ones: the prompt is what the generator's own
    prompt builder puts under "Sources:", every quote the answer cites comes from the
    prompt and from the recorded chunks, and the extractive draft is the answer before
    verification."""
    items = [i for i in load_gold(small_gold) if i.id != "x-html"]
    pipeline = Pipeline(Settings(data_dir=data_dir, llm_backend="extractive"))
    try:
        pipeline.ensure_seeded()
        answerer = InProcessAnswerer(pipeline, "extractive")
        for item in items:
            row = answerer.ask(item.question)
            assert row.answer is not None and row.chunk_texts and row.prompt_text is not None
            assert len(row.chunk_texts) == 20 and len(set(row.chunk_texts)) == 20
            context = next(e.context for e in pipeline.ask_stream(item.question, backend="extractive"))
            assert context is not None
            assert row.prompt_text and row.prompt_text in build_messages(context)[1]["content"]
            assert row.prompt_text.count("\n") == len(context.passages) - 1
            for citation in row.answer.citations:
                assert _bare(citation.quote) in _bare(row.prompt_text), item.id
                assert normalise(citation.quote) in normalise("\n".join(row.chunk_texts)), item.id
            if row.answer.abstained:
                continue
            premise = event_premise(context.question, context.passages, context.article_texts)
            if premise is not None:
                # A presupposed undoing is corrected first, in the verifier's words.
                assert _bare(row.answer.text).startswith(_bare(premise.description)[:40]), item.id
                continue
            # The verified text may date a weekday its passage resolves ("Friday (Oct 24, 2025)").
            assert row.draft and _bare(row.answer.text)[:40] in _bare(row.draft), item.id
    finally:
        pipeline.close()


def test_funnel_scores_on_the_real_pipeline(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=data_dir, llm_backend="extractive")
    result = run_eval(load_gold(small_gold), settings=settings, backend="extractive", out_dir=tmp_path)
    answerable = [s for s in result.scores if s.answerable]
    assert answerable and all(set(s.answer_in_chunks_at) == {3, 6, 10, 20} for s in answerable)
    for s in answerable:
        assert s.answer_in_prompt is not None and s.answer_in_draft is not None
        hits = [s.answer_in_chunks_at[k] for k in (3, 6, 10, 20)]
        assert hits == sorted(hits)  # deeper retrieval never loses what the top k had
        if s.correct:  # the extractive answer comes from the prompt, via the draft
            assert s.answer_in_chunks_at[20] and s.answer_in_prompt and s.answer_in_draft, s.id
            assert s.lost_at is None
        else:
            assert s.lost_at in ("retrieval", "context", "reader", "verifier"), s.id
    for s in result.scores:
        if not s.answerable:
            assert s.answer_in_chunks_at == {} and s.answer_in_prompt is None and s.lost_at is None
    overall = result.overall
    assert overall["chunk_recall_at_20"] is not None and overall["context_recall"] is not None
    assert overall["chunk_recall_at_3"] <= overall["chunk_recall_at_20"]
    assert isinstance(overall["broken_answers"], int) and isinstance(overall["false_conflicts"], int)

    report = build_report(result)
    entry = report["questions"][0]
    assert set(entry["funnel"]) == {"in_top_20", "in_top_6", "in_prompt", "in_draft", "correct", "lost_at"}
    assert len(entry["chunk_texts"]) == 20 and entry["prompt_text"].startswith("[1]")
    assert entry["scores"]["answer_in_chunks_at"].keys() == {"3", "6", "10", "20"}
    counts = report["aggregates"]["funnel"]["all"]
    assert counts["n"] == len(answerable) and counts["in_top_20"] >= counts["in_top_6"] >= counts["correct"]
    assert CACHE_VERSION >= 2


def _gold_with_splits(small_gold: Path, directory: Path) -> Path:
    """The small gold file with its first three questions as dev, the rest as test."""
    items = load_gold(small_gold)
    path = directory / "split.jsonl"
    lines = [
        json.dumps({**i.model_dump(exclude_none=True), "split": "dev" if n < 3 else "test"})
        for n, i in enumerate(items)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_split_keeps_one_split_and_is_recorded(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    gold = _gold_with_splits(small_gold, tmp_path)
    out = tmp_path / "dev"
    result = invoke(
        data_dir, "--gold", str(gold), "--backend", "extractive", "--out", str(out), "--split", "dev"
    )
    assert result.exit_code == 0, result.output
    assert "split dev" in result.output and "chunk_recall_at_6" in result.output and "funnel" in result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["meta"]["split"] == "dev" and report["meta"]["n"] == 3
    assert [q["split"] for q in report["questions"]] == ["dev"] * 3
    assert "split dev" in (out / "report.html").read_text(encoding="utf-8")

    # the split is taken before --limit / --sample
    limited = invoke(
        data_dir, "--gold", str(gold), "--backend", "extractive", "--out", str(tmp_path / "t"),
        "--split", "test", "--limit", "2", "--json",
    )  # fmt: skip
    assert limited.exit_code == 0, limited.output
    assert json.loads(limited.stdout)["overall"]["n"] == 2
    test_ids = [json.loads(line)["id"] for line in gold.read_text(encoding="utf-8").splitlines()][3:5]
    tested = json.loads((tmp_path / "t" / "report.json").read_text(encoding="utf-8"))
    assert [q["id"] for q in tested["questions"]] == test_ids
    for seed in range(5):  # a sample is drawn within the split, never from the other one
        sampled = select_items(load_gold(gold), split="test", sample=2, seed=seed)
        assert len(sampled) == 2 and {i.split for i in sampled} == {"test"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "train"], "unknown split 'train'"),
        (["--split", "test"], "no question in the gold file has split 'test'"),
        (["--fail-over", "correctness=0.5"], "valid: over_abstention"),  # higher is better: not here
        (["--fail-over", "broken_answers"], "--fail-over expects METRIC=VALUE"),
        (["--fail-over", "broken_answers=few"], "not a number"),
        (["--fail-under", "broken_answers=1"], "unknown metric 'broken_answers' in --fail-under"),
    ],
)
def test_split_and_fail_over_usage_errors_exit_2(
    data_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    no_splits = tmp_path / "plain.jsonl"
    no_splits.write_text(
        '{"id": "a", "question": "Where is APEC held?", "answer": "Gyeongju", "type": "single"}\n',
        encoding="utf-8",
    )
    result = invoke(
        data_dir, "--gold", str(no_splits), "--backend", "extractive", "--out", str(tmp_path), *args
    )
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(
    ("gates", "code", "message"),
    [
        (["broken_answers=0", "filler_answers=0", "latency_p95_s=60"], 0, None),
        (["false_conflicts=-1"], 1, "fail-over: false_conflicts = 0 > -1.0"),
        (["over_abstention=0.5"], 1, "not measured"),  # unanswerable questions only: no answerable one
    ],
)
def test_fail_over_exit_codes(
    data_dir: Path, small_gold: Path, tmp_path: Path, gates: list[str], code: int, message: str | None
) -> None:
    unanswerable = tmp_path / "unanswerable.jsonl"
    items = [i for i in load_gold(small_gold) if not i.answerable]
    unanswerable.write_text(
        "".join(json.dumps(i.model_dump(exclude_none=True)) + "\n" for i in items), encoding="utf-8"
    )
    gold = unanswerable if code == 1 and message == "not measured" else small_gold
    args = [a for gate in gates for a in ("--fail-over", gate)]
    result = invoke(
        data_dir,
        "--gold",
        str(gold),
        "--backend",
        "extractive",
        "--limit",
        "3",
        "--out",
        str(tmp_path),
        *args,
    )
    assert result.exit_code == code, result.output
    if message:
        assert message in result.output


def test_parse_fail_over_thresholds() -> None:
    assert parse_thresholds(["broken_answers=0"], option="--fail-over", valid=FAIL_OVER_METRICS) == {
        "broken_answers": 0.0
    }
    with pytest.raises(ValueError, match="in --fail-over"):
        parse_thresholds(["correctness=1"], option="--fail-over", valid=FAIL_OVER_METRICS)


def test_html_shows_the_funnel_per_type(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(data_dir, "--gold", str(small_gold), "--backend", "extractive", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "Where answers are lost" in page and "<th>lost at</th>" in page
    funnels = re.findall(r'<svg[^>]*class="funnel".*?</svg>', page, re.S)
    with_answerable = [t for t, c in report["aggregates"]["funnel"].items() if c["n"]]
    assert len(funnels) == len(with_answerable) and "unanswerable" not in with_answerable
    for label in ("in top-20 chunks", "in top-6 chunks", "in prompt", "in draft", "correct"):
        assert all(label in svg for svg in funnels)
    assert "<script" not in page and "https://" not in page


# --- replaying a run's drafts -------------------------------------------------------------------------
def _answers(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(q["id"], q["answer"], q["abstained"], q["citations"]) for q in report["questions"]]


@pytest.fixture(scope="module")
def scripted_run(data_dir: Path, small_gold: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the small gold set against a scripted LLM: the first reply "I don't know",
    the second a citation of a passage that does not exist, the rest a plain answer."""
    out = tmp_path_factory.mktemp("scripted-run")
    with ScriptedLLM() as llm:
        llm.then(Reply(text=MODEL_ABSTAIN), Reply(text=BAD_CITATION))
        ran = invoke(
            data_dir, "--gold", str(small_gold), "--backend", "openai", "--out", str(out),
            env={"OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": "test-key"},
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output
    return out / "report.json"


def _questions(path: Path) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in json.loads(path.read_text(encoding="utf-8"))["questions"]}


def test_replay_gives_a_runs_answers_back_without_a_model(
    data_dir: Path, small_gold: Path, scripted_run: Path, tmp_path: Path
) -> None:
    """Replaying a run's drafts through unchanged code gives back every answer of that run —
    what makes a replay a measurement of a change after the model — and no model is asked:
    the LLM's address is dead during the replay."""
    old = json.loads(scripted_run.read_text(encoding="utf-8"))
    assert old["questions"][0]["draft"] == ""  # "I don't know" is held back, never streamed
    assert all(q["completion_tokens"] is not None for q in old["questions"])

    replayed = invoke(
        data_dir, "--gold", str(small_gold), "--replay", str(scripted_run), "--out", str(tmp_path),
        "--compare", str(scripted_run),
        env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "test-key"},
    )  # fmt: skip
    assert replayed.exit_code == 0, replayed.output
    new = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert _answers(new) == _answers(old)
    assert [q["draft"] for q in new["questions"]] == [q["draft"] for q in old["questions"]]
    assert new["meta"]["replay"] == str(scripted_run) and new["meta"]["backend"] == "openai"
    assert "answers changed, still as right or wrong (0)" in replayed.output


def test_replay_answers_from_the_stored_drafts(
    data_dir: Path, small_gold: Path, scripted_run: Path, tmp_path: Path
) -> None:
    """The replayed answer is the stored draft's: a report whose drafts all say "I don't
    know" replays as abstentions where the original run answered (but the one whose
    false premise the sources correct)."""
    report = json.loads(scripted_run.read_text(encoding="utf-8"))
    old = {q["id"]: q for q in report["questions"]}
    answered = [qid for qid, q in old.items() if not q["abstained"]]
    assert answered, "the scripted answer is supported for some question"
    for q in report["questions"]:
        q["draft"] = ""
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(report), encoding="utf-8")

    replayed = invoke(data_dir, "--gold", str(small_gold), "--replay", str(edited), "--out", str(tmp_path))
    assert replayed.exit_code == 0, replayed.output
    new = _questions(tmp_path / "report.json")
    assert all(new[qid]["answer"] != old[qid]["answer"] for qid in answered)
    reasons = [new[qid]["abstain_reason"] for qid in answered]
    assert reasons.count("the model found no answer in the sources") >= len(answered) - 1


def test_replay_without_a_stored_draft_is_an_error_row(
    data_dir: Path, small_gold: Path, scripted_run: Path, tmp_path: Path
) -> None:
    """A question the replayed report does not hold (added to the gold set since) is
    recorded as an error, never answered by some other path."""
    report = json.loads(scripted_run.read_text(encoding="utf-8"))
    missing = report["questions"].pop(2)["id"]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(report), encoding="utf-8")

    replayed = invoke(
        data_dir, "--gold", str(small_gold), "--replay", str(partial), "--out", str(tmp_path), "--limit", "3"
    )
    assert replayed.exit_code == 0, replayed.output
    rows = _questions(tmp_path / "report.json")
    assert [qid for qid, q in rows.items() if q["error"]] == [missing]
    assert "no draft" in rows[missing]["error"]


def test_replay_usage_errors_exit_2(data_dir: Path, small_gold: Path, tmp_path: Path) -> None:
    out = tmp_path / "extractive"
    assert (
        invoke(data_dir, "--gold", str(small_gold), "--backend", "extractive", "--out", str(out)).exit_code
        == 0
    )
    extractive = str(out / "report.json")
    for args, message in [
        (["--replay", extractive], "answered without a model"),
        (["--replay", str(tmp_path / "missing.json")], "cannot read"),
        (["--replay", extractive, "--endpoint", "http://127.0.0.1:9"], "drop --endpoint"),
    ]:
        result = invoke(data_dir, "--gold", str(small_gold), *args)
        assert result.exit_code == 2, result.output
        assert message in result.output


def test_replay_of_an_older_report_cuts_a_draft_the_token_cap_cut() -> None:
    """Reports written before token counts were kept: a draft ending inside a sentence is
    one the cap cut, so the pipeline gets the cap's count (and drops the unfinished end)."""
    generator = ReplayGenerator("local", max_answer_tokens=100)
    for text, tokens in [
        ("The talks are in Lisbon [1]. Ana Costa will", 100),
        ("The talks are in Lisbon [1].", 0),
        ('Ana Costa said "yes. "', 0),  # a stray closing quote is no unfinished sentence
    ]:
        generator.current = StoredDraft(text, None)
        stream = generator.stream(Context(question="Where are the talks?", passages=[], best_relevance=0.0))
        assert next(stream) == text
        with pytest.raises(StopIteration) as done:
            next(stream)
        assert done.value.value == Usage(completion_tokens=tokens)
