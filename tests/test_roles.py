"""Who holds which office: an answer naming the wrong person for a role is caught, and a
question giving someone the wrong country is corrected."""

from __future__ import annotations

import pytest

from rag.roles import Person, _bindings, holder_misattribution, misattribution

SOURCES = [
    "Portugal's new Prime Minister, Ana Costa, will host the talks in Lisbon.",
    "Spanish Foreign Minister Rui Lopes said the port deal was close.",
    "The delegation led by Vice Premier Rui Lopes, also the country's top trade negotiator, arrived.",
    "According to the port analyst, Costa wants a deal by May.",
    "Press Secretary Maria Lima confirmed the visit on Thursday.",
]


def _grouped(text: str) -> dict[Person, tuple[set[str], set[str]]]:
    """Each person's offices and countries, over all the text's bindings of them."""
    found: dict[Person, tuple[set[str], set[str]]] = {}
    for b in _bindings(text):
        offices, countries = found.setdefault(b.person, (set(), set()))
        offices.add(b.office)
        countries.update({b.country} if b.country else set())
    return found


def test_reads_who_holds_what_in_the_usual_shapes() -> None:
    found = _grouped(" ".join(SOURCES))
    assert found[("ana", "costa")] == ({"prime minister"}, {"portugal"})
    assert found[("rui", "lopes")] == ({"foreign minister", "vice premier"}, {"spain"})
    assert found[("maria", "lima")] == ({"spokesperson"}, set())
    # "According to the analyst, Costa …" makes nobody an analyst.
    assert ("costa",) not in found


@pytest.mark.parametrize(
    ("claim", "wrong"),
    [
        ("Portugal's foreign minister is Ana Costa [1].", "foreign minister"),
        ("Rui Lopes, the Portuguese foreign minister, said the deal was close [2].", "Portuguese"),
        ("The ambassador to Lisbon is Rui Lopes [2].", "ambassador"),
    ],
)
def test_an_office_or_country_the_sources_never_give_is_caught(claim: str, wrong: str) -> None:
    found = misattribution(claim, SOURCES)
    assert found is not None and found.wrong == wrong


@pytest.mark.parametrize(
    "claim",
    [
        "Portugal's prime minister, Ana Costa, hosts the talks [1].",
        # A premier is a prime minister; a generic "minister" fits any minister.
        "Premier Ana Costa hosts the talks [1].",
        "Spanish minister Rui Lopes said the deal was close [2].",
        # A role beside an office is never judged by the office: he is both.
        "Spain's chief negotiator is Rui Lopes [3].",
        "The spokeswoman, Maria Lima, confirmed the visit [5].",
        # Someone the sources never bind is not judged at all.
        "Portugal's foreign minister is Pedro Reis [1].",
        "According to the analyst, Costa wants a deal [4].",
    ],
)
def test_what_the_sources_allow_or_never_say_is_not_judged(claim: str) -> None:
    assert misattribution(claim, SOURCES) is None


def test_a_lower_case_office_before_a_name_in_a_question_or_answer_is_a_relative_clause() -> None:
    """ "the Portuguese premier Rui Lopes is going to see" does not make Rui Lopes the
    premier; the title form "Portuguese Premier Rui Lopes" does."""
    assert misattribution("Who is the Portuguese premier Rui Lopes is going to see?", SOURCES) is None
    assert misattribution("Who did Portuguese Premier Rui Lopes meet?", SOURCES) is not None


def test_an_office_for_a_country_after_the_name_binds_too() -> None:
    found = misattribution("What did Rui Lopes, the foreign minister of Portugal, say?", SOURCES)
    assert found is not None and found.wrong == "Portugal"
    assert misattribution("Rui Lopes, the foreign minister of Spain, spoke [2].", SOURCES) is None


def test_one_office_under_another_countrys_title_fits() -> None:
    """A reader calls a treasury secretary the finance minister; calling him the foreign
    minister is still wrong, and the reason quotes the sources' own title."""
    sources = ["Spanish Treasury Secretary Rui Lopes will meet Portugal's prime minister in Porto."]
    assert misattribution("Spain's finance minister is Rui Lopes [1].", sources) is None
    wrong = misattribution("Spain's foreign minister is Rui Lopes [1].", sources)
    assert wrong is not None and "treasury secretary" in str(wrong)


def test_an_office_that_is_the_object_of_a_clause_binds_nobody_to_the_name_after_it() -> None:
    """ "The minister meeting Portugal's premier is Rui Lopes": the premier is whom he meets."""
    sources = ["Spanish Treasury Secretary Rui Lopes will meet Portugal's premier Ana Costa in Porto."]
    for claim in (
        "The Spanish finance minister meeting Portugal's premier in Porto is Rui Lopes [1].",
        "The finance minister holding talks with Lisbon's premier in Porto is Rui Lopes [1].",
    ):
        assert misattribution(claim, sources) is None
    assert misattribution("The name of Spain's premier is Rui Lopes [1].", sources) is not None


def test_the_holder_an_answer_offers_must_hold_what_the_question_asks_for() -> None:
    """ "Which ministers travel with the premier?" answered with a president offers the
    wrong person. A reader may call any cabinet member a minister; the person the question
    names is who acts, not who is offered; an office or country the sources don't contradict
    stands."""
    sources = [
        "Portuguese President Ana Costa will host the talks in Lisbon.",
        "Spanish Vice Premier Rui Lopes will meet Portugal's foreign minister, Pedro Reis.",
    ]
    wrong = holder_misattribution("Which ministers travel with the premier?", "President Ana Costa [1].", sources)
    assert wrong is not None and "president" in str(wrong)
    wrong = holder_misattribution("Which cabinet member hosts the talks?", "Ana Costa hosts them [1].", sources)
    assert wrong is not None and "president" in str(wrong)
    for question, answer in (
        ("Which Spanish minister will meet Pedro Reis?", "Pedro Reis will meet Vice Premier Rui Lopes [2]."),
        ("Which minister hosts the talks?", "Pedro Reis hosts them [2]."),
        ("Which president hosts the talks in Lisbon?", "Ana Costa hosts them [1]."),
        ("What did the minister say?", "Ana Costa said nothing [1]."),
    ):
        assert holder_misattribution(question, answer, sources) is None, question
    wrong = holder_misattribution("Which Spanish official hosts the talks?", "Ana Costa [1].", sources)
    assert wrong is None  # "official" is no office; a country alone needs an office asked for
    wrong = holder_misattribution("Which Spanish president hosts the talks?", "Ana Costa [1].", sources)
    assert wrong is not None and "portuguese" in str(wrong)


def test_a_bare_minister_is_any_cabinet_member_but_never_a_president() -> None:
    """One rule for an answer's own title and for the holder a question asks for."""
    sources = [
        "Portuguese President Ana Costa will host the talks in Lisbon.",
        "Spanish Vice Premier Rui Lopes will meet Portugal's foreign minister, Pedro Reis.",
    ]
    assert misattribution("Spanish Minister Rui Lopes arrived [2].", sources) is None
    wrong = misattribution("Portuguese Minister Ana Costa hosts the talks [1].", sources)
    assert wrong is not None and "president" in str(wrong)
