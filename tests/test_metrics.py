"""The metric functions on hand-made answers whose right scores are known by reading them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from eval.metrics import (
    FAIL_OVER_METRICS,
    FAIL_UNDER_METRICS,
    QUESTION_TYPES,
    GoldItem,
    QuestionScores,
    above_thresholds,
    accept_match,
    aggregate,
    aggregate_by_type,
    answer_in_chunks_at,
    answer_present,
    article_key,
    below_thresholds,
    broken_sentences,
    filler_phrases,
    funnel_counts,
    lost_stage,
    percentile,
    premise_restated,
    quote_overlaps,
    ranked_articles,
    recall_at_k,
    reciprocal_rank,
    score_question,
    split_sentences,
    token_f1,
)
from rag.types import Answer, Citation, ClaimCheck, Conflict, Timings

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
    conflicts: list[Conflict] | None = None,
) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        text=text,
        citations=citations or [],
        abstained=abstained,
        claims=claims or [],
        conflicts=conflicts or [],
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
    # A marker between the answer and its full stop is no part of the answer.
    assert accept_match("The deadline is November 1 [1].", ["November 1."])
    assert accept_match("It ends on Nov. 1 [1][2], officials said.", ["Nov. 1,"])
    assert not accept_match("The truce expires November 10 [2].", ["November 1."])


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


# --- stage metrics (the funnel) ---------------------------------------------------------------------
EVIDENCE = "scheduled from October 31 to November 1 in the eastern city of Gyeongju"
FILLER_CHUNK = "Trump will travel to Tokyo on Oct. 27 before heading to South Korea."


def chunks_with_answer_at(index: int, text: str = "The summit is in Gyeongju.", n: int = 20) -> list[str]:
    return [text if i == index else f"{FILLER_CHUNK} ({i})" for i in range(n)]


def test_answer_present_accepts_accept_strings_or_evidence() -> None:
    item = gold()
    assert answer_present("They meet in GYEONGJU next week", item) is True
    # evidence that doesn't contain the accept string still counts (a paraphrased accept)
    paraphrase = gold(accept=["the eastern city"], evidence=["talks in the eastern city of Busan"])
    assert answer_present("Talks  in the\nEastern city of Busan were held.", paraphrase) is True
    assert answer_present("They meet in Busan", item) is False
    # the evidence span alone is enough for a chunk or the prompt, not for a draft
    chunk = f"APEC is {EVIDENCE}, officials said."
    assert answer_present(chunk, gold(accept=["Seoul"])) is True
    assert answer_present(chunk, gold(accept=["Seoul"]), evidence=False) is False
    assert answer_present(chunk.replace("Gyeongju", "G."), gold(accept=["Seoul"])) is False
    assert answer_present("anything", gold(accept=[], evidence=[])) is None  # nothing to look for


def test_answer_present_sees_through_the_prompts_date_annotations() -> None:
    item = gold(accept=["Karoline Leavitt said"], evidence=["Leavitt confirmed on Thursday that the meeting"])
    prompt = "[1] (Reuters, Friday 2025-10-24) Leavitt confirmed on Thursday (Oct 23, 2025) that the meeting"
    assert answer_present(prompt, item) is True
    assert answer_present("[1] Leavitt denied on Thursday that the meeting", item) is False


def test_answer_in_chunks_at_each_depth() -> None:
    assert answer_in_chunks_at(chunks_with_answer_at(0), gold()) == {3: True, 6: True, 10: True, 20: True}
    assert answer_in_chunks_at(chunks_with_answer_at(4), gold()) == {3: False, 6: True, 10: True, 20: True}
    assert answer_in_chunks_at(chunks_with_answer_at(12), gold()) == {3: False, 6: False, 10: False, 20: True}
    assert answer_in_chunks_at(chunks_with_answer_at(25, n=30), gold()) == dict.fromkeys(
        (3, 6, 10, 20), False
    )
    assert answer_in_chunks_at(None, gold()) == {}  # not recorded (naive, endpoint)
    unanswerable = gold(type="unanswerable", accept=[], sources=[], evidence=[])
    assert answer_in_chunks_at(chunks_with_answer_at(0), unanswerable) == {}


def stage_scores(
    text: str,
    *,
    chunk_at: int | None = 0,
    prompt: str | None = "[1] (Reuters) The summit is in Gyeongju.",
    draft: str | None = "It is in Gyeongju [1].",
    abstained: bool = False,
    item: GoldItem | None = None,
) -> QuestionScores:
    chunks = chunks_with_answer_at(chunk_at if chunk_at is not None else 99)
    return score_question(
        item or gold(), answer(text, abstained=abstained), chunk_texts=chunks, prompt_text=prompt, draft=draft
    )


def test_score_question_names_the_stage_that_lost_the_answer() -> None:
    correct = stage_scores("It is in Gyeongju [1].")
    assert correct.answer_in_prompt and correct.answer_in_draft and correct.lost_at is None
    assert correct.funnel() == dict.fromkeys(
        ("in_top_20", "in_top_6", "in_prompt", "in_draft", "correct"), True
    )

    retrieval = stage_scores("It is in Busan.", chunk_at=12, prompt="[1] Busan hosts.", draft="Busan [1].")
    assert retrieval.answer_in_chunks_at == {3: False, 6: False, 10: False, 20: True}
    assert retrieval.lost_at == "retrieval"
    assert stage_scores("Busan.", chunk_at=None, prompt="[1] x", draft="x").lost_at == "retrieval"

    context = stage_scores("It is in Busan.", prompt="[1] Busan hosts the summit.", draft="Busan [1].")
    assert (
        context.answer_in_chunks_at[6] and context.answer_in_prompt is False and context.lost_at == "context"
    )

    reader = stage_scores("The articles don't say.", draft="I don't know.", abstained=True)
    assert reader.answer_in_draft is False and reader.lost_at == "reader"
    assert reader.over_abstained is True

    verifier = stage_scores("The articles don't say.", abstained=True)  # the draft had it
    assert verifier.answer_in_draft is True and verifier.lost_at == "verifier"


def test_stage_fields_are_undefined_without_recorded_stages_or_for_unanswerable() -> None:
    blind = score_question(gold(), answer("It is in Busan."))  # naive or endpoint run
    assert blind.answer_in_chunks_at == {} and blind.answer_in_prompt is None
    assert blind.answer_in_draft is None and blind.over_abstained is None and blind.lost_at is None
    unanswerable = gold(type="unanswerable", accept=[], sources=[], evidence=[])
    s = stage_scores("The articles don't say.", abstained=True, item=unanswerable)
    assert s.answer_in_prompt is None and s.over_abstained is None and s.lost_at is None
    assert set(s.funnel().values()) == {None}
    # an answered (not abstained) question whose answer was in the prompt is not over-abstained
    assert stage_scores("It is in Busan.").over_abstained is False


def test_lost_stage_order() -> None:
    assert lost_stage(True, False, False, False) is None
    assert lost_stage(False, False, False, False) == "retrieval"
    assert lost_stage(False, True, False, False) == "context"
    assert lost_stage(False, True, True, False) == "reader"
    assert lost_stage(False, True, True, True) == "verifier"
    assert lost_stage(False, True, None, None) is None  # not recorded: can't say
    # a stage that has the answer after one that missed it: the later stage is to blame
    assert lost_stage(False, False, True, False) == "reader"
    assert lost_stage(False, True, False, True) == "verifier"


BROKEN = [
    "In, Trump said the talks went well.",
    "Trump met Xi in, where they discussed tariffs.",
    "The meeting was stated in, and confirmed later.",
    "The summit is in Gyeongju , South Korea .",
    "The summit is in Gyeongju,.",
    "Trump said so, , and left.",
    "The talks () went well.",
    "The summit will be held, according to.",
    "The deal was reported in the.",
    "Leavitt confirmed it. the meeting is on Thursday.",
    "- the summit is in Gyeongju.",
    'Ana Costa will visit Porto, she told reporters here. " [2].',
    'Rui Lopes asked about "wine, " while Ana Costa asked about fish.',
    '"Ana Costa will visit Porto." [1].',
]
WHOLE = [
    "Trump and Xi will meet in Gyeongju [1].",
    "In 2024, Trump said the talks went well [1][2].",
    "In [1], Trump said the talks went well.",
    "The U.S. and China agreed on Oct. 30, 2025 in Busan.",
    "Donald J. Trump will travel to Gyeongju, South Korea.",
    "Prices rose 2.5 percent, according to Reuters.",
    '"Why not?" he asked. "we will win," Xi said.',
    "Apple sold the iPhone. iPhone sales rose.",
    "Tariffs fell to 10% from 20% (a cut of half).",
    "It is Plan A. The articles don't say more.",
    "Trump will meet Xi... or so he says.",
    "- Trump will meet Xi.\n- Xi will meet Trump.",
    'Ana Costa called the plan "bold" [1]. Rui Lopes said, "We will see."',
    'She called it "bold and risky" [1].',
]


@pytest.mark.parametrize("text", BROKEN)
def test_broken_sentences_flags_marker_damage(text: str) -> None:
    assert broken_sentences(text), text


@pytest.mark.parametrize("text", WHOLE)
def test_broken_sentences_leaves_good_text_alone(text: str) -> None:
    assert broken_sentences(text) == []


def test_broken_sentences_returns_only_the_broken_ones() -> None:
    text = "Trump will meet Xi [1]. In, Trump said the talks went well. The summit is in Gyeongju [2]."
    assert broken_sentences(text) == ["In, Trump said the talks went well."]
    assert split_sentences("Mr. Trump met Xi. They spoke.\nThen left") == [
        "Mr. Trump met Xi.",
        "They spoke.",
        "Then left",
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("This can be inferred from [1].", "This can be inferred"),
        ("The summit date is stated in [2].", "is stated in"),
        ("According to the provided sources, it is Gyeongju.", "According to the provided sources"),
        ("According to the sources, it is Gyeongju.", "According to the sources"),
        ("The sources say it is Gyeongju.", "The sources say"),
        ("The source mentions Gyeongju.", "The source mentions"),
        ("Based on the provided sources, it is Gyeongju.", "Based on the provided sources"),
        ("Based on the sources, it is Gyeongju.", "Based on the sources"),
    ],
)
def test_filler_phrases_found(text: str, found: str) -> None:
    assert filler_phrases(text) == [found]


@pytest.mark.parametrize(
    "text",
    [
        "The summit is in Gyeongju [1].",
        "According to Reuters, the summit is in Gyeongju [1].",
        "The attack was reported in March [2].",
        "Based on the 2024 figures, exports rose 5% [1].",
        "The articles don't say.",
        "Trump said the deal could be concluded by Friday [1].",
    ],
)
def test_filler_phrases_not_found(text: str) -> None:
    assert filler_phrases(text) == []


def a_conflict() -> Conflict:
    return Conflict(description="where the summit is", values=["Gyeongju", "Busan"], citations=[1, 2])


def test_false_conflict_only_where_gold_expects_none() -> None:
    assert score_question(gold(), answer("Gyeongju", conflicts=[a_conflict()])).false_conflict is True
    assert score_question(gold(), answer("Gyeongju")).false_conflict is False
    assert score_question(conflict_item(), answer("Busan", conflicts=[a_conflict()])).false_conflict is None
    with_sides = gold(sides=["Gyeongju", "Busan"])
    assert score_question(with_sides, answer("Busan", conflicts=[a_conflict()])).false_conflict is None
    assert score_question(gold(), None, error="boom").false_conflict is None


def test_conflict_both_sides_needs_every_side_and_two_articles() -> None:
    item = conflict_item().model_copy(update={"sides": ["Gyeongju", "Busan"]})
    both = answer(
        "One report says gyeongju [1], another Busan [2].",
        [cite(1, GYEONGJU, "Gyeongju"), cite(2, BUSAN, "Busan")],
    )
    assert score_question(item, both).conflict_both_sides is True
    one_side = answer("It is in Busan [1][2].", [cite(1, GYEONGJU, "x"), cite(2, BUSAN, "Busan")])
    assert score_question(item, one_side).conflict_both_sides is False
    one_article = answer("Gyeongju or Busan [1][2].", [cite(1, BUSAN, "x"), cite(2, BUSAN, "y")])
    assert score_question(item, one_article).conflict_both_sides is False
    assert score_question(conflict_item(), both).conflict_both_sides is None  # no sides given


def test_stage_aggregates() -> None:
    premise = gold(id="p", type="false_premise", accept=["Gyeongju"])
    unanswerable = gold(id="u", type="unanswerable", accept=[], sources=[], evidence=[])
    sides_item = conflict_item().model_copy(update={"id": "c", "sides": ["Gyeongju", "Busan"]})
    two = [cite(1, GYEONGJU, "Gyeongju"), cite(2, BUSAN, "Busan")]
    scores = [
        # correct, answer in chunk 0, prompt, draft
        stage_scores("It is in Gyeongju [1]."),
        # lost by the reader, over-abstained; also a false premise item that wasn't corrected
        stage_scores("The articles don't say.", draft="I don't know.", abstained=True, item=premise),
        # lost by retrieval (answer only at rank 8); broken and filler text; a false conflict
        score_question(
            gold(id="r"),
            answer("In, the sources say Busan.", conflicts=[a_conflict()]),
            chunk_texts=chunks_with_answer_at(8),
            prompt_text="[1] Busan.",
            draft="Busan.",
        ),
        # lost by context: in the top-6 chunks, not in the prompt
        stage_scores("Busan [1].", prompt="[1] Busan hosts.", draft="Busan [1]."),
        # both sides named, two articles cited, correct (Busan is the accept)
        score_question(
            sides_item,
            answer("Gyeongju [1] or Busan [2].", two),
            chunk_texts=chunks_with_answer_at(1, "Busan"),
            prompt_text="[1] Busan, Gyeongju",
            draft="Busan",
        ),
        score_question(unanswerable, answer("The articles don't say.", abstained=True)),
        score_question(unanswerable.model_copy(update={"id": "u2"}), answer("Busan.")),
        score_question(gold(id="e"), None, error="boom"),  # errors count against the accuracies
    ]
    agg = aggregate(scores)
    # 6 answerable questions, 5 with recorded stages (the error has none)
    assert agg["chunk_recall_at_3"] == pytest.approx(4 / 5)  # all but the rank-8 one
    assert agg["chunk_recall_at_6"] == pytest.approx(4 / 5)
    assert agg["chunk_recall_at_10"] == 1.0 and agg["chunk_recall_at_20"] == 1.0
    assert agg["context_recall"] == pytest.approx(3 / 5)  # correct, premise, sides
    assert agg["context_recall_of_retrieved"] == pytest.approx(3 / 4)  # context loss among top-6
    assert agg["reader_accuracy"] == pytest.approx(2 / 3)  # the over-abstained premise
    assert agg["over_abstention"] == pytest.approx(1 / 5)
    assert agg["answerable_accuracy"] == pytest.approx(2 / 6)  # error included
    assert agg["unanswerable_refused"] == 0.5
    assert agg["false_premise_corrected"] == 0.0
    assert agg["conflict_both_sides"] == 1.0
    assert agg["false_conflicts"] == 1 and agg["broken_answers"] == 1 and agg["filler_answers"] == 1
    by_type = aggregate_by_type(scores)
    assert by_type["false_premise"]["false_premise_corrected"] == 0.0
    assert by_type["single"]["false_premise_corrected"] is None
    assert by_type["unanswerable"]["context_recall"] is None
    assert list(by_type) == ["single", "conflict", "unanswerable", "false_premise"]

    counts = funnel_counts(scores)
    assert counts == {"n": 5, "in_top_20": 5, "in_top_6": 4, "in_prompt": 3, "in_draft": 2, "correct": 2}
    assert funnel_counts([s for s in scores if not s.answerable]) == {
        "n": 0, "in_top_20": 0, "in_top_6": 0, "in_prompt": 0, "in_draft": 0, "correct": 0,
    }  # fmt: skip


def test_stage_aggregates_undefined_without_recorded_stages() -> None:
    agg = aggregate([score_question(gold(), answer("Gyeongju [1]."))])
    assert agg["chunk_recall_at_6"] is None and agg["context_recall"] is None
    assert agg["context_recall_of_retrieved"] is None and agg["reader_accuracy"] is None
    assert agg["over_abstention"] is None and agg["conflict_both_sides"] is None
    assert agg["answerable_accuracy"] == 1.0 and agg["unanswerable_refused"] is None
    assert agg["false_conflicts"] == 0 and agg["broken_answers"] == 0 and agg["filler_answers"] == 0


def test_stage_scores_serialise_with_string_keys() -> None:
    data = stage_scores("It is in Gyeongju [1].").to_json()
    assert data["answer_in_chunks_at"] == {"3": True, "6": True, "10": True, "20": True}
    assert data["lost_at"] is None and data["broken_sentences"] == [] and data["filler_phrases"] == []


def test_above_thresholds_and_gate_lists() -> None:
    aggs = {"broken_answers": 2, "false_conflicts": 0, "over_abstention": None}
    assert above_thresholds(aggs, {"broken_answers": 2, "false_conflicts": 0}) == []
    assert above_thresholds(aggs, {"broken_answers": 1}) == [("broken_answers", 2, 1)]
    assert above_thresholds(aggs, {"over_abstention": 0.1}) == [("over_abstention", None, 0.1)]
    assert {"broken_answers", "filler_answers", "false_conflicts", "over_abstention"} <= set(
        FAIL_OVER_METRICS
    )
    assert not set(FAIL_OVER_METRICS) & set(FAIL_UNDER_METRICS)
    assert {"chunk_recall_at_6", "context_recall", "reader_accuracy", "conflict_both_sides"} <= set(
        FAIL_UNDER_METRICS
    )


def test_gold_item_sides_split_and_false_premise() -> None:
    item = gold(type="conflict", sides=["Gyeongju", "Busan"], split="test")
    assert item.sides == ["Gyeongju", "Busan"] and item.split == "test"
    assert gold().sides == [] and gold().split is None
    with pytest.raises(ValidationError):
        gold(split="train")
    assert QUESTION_TYPES.index("false_premise") == QUESTION_TYPES.index("adversarial") + 1
    assert gold(type="false_premise").answerable


@pytest.mark.parametrize(
    ("text", "restated"),
    [
        # answers inside the premise, even while holding the accept string
        ("Ana Costa chose Lisbon because the talks in Porto were full [1].", True),
        ("She picked Lisbon. The talks are in Porto.", True),
        # corrects it: says it is not so, or puts the sources' version in its place
        ("Ana Costa did not choose Lisbon; the talks are in Porto [1].", False),
        ("The talks are in Porto, not Lisbon [1].", False),
        ("She didn't pick Lisbon: the talks are in Porto.", False),
        ("She didn’t pick Lisbon: the talks are in Porto.", False),  # a curly apostrophe
        ("The talks are in Porto instead [1].", False),
        ("The talks are in Porto [1].", False),  # never states it
    ],
)
def test_premise_restated(text: str, restated: bool) -> None:
    premise = ["chose Lisbon", "picked Lisbon", "pick Lisbon"]
    assert bool(premise_restated(text, premise)) is restated


def test_premise_restated_matches_at_word_starts_only() -> None:
    assert premise_restated("Rui Lopes will advance the talks.", ["Vance"]) == []
    assert premise_restated("Vance agreed to it [2].", ["Vance"]) == ["Vance agreed to it."]
    assert premise_restated("They agreed to pessimistic terms.", ["pessimis"]) == ["They agreed to pessimistic terms."]
    assert premise_restated("Anything at all.", []) == []


def test_an_answer_inside_the_premise_is_wrong_even_with_the_accept_string() -> None:
    item = gold(type="false_premise", accept=["Porto"], premise=["chose Lisbon"])
    inside = score_question(item, answer("Ana Costa chose Lisbon because Porto was full [1]."))
    assert inside.accept_match is True and inside.correct is False
    assert inside.premise_restated == ["Ana Costa chose Lisbon because Porto was full."]
    corrected = score_question(item, answer("She did not choose Lisbon: the talks are in Porto [1]."))
    assert corrected.correct is True and corrected.premise_restated == []
    # only false-premise items are held to it
    single = gold(accept=["Porto"], premise=["chose Lisbon"])
    assert score_question(single, answer("Ana Costa chose Lisbon, near Porto [1].")).correct is True
    agg = aggregate([inside, corrected])
    assert agg["premise_accepted"] == 1 and agg["false_premise_corrected"] == 0.5
    assert "premise_accepted" in FAIL_OVER_METRICS
