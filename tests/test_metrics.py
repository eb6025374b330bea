"""The metric functions on hand-made answers whose right scores are known by reading them."""

from __future__ import annotations

import pytest

from eval.metrics import (
    FAIL_UNDER_METRICS,
    GoldItem,
    accept_match,
    aggregate,
    aggregate_by_type,
    article_key,
    below_thresholds,
    percentile,
    quote_overlaps,
    ranked_articles,
    recall_at_k,
    reciprocal_rank,
    score_question,
    token_f1,
)
from rag.types import Answer, Citation, ClaimCheck, Timings

GYEONGJU = "000_602e51685fe81370.txt"
BUSAN = "004_36119deba365cd7b.txt"
OTHER = "001_5f7e776c0ce82901.txt"


def gold(**overrides: object) -> GoldItem:
    base = {
        "id": "t1",
        "question": "Where is the APEC summit being held?",
        "answer": "In Gyeongju, South Korea.",
        "accept": ["Gyeongju"],
        "sources": [GYEONGJU],
        "evidence": ["scheduled from October 31 to November 1 in the eastern city of Gyeongju"],
        "type": "single",
    }
    return GoldItem.model_validate({**base, **overrides})


def cite(n: int, file_name: str | None, quote: str, article_id: str | None = None) -> Citation:
    return Citation(
        n=n,
        article_id=article_id or (file_name or "x").removesuffix(".txt"),
        title="t",
        file_name=file_name,
        quote=quote,
        start=0,
        end=len(quote),
    )


def answer(
    text: str,
    citations: list[Citation] | None = None,
    *,
    abstained: bool = False,
    claims: list[ClaimCheck] | None = None,
    total_s: float = 1.0,
) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        text=text,
        citations=citations or [],
        abstained=abstained,
        claims=claims or [],
        backend="extractive",
        timings=Timings(total_s=total_s),
    )


# --- the cases the issue names -----------------------------------------------------------------------
def test_correct_answer_citing_the_wrong_article() -> None:
    s = score_question(
        gold(),
        answer("The summit is in Gyeongju [1].", [cite(1, OTHER, "Trump will travel to Tokyo on Oct. 27")]),
    )
    assert s.correct is True
    assert s.citation_precision == 0.0
    assert s.quote_precision == 0.0
    assert s.citation_recall == 0.0


def test_correct_answer_citing_the_right_article_and_evidence() -> None:
    quote = "APEC is scheduled from October 31 to November 1 in the eastern city of Gyeongju."
    s = score_question(gold(), answer("It is in Gyeongju [1].", [cite(1, GYEONGJU, quote)]))
    assert s.correct and s.citation_precision == 1.0 and s.quote_precision == 1.0 and s.citation_recall == 1.0


def test_abstention_on_an_answerable_question_is_incorrect_and_a_false_positive() -> None:
    answerable = score_question(gold(), answer("The articles don't say.", abstained=True))
    assert answerable.correct is False
    assert answerable.token_f1 < 0.5
    assert answerable.citation_precision is None  # nothing cited: precision undefined
    assert answerable.citation_recall == 0.0
    unanswerable_item = gold(id="t2", type="unanswerable", accept=[], sources=[], evidence=[])
    refused = score_question(unanswerable_item, answer("The articles don't say.", abstained=True))
    assert refused.correct is True and refused.token_f1 == 1.0
    agg = aggregate([answerable, refused])
    assert agg["abstention_precision"] == 0.5  # 1 TP (unanswerable), 1 FP (answerable)
    assert agg["abstention_recall"] == 1.0
    assert agg["abstention_rate"] == 1.0
    assert agg["correctness"] == 0.5


def test_answering_an_unanswerable_question_is_incorrect() -> None:
    item = gold(type="unanswerable", accept=[], sources=[], evidence=[])
    s = score_question(item, answer("China bought 10 million tonnes [1].", [cite(1, OTHER, "x")]))
    assert s.correct is False and s.token_f1 == 0.0
    assert s.citation_precision is None and s.recall_at == {}
    agg = aggregate([s])
    assert agg["abstention_recall"] == 0.0
    assert agg["abstention_precision"] is None  # nothing predicted positive


def conflict_item() -> GoldItem:
    return gold(
        type="conflict",
        accept=["Busan"],
        sources=[GYEONGJU, BUSAN],
        evidence=[
            "in the eastern city of Gyeongju",
            "the Asia-Pacific Economic Cooperation (APEC) summit in Busan",
        ],
    )


def test_conflict_answer_giving_one_side_is_not_covered() -> None:
    one_side = answer("The summit is in Busan [1].", [cite(1, BUSAN, "the APEC summit in Busan")])
    s = score_question(conflict_item(), one_side)
    assert s.correct is True
    assert s.conflict_covered is False
    assert s.citation_recall == 0.5


def test_conflict_answer_giving_both_sides_is_covered() -> None:
    both = answer(
        "One report says Gyeongju [1], another says Busan [2].",
        [cite(1, GYEONGJU, "in the eastern city of Gyeongju"), cite(2, BUSAN, "the APEC summit in Busan")],
    )
    s = score_question(conflict_item(), both)
    assert s.conflict_covered is True and s.citation_recall == 1.0
    assert aggregate([s])["conflict_coverage"] == 1.0


def test_conflict_citing_two_articles_without_the_accept_value_is_not_covered() -> None:
    vague = answer(
        "It is in South Korea [1][2].",
        [cite(1, GYEONGJU, "South Korea"), cite(2, BUSAN, "South Korea")],
    )
    assert score_question(conflict_item(), vague).conflict_covered is False


def test_conflict_coverage_only_applies_to_conflict_questions() -> None:
    assert score_question(gold(), answer("Gyeongju")).conflict_covered is None
    assert aggregate([score_question(gold(), answer("Gyeongju"))])["conflict_coverage"] is None


# --- text matching ---------------------------------------------------------------------------------
def test_accept_normalises_curly_quotes_case_and_whitespace() -> None:
    assert accept_match("TRUMP\u2019S  \u201cbig\u201d\n deal is done", ['trump\'s "BIG" deal'])
    assert accept_match("Trump's deal", ["Trump\u2019s"])
    assert not accept_match("Trump deal", ["Trump's"])
    assert not accept_match("anything", [])


def test_token_f1() -> None:
    assert token_f1("the cat sat", "cat sat down") == pytest.approx(0.8)  # p=1, r=2/3
    assert token_f1("Gyeongju", "Gyeongju.") == 1.0
    assert token_f1("Busan", "Gyeongju") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "x") == 0.0
    # multiset counts: a repeated word only matches as often as the reference has it
    assert token_f1("tariff tariff", "tariff") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_quote_overlap_either_direction() -> None:
    evidence = "Trump and Xi have spoken at least three times this year"
    assert quote_overlaps(
        "Reports say Trump and Xi have spoken at least three times this year, often.", evidence
    )
    assert quote_overlaps("spoken at least three times", evidence)  # short quote inside long evidence
    assert not quote_overlaps("The summit is in Busan.", evidence)
    assert not quote_overlaps("", evidence)


def test_article_key_matches_file_names_and_ids() -> None:
    assert article_key("003_2910c2332927eb84.txt") == "003_2910c2332927eb84"
    assert article_key("seeds/003_2910c2332927eb84.txt") == "003_2910c2332927eb84"
    assert article_key("003_2910c2332927eb84") == "003_2910c2332927eb84"
    assert article_key("reuters.com-12") == "reuters.com-12"  # not a document suffix: kept
    assert ranked_articles(["a.txt", "a", None, "b.md", "a.txt"]) == ["a", "b"]


def test_citation_by_article_id_only_still_matches() -> None:
    c = cite(1, None, "in the eastern city of Gyeongju", article_id="000_602e51685fe81370")
    s = score_question(gold(), answer("Gyeongju [1]", [c]))
    assert s.citation_precision == 1.0 and s.citation_recall == 1.0


# --- retrieval ---------------------------------------------------------------------------------------
def test_recall_at_k_and_mrr_rank_articles_not_chunks() -> None:
    retrieved = ["a.txt", "a.txt", "b.txt", "c"]  # two chunks of a count once
    relevant = ["b.txt", "c.txt"]
    assert recall_at_k(retrieved, relevant, 1) == 0.0
    assert recall_at_k(retrieved, relevant, 2) == 0.5
    assert recall_at_k(retrieved, relevant, 3) == 1.0
    assert reciprocal_rank(retrieved, relevant) == 0.5
    assert reciprocal_rank(["x"], relevant) == 0.0
    assert recall_at_k(retrieved, [], 3) is None and reciprocal_rank(retrieved, []) is None


def test_retrieval_scores_in_score_question() -> None:
    s = score_question(gold(), answer("Gyeongju"), [OTHER, GYEONGJU, BUSAN])
    assert s.recall_at == {1: 0.0, 3: 1.0, 5: 1.0}
    assert s.mrr == 0.5
    unknown = score_question(gold(), answer("Gyeongju"), None)  # e.g. a remote endpoint
    assert unknown.recall_at == {} and unknown.mrr is None
    assert aggregate([unknown])["recall_at_1"] is None


# --- statistics and aggregates -------------------------------------------------------------------------
def test_percentile_interpolates_linearly() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([1, 2, 3, 4], 0) == 1 and percentile([1, 2, 3, 4], 100) == 4
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_support_rate_from_claims() -> None:
    claims = [
        ClaimCheck(text="a", cited=[1], support=0.9, supported=True),
        ClaimCheck(text="b", cited=[1], support=0.1, supported=False, action="flagged"),
    ]
    assert score_question(gold(), answer("Gyeongju", claims=claims)).support_rate == 0.5
    assert score_question(gold(), answer("Gyeongju")).support_rate is None


def test_errors_count_as_incorrect_and_are_excluded_elsewhere() -> None:
    ok = score_question(gold(), answer("Gyeongju", total_s=2.0))
    failed = score_question(gold(id="t2"), None, error="GenerationFailed: boom")
    agg = aggregate([ok, failed])
    assert failed.correct is False and failed.error
    assert agg["n"] == 2 and agg["errors"] == 1
    assert agg["correctness"] == 0.5
    assert agg["latency_p50_s"] == 2.0
    assert agg["backends"] == {"extractive": 1}


def test_latency_uses_the_answer_time_unless_given() -> None:
    assert score_question(gold(), answer("x", total_s=1.5)).latency_s == 1.5
    assert score_question(gold(), answer("x", total_s=1.5), latency_s=3.0).latency_s == 3.0


def test_aggregate_by_type_orders_known_types_first() -> None:
    scores = [
        score_question(gold(id="a", type="numeric"), answer("Gyeongju")),
        score_question(gold(id="b", type="custom"), answer("nope")),
        score_question(gold(id="c"), answer("Gyeongju")),
    ]
    by_type = aggregate_by_type(scores)
    assert list(by_type) == ["single", "numeric", "custom"]
    assert by_type["custom"]["correctness"] == 0.0 and by_type["single"]["n"] == 1


def test_below_thresholds_fails_unmeasured_metrics() -> None:
    aggs = {"correctness": 0.7, "abstention_recall": None}
    assert below_thresholds(aggs, {"correctness": 0.6}) == []
    assert below_thresholds(aggs, {"correctness": 0.8}) == [("correctness", 0.7, 0.8)]
    assert below_thresholds(aggs, {"abstention_recall": 0.5}) == [("abstention_recall", None, 0.5)]
    assert "latency_p50_s" not in FAIL_UNDER_METRICS and "correctness" in FAIL_UNDER_METRICS


def test_gold_item_ignores_unknown_fields_and_knows_answerability() -> None:
    item = gold(extra_field="kept out", type="unanswerable")
    assert not item.answerable and gold().answerable
