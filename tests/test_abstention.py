"""The one abstention policy: its signals on hand-built contexts and verified answers."""

from __future__ import annotations

import pytest

from rag.abstention import AbstentionPolicy, answer_kind, gives_kind
from rag.citations import Verified
from rag.config import Settings
from rag.generation import ExtractiveGenerator
from rag.text import asks_locality, cue_bonus, localities_in
from rag.types import Citation, Context, Passage, Span

TEXT = "Trump will meet Xi Jinping in Busan on Thursday, White House press secretary Karoline Leavitt said."


def _context(question: str, score: float = 0.9, relevance: float = 0.7, text: str = TEXT) -> Context:
    passage = Passage(
        n=1,
        article_id="a",
        title="t",
        text=text,
        start=0,
        end=len(text),
        relevance=relevance,
        sentences=[Span(start=0, end=len(text), text=text, score=score)],
    )
    return Context(question=question, passages=[passage], best_relevance=relevance)


def _answer(text: str) -> Verified:
    return Verified(text=text, citations=[], claims=[], conflicts=[], supported=1)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many tonnes of soybeans did China buy?", "number"),
        ("What percentage is the new tariff?", "number"),
        ("When will the two leaders meet?", "date"),
        ("In what year did they last meet?", "date"),
        ("What deadline did the minister set for the levy?", "date"),
        ("What is the expiry date of the truce?", "date"),
        ("Until when does the truce hold?", "date"),
        ("What did the minister say about the deadline?", None),
        ("What happens on the day of the summit?", None),
        ("Who confirmed the meeting?", "name"),
        ("Where will Trump and Xi meet?", "place"),
        ("In which South Korean city will they hold talks?", "place"),
        ("Which city hosts the summit?", "place"),
        ("What is the venue city for the talks?", "place"),
        ("Name the city where the ministers meet.", "place"),
        ("What is the city doing about the port?", None),
        ("Which Chinese official spoke to reporters?", "name"),
        ("How do the reports spell the surname of the mayor?", "name"),
        ("What is the family name of the Porto mayor?", "name"),
        ("How is the Porto mayor's name spelled?", "name"),
        ("Why did China tighten its export rules?", None),
        ("When asked about a pause, what did Trump say about the timing?", None),
        ("What did Trump say about farmers?", None),
        # The noun after a verb is its subject, not what is asked for.
        ("What did the president say he hoped to agree on, per the paper?", None),
        ("What does the host country want from the talks?", None),
    ],
)
def test_answer_kind(question: str, kind: str | None) -> None:
    assert answer_kind(question) == kind


def test_gives_kind_ignores_markers_and_what_the_question_already_says() -> None:
    assert not gives_kind("China may agree to soybean purchases [1].", "number", "How many tonnes?")
    assert gives_kind("At least two calls [1].", "number", "How many calls?")
    assert gives_kind("Karoline Leavitt confirmed it [1].", "name", "Who confirmed the meeting?")
    assert not gives_kind(
        "Trump and Xi will meet at the summit [1].", "name", "Where will Trump and Xi meet?"
    )
    assert gives_kind("On Thursday, Oct. 30 [1].", "date", "When do they meet?")


@pytest.mark.parametrize(
    ("answer", "gives"),
    [
        ("The talks lasted two hours [1].", True),
        ("The pause would run for one year [1].", True),
        ("It is a two-day summit [1].", True),
        # A count of times is no duration, whatever word comes after it.
        ("The mayors met at least three times this year [1].", False),
        ("They spoke twice last month [1].", False),
    ],
)
def test_how_long_wants_a_duration_not_a_count_of_times(answer: str, gives: bool) -> None:
    assert gives_kind(answer, "number", "How long did the Lisbon talks last?") is gives


@pytest.mark.parametrize(
    ("answer", "gives"),
    [
        ("The Lisbon fees are $2 million per ship [1].", True),
        ("Porto charges 20 per cent more [1].", True),
        ("Lisbon levies 15% of the cargo's value [1].", True),
        ("The fee was halved [1].", True),
        ("Porto buys twelve million tonnes a year [1].", True),
        # A number counting something else is no amount.
        ("The two ports levy hefty fees on each other's ships [1].", False),
        ("Lisbon raised its fees on Oct. 27 [1].", False),
    ],
)
def test_how_much_wants_an_amount_with_its_unit(answer: str, gives: bool) -> None:
    assert gives_kind(answer, "number", "How much are the fees each port charges the other's ships?") is gives


def test_what_is_the_value_asks_for_an_amount_as_how_much_does() -> None:
    question = "What was the total value of the goods Lisbon and Porto traded last year?"
    assert answer_kind(question) == "number"
    assert not gives_kind("The truce brokered in May prevented triple-digit levies [1].", "number", question)
    assert gives_kind("Trade between them was worth $4 billion [1].", "number", question)
    assert answer_kind("What is the price Porto pays for the ferry?") == "number"


def test_a_why_question_leans_toward_a_sentence_giving_a_cause_without_requiring_one() -> None:
    why = "Why did Lisbon lower the port levy?"
    assert cue_bonus(why, "The mayor cut the levy because Porto had cut its own.") > 0
    assert cue_bonus(why, "The mayor cut the levy on Tuesday.") == 0
    assert cue_bonus("What did Lisbon do to the port levy?", "It was cut because Porto cut its own.") == 0
    # A cause is no kind an answer must show: "to win back shipping" gives one too.
    assert answer_kind(why) is None


def test_a_which_paper_question_leans_toward_the_sentence_attributing_a_report() -> None:
    """Nearly every sentence names someone, so a new name is no cue for "which paper": the
    name a report is attributed to is."""
    which = "Which Portuguese newspaper said the ferry levy would be cut?"
    assert cue_bonus(which, "Diario de Lisboa reported on Monday that the levy could be halved.") > 0
    assert cue_bonus(which, "The levy could be halved, according to Publico.") > 0
    assert cue_bonus(which, "Ana Costa said the levy was too high.") == 0  # a name, but no report
    assert cue_bonus("Which outlet first carried the story?", "Rui Lopes told Expresso it was true.") > 0
    # any other "which" question keeps the plain name cue
    assert cue_bonus("Which minister cut the levy?", "Ana Costa said the levy was too high.") > 0


@pytest.mark.parametrize(
    ("answer", "gives"),
    [
        ("He spoke on Air Force One [1].", True),
        ("He spoke aboard Air Force One [1].", True),
        ("They meet in Busan on Thursday [1].", True),
        ("They meet on Thursday [1].", False),
        ("They meet in October [1].", False),
        ("They meet at the summit [1].", False),
        ("The host city is Lisbon [1].", True),
        ("The leaders of Portugal and Spain attend [1].", True),
        ("They meet on the sidelines of the Asia-Pacific Economic Cooperation summit [1].", False),
        ("The meeting is Thursday [1].", False),
    ],
)
def test_a_place_follows_its_preposition_and_is_not_a_date(answer: str, gives: bool) -> None:
    assert gives_kind(answer, "place", "Where did the president speak to reporters?") is gives


@pytest.mark.parametrize(
    ("answer", "question", "gives"),
    [
        # a month the question already names is no answer to "when in that month"
        ("The call was in March [1].", "On which day in March did the mayors speak by phone?", False),
        ("They spoke on March 12 [1].", "On which day in March did the mayors speak by phone?", True),
        ("They spoke on 12 March [1].", "What date did the mayors speak?", True),
        # a day is asked for: a month and a year leave it open
        ("In March 2024 [1].", "What date did the mayors speak?", False),
        ("On Tuesday [1].", "On what day did the Porto talks open?", True),
        ("They meet on Mar. 14 [1].", "When in March will Ana Costa meet Rui Lopes?", True),
        # a choice the question offers may be given back
        ("On Tuesday [1].", "When did the talks open, Tuesday or Wednesday?", True),
        ("In 2019 [1].", "When did the two mayors last meet?", True),
        ("Next week [1].", "When will the Lisbon talks start?", True),
    ],
)
def test_a_date_must_be_new_to_the_question_and_as_precise_as_asked(
    answer: str, question: str, gives: bool
) -> None:
    assert gives_kind(answer, "date", question) is gives


def test_where_someone_goes_answers_a_city_question_only_when_asked_for_the_answer() -> None:
    """The answer check counts a destination as a city; the context's cue and place seeds
    do not, since a visit to the capital says nothing of where the talks are held."""
    question = "In which city will Ana Costa see the mayor?"
    answer = "Ana Costa meets the mayor during her visit to Porto [1]."
    assert gives_kind(answer, "place", question, destinations=True)
    assert not gives_kind(answer, "place", question)
    assert not gives_kind("She pays a state visit to Portugal [1].", "place", question, destinations=True)
    assert gives_kind("She flies to Braga on Monday [1].", "place", question, destinations=True)


def test_a_count_must_count_what_was_asked() -> None:
    question = "How many member economies belong to the forum?"
    assert not gives_kind("The two leaders will meet in Busan [1].", "number", question)
    assert gives_kind("It has 21 member economies [1].", "number", question)
    assert gives_kind(
        "At least two phone calls [1].", "number", "How many phone conversations did they have?"
    )
    assert gives_kind("Eleven days later [1].", "number", "How many days after the meeting?")
    assert not gives_kind("In 2019 [1].", "number", "How many times since 2019?")
    assert gives_kind("A 20 per cent tariff [1].", "number", "How much is the tariff?")
    # A hyphenated count names its unit; a few count nouns name the same thing.
    assert gives_kind("A two-day summit [1].", "number", "How many days does the summit run?")
    assert gives_kind("A three-nation tour [1].", "number", "How many countries does the tour visit?")
    assert not gives_kind("A three-nation tour [1].", "number", "How many days does the tour last?")
    # "Times" of something the question names are counted by that thing's own name; a
    # date's day counts nothing ("Oct. 27 for a meeting").
    question = "How many times have the mayors spoken by phone this year?"
    assert gives_kind("They have had at least two phone calls [1].", "number", question)
    assert not gives_kind("They sent two letters [1].", "number", question)
    question = "How many times did Ana Costa meet the Porto mayor?"
    assert gives_kind("She held three meetings with him [1].", "number", question)
    assert not gives_kind("She travels to Porto on Oct. 27 for a meeting with him [1].", "number", question)
    assert not gives_kind("They have had at least two phone calls [1].", "number", question)
    # "How long" asks for a duration: a count of something else does not answer it.
    question = "How long did the mayors' phone call last?"
    assert not gives_kind("They have had at least two phone calls [1].", "number", question)
    assert gives_kind("It lasted about 40 minutes [1].", "number", question)
    assert gives_kind("A possible one-year pause [1].", "number", "How long was the pause?")


def test_no_passages_or_weak_ones_abstain_before_generation() -> None:
    policy = AbstentionPolicy(Settings(llm_backend="extractive"))
    assert policy.before_generation(Context(question="q", passages=[], best_relevance=0.0))
    assert policy.before_generation(_context("Where?", relevance=0.1))
    assert policy.before_generation(_context("Where?")) is None


def test_supported_answer_of_the_wrong_kind_abstains() -> None:
    policy = AbstentionPolicy(Settings(llm_backend="extractive"))
    question = "How many tonnes of soybeans did China commit to buy?"
    wrong_kind = _answer("China may agree to soybean purchases [1].")
    decision = policy.after_verification(_context(question), wrong_kind, can_quote=False)
    assert decision.abstain and decision.reason and "number" in decision.reason
    # With a strong source sentence, its quote gets a chance (and is checked the same way).
    assert policy.after_verification(_context(question), wrong_kind, can_quote=True).quote_instead
    kept = policy.after_verification(
        _context("Who confirmed the meeting?"), _answer("Karoline Leavitt [1]."), can_quote=True
    )
    assert not kept.abstain and not kept.quote_instead


def test_nothing_held_up_quotes_only_strong_evidence_and_never_overrides_the_model() -> None:
    removed = Verified(text="", citations=[], claims=[], conflicts=[], model_abstained=False)
    strong = AbstentionPolicy(Settings(llm_backend="extractive", quote_min_score=0.8))
    assert strong.after_verification(_context("Who?", score=0.9), removed, can_quote=True).quote_instead
    weak = strong.after_verification(_context("Who?", score=0.7), removed, can_quote=True)
    assert weak.abstain and weak.reason == "no sentence of the draft answer was supported by the sources"
    assert strong.after_verification(_context("Who?", score=0.9), removed, can_quote=False).abstain
    # The model's own "I don't know" stands, however strong the best sentence looks.
    declined = Verified(text="", citations=[], claims=[], conflicts=[], model_abstained=True)
    decision = strong.after_verification(_context("Who?", score=1.2), declined, can_quote=True)
    assert decision.abstain and decision.reason == "the model found no answer in the sources"


def test_an_answer_naming_the_wrong_person_for_a_role_is_never_replaced_by_a_quote() -> None:
    """A quote would answer "Who is Portugal's foreign minister?" with whatever sentence
    names a minister; the wrong binding says the holder is not in the sources."""
    policy = AbstentionPolicy(Settings(llm_backend="extractive"))
    misbound = Verified(
        text="", citations=[], claims=[], conflicts=[], misattributed="ana costa: foreign minister, where …"
    )
    decision = policy.after_verification(_context("Who is Portugal's foreign minister?"), misbound, can_quote=True)
    assert decision.abstain and not decision.quote_instead and "role" in (decision.reason or "")


def test_a_city_question_is_not_answered_by_a_country() -> None:
    """"Which city?" asks for a place below a country: "in Portugal" gives none, nor does
    the place a report was given in ("told reporters in Madrid")."""
    question = "Which city will the ministers meet in?"
    assert asks_locality(question) and asks_locality("Where in Portugal will they meet?")
    assert not asks_locality("Where will the ministers meet?")
    assert not gives_kind("They meet in Portugal next week [1].", "place", question)
    assert gives_kind("They meet in the coastal city of Porto [1].", "place", question)
    assert not gives_kind("Lopes told reporters in Madrid they would meet [1].", "place", question)
    assert gives_kind("They meet in Portugal next week [1].", "place", "Where will the ministers meet?")
    assert localities_in("Costa said they would meet in Braga, not in Spain, in March.") == ["Braga"]
    assert gives_kind("The venue city is Porto, Portugal [1].", "place", "What is the venue city?")


def _two_sentence_context(question: str) -> Context:
    country = "The ministers will meet in Portugal next week, officials said."
    city = "The talks are to be held in Porto, on the sidelines of the summit."
    spans = [Span(start=0, end=len(country), text=country, score=0.9), Span(start=0, end=len(city), text=city, score=0.7)]
    passages = [
        Passage(n=n, article_id=str(n), title="t", text=s.text, start=0, end=len(s.text), relevance=0.7, sentences=[s])
        for n, s in enumerate(spans, start=1)
    ]
    return Context(question=question, passages=passages, best_relevance=0.7)


def test_a_place_answer_of_the_wrong_kind_is_replaced_by_a_quote_naming_a_place() -> None:
    """An answer giving the country to "which city?" makes way for the best sentence that
    names a city, not the best sentence overall (which named the same country). A count
    is not quoted that way: any number in a related sentence would pass for one."""
    question = "Which city will the ministers meet in?"
    context = _two_sentence_context(question)
    policy = AbstentionPolicy(Settings(llm_backend="extractive"))
    decision = policy.after_verification(context, _answer("In Portugal [1]."), can_quote=True)
    assert decision.quote_instead and decision.quote_kind == "place"
    quoter = ExtractiveGenerator(Settings(llm_backend="extractive"))
    assert quoter.generate(context, giving="place").text.startswith("The talks are to be held in Porto")
    assert quoter.generate(context).text.startswith("The ministers will meet in Portugal")
    counted = policy.after_verification(
        _two_sentence_context("How many ministers will meet?"), _answer("The ministers meet [1]."), can_quote=True
    )
    assert counted.quote_instead and counted.quote_kind is None


def test_a_number_the_question_states_for_something_else_is_still_an_answer() -> None:
    """"the two leaders" in the question does not make "two calls" something it already
    said; "two calls" in it does."""
    question = "How many calls have the two leaders had this year?"
    assert gives_kind("They have had at least two calls this year [1].", "number", question)
    assert not gives_kind("The two leaders spoke [1].", "number", question)
    assert not gives_kind("They had two calls [1].", "number", "They had two calls, so how many calls?")


def test_the_models_refusal_gives_way_only_to_a_strong_sentence_counting_what_was_asked() -> None:
    """"How many phone calls?" with "at least two phone calls" scoring high in the prompt:
    the model's "I don't know" is overridden by that count, quoted. A sentence counting
    something else, or a weak one, leaves the refusal standing."""
    policy = AbstentionPolicy(Settings(llm_backend="extractive", quote_min_score=0.8))
    declined = Verified(text="", citations=[], claims=[], conflicts=[], model_abstained=True)
    question = "How many phone calls have the mayors had this year?"
    counted = _context(question, 0.85, text="The mayors have had at least two phone calls this year.")
    decision = policy.after_verification(counted, declined, can_quote=True)
    assert decision.quote_instead and decision.quote_kind == "number"
    assert policy.after_verification(counted, declined, can_quote=False).abstain
    other = _context(question, 0.9, text="The mayors have met three times this year.")
    assert policy.after_verification(other, declined, can_quote=True).abstain
    weak = _context(question, 0.7, text="The mayors have had at least two phone calls this year.")
    assert policy.after_verification(weak, declined, can_quote=True).abstain
    # Asked how much or how long, not how many of a thing: the refusal stands.
    levy = _context("How much is the levy now?", 0.9, text="The levy is 20 per cent.")
    assert policy.after_verification(levy, declined, can_quote=True).abstain


def _cited(text: str, quote: str, **flags: bool) -> Verified:
    citation = Citation(n=1, article_id="a", title="t", quote=quote, start=0, end=len(quote))
    return Verified(text=text, citations=[citation], claims=[], conflicts=[], supported=1, **flags)


def test_an_outcome_the_sources_only_announce_is_not_reported() -> None:
    """News written before the talks: "What did they agree?" answered "They agreed to meet
    in Porto" puts the question's verb on an announcement. Asked about what someone said
    would come of it, or answered from a sentence reporting an agreement, it stands."""
    policy = AbstentionPolicy(Settings(llm_backend="extractive"))
    announced = "Ana Costa and Rui Lopes will meet in Porto this week to prepare for the summit."
    asked = "What did Portugal's finance chief and the Spanish minister agree at their talks in Porto?"
    answer = _cited("They agreed to meet in Porto to prepare for the summit [1].", announced)
    decision = policy.after_verification(_context(asked, text=announced), answer, can_quote=True)
    assert decision.abstain and "announce" in (decision.reason or "")
    went = "How did the Porto talks between the two ministers go?"
    assert policy.after_verification(_context(went, text=announced), answer, can_quote=True).abstain
    reached = "Did the two ministers reach a deal on the levy in Porto?"
    assert policy.after_verification(_context(reached, text=announced), answer, can_quote=True).abstain
    reported = "As agreed between Portugal and Spain, the ministers will meet again in May."
    agreed = _cited("They agreed to meet again in May [1].", reported)
    assert not policy.after_verification(_context(asked, text=reported), agreed, can_quote=True).abstain
    # (Where Ana Costa speaks: an answer about what she said must come from her words.)
    hoping = "Ana Costa said she and Rui Lopes will meet in Porto this week to prepare for the summit."
    hoped_answer = _cited("They agreed to meet in Porto to prepare for the summit [1].", hoping)
    for hoped in (
        "What did Ana Costa say she hoped the ministers would agree in Porto?",
        "Did Ana Costa say she hoped to reach a deal in Porto?",
    ):
        assert not policy.after_verification(_context(hoped, text=hoping), hoped_answer, can_quote=True).abstain
    # A question whose premise the answer corrects keeps its correction.
    corrected = _cited("Correction: Porto, not Braga [1].", announced, corrected=True)
    assert not policy.after_verification(_context(asked, text=announced), corrected, can_quote=True).abstain


def test_what_a_person_said_is_answered_only_from_passages_where_they_speak() -> None:
    policy = AbstentionPolicy(Settings(llm_backend="extractive"))
    asked = "What did Ana Costa herself say about the Porto fair?"
    about = "Rui Lopes praised his talks with Ana Costa, saying he expects the Porto fair to be a success."
    theirs = _cited("Ana Costa said she expects the Porto fair to be a success [1].", about)
    decision = policy.after_verification(_context(asked, text=about), theirs, can_quote=True)
    assert decision.abstain and "saying anything" in (decision.reason or "")
    said = "Ana Costa said on Monday that the Porto fair would be a success."
    hers = _cited("Ana Costa said the Porto fair would be a success [1].", said)
    assert not policy.after_verification(_context(asked, text=said), hers, can_quote=True).abstain


def test_a_particular_building_or_office_holder_is_answered_only_by_a_sentence_naming_one() -> None:
    """ "Which hotel …?" answered "the talks take place in Porto" restates where the event
    is. A sentence naming a hotel (or a hall, for a room) answers it; "What did the mayor
    say?" asks what was said, not which mayor."""
    policy = AbstentionPolicy(Settings(llm_backend="extractive"))
    where = "The two ministers will meet in Porto on Friday."
    restated = _cited("The ministers will meet in Porto on Friday [1].", where)
    for asked in ("Which hotel are the ministers staying at?", "Which room in the venue hosts the talks?"):
        decision = policy.after_verification(_context(asked, text=where), restated, can_quote=True)
        assert decision.abstain and "particular" in (decision.reason or "")
    # "The White House announced …" names an institution, not a building.
    announced = "The White House announced that the two ministers will meet in Porto on Friday."
    house = _cited("The ministers will meet in Porto on Friday [1].", announced)
    asked = "Which building or conference venue will host the talks?"
    assert policy.after_verification(_context(asked, text=announced), house, can_quote=True).abstain
    hall = "The two ministers will meet in the main hall of the Porto Congress Centre on Friday."
    named = _cited("They meet in the main hall of the Porto Congress Centre [1].", hall)
    asked = "Which room will host the two ministers' talks?"
    assert not policy.after_verification(_context(asked, text=hall), named, can_quote=True).abstain
    senators = "Senator Rui Lopes will travel with the president to Porto."
    travelling = _cited("Senator Rui Lopes is travelling with the president [1].", senators)
    asked = "Which senators are travelling with the president?"
    assert not policy.after_verification(_context(asked, text=senators), travelling, can_quote=True).abstain
    law = "The ministers plan an inquiry into the port deal under the 1974 Trade Act."
    inquiry = "The ministers plan an inquiry into the port deal."
    asked = "Under which law would the ministers' inquiry be opened?"
    unnamed = _cited("The ministers plan an inquiry into the port deal [1].", inquiry)
    assert policy.after_verification(_context(asked, text=inquiry), unnamed, can_quote=True).abstain
    named_law = _cited("Under the 1974 Trade Act [1].", law)
    assert not policy.after_verification(_context(asked, text=law), named_law, can_quote=True).abstain
    said = _cited("The mayor said the ministers will meet in Porto on Friday [1].", where)
    asked = "What did the mayor say about the talks?"
    assert not policy.after_verification(_context(asked, text=where), said, can_quote=True).abstain
