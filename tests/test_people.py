"""People named by one word carry the article's introduction of them (rag/people.py), in the
sentence ranking, the prompt and the verifier."""

from __future__ import annotations

import pytest
from support.chunks import hit

from rag.citations import Verifier
from rag.config import Settings
from rag.context import ContextBuilder
from rag.embedding import CachedEmbedder, build_embedder
from rag.people import Introduction, introductions, with_people
from rag.prompts import format_passage

INTRO = "“The talks will be hard,” said Ana Costa, China director at the consultancy Lisbon Partners."
FACT = "The two sides may agree to resume the port talks next month, Costa said."


def test_a_surname_gets_the_name_and_role_it_was_introduced_with() -> None:
    people = introductions([INTRO, "The ferry strike entered its third week.", FACT])
    assert people[2] == {"Costa": Introduction("Ana Costa, China director at the consultancy Lisbon Partners", 0)}
    assert people[0] == {} and people[1] == {}
    assert with_people(FACT, {"Costa": people[2]["Costa"].who}) == (
        "The two sides may agree to resume the port talks next month, Costa (Ana Costa, China "
        "director at the consultancy Lisbon Partners) said."
    )


def test_a_title_before_the_name_introduces_them_too() -> None:
    sentences = ["Port Authority Chief Executive Rui Lopes met the mayor of Porto.", "Lopes warned of delays."]
    assert introductions(sentences)[1] == {"Lopes": Introduction("Port Authority Chief Executive Rui Lopes", 0)}


def test_he_or_she_who_speaks_is_the_one_the_sentence_before_introduced() -> None:
    people = introductions([INTRO, "“Both sides want calm,” she added, while avoiding any concession."])
    assert people[1] == {"she": Introduction("Ana Costa, China director at the consultancy Lisbon Partners", 0)}


@pytest.mark.parametrize(
    "sentences",
    [
        # "the Post", "the U.S." and acronyms name no person.
        ["The Lisbon Daily Post reported it first.", "The minister told the Post so."],
        ["Portuguese Prime Minister Rui Lopes spoke.", "The U.S. and Portugal agree."],
        ["The Lisbon Port Authority (LPA) met.", "LPA said so."],
        # A clause after the name is not a role; a bare name says nothing new.
        ["Talks ended, said Ana Costa, who left early.", "Costa said so."],
        ["Ana Costa spoke first.", "Costa said so."],
    ],
)
def test_no_introduction_where_there_is_no_person_or_no_role(sentences: list[str]) -> None:
    assert introductions(sentences)[-1] == {}


def test_people_the_article_names_everywhere_are_not_introduced_again() -> None:
    sentences = ["Mayor Rui Lopes of Porto spoke.", *(f"Lopes said point {i}." for i in range(4))]
    assert all(people == {} for people in introductions(sentences))


def test_a_question_by_role_finds_the_fact_stated_under_a_surname() -> None:
    """The sentence holding the fact says "Costa said": scored with her introduction it
    answers "What does the Lisbon Partners director expect?", the sentence introducing her
    comes with it (the model reads who Costa is, in the article's words), and an answer
    naming her role is supported by the passage it cites."""
    settings = Settings(llm_backend="extractive", context_token_budget=64)
    embedder = CachedEmbedder(build_embedder(settings))
    hits = [
        hit("a", " ".join([INTRO, "The ferry strike entered its third week.", FACT]), 0),
        hit(
            "b",
            " ".join([
                "Porto's mayor expects the port talks to stall until spring.",
                "The harbour master expects more ships to wait outside Porto.",
                "Dock workers expect the port talks to drag on for months.",
                "Shipping firms expect higher fees at the port of Porto.",
            ]),
            1,
        ),
    ]
    question = "What does the Lisbon Partners China director expect from the port talks?"
    builder = ContextBuilder(settings, embedder)
    # Scored without her introduction, the fact ranked 4th, behind the mayor's and the dock
    # workers' expectations.
    assert builder.score_sentences(question, hits)[0].text == FACT
    context = builder.build(question, hits)
    fact = next(p for p in context.passages if "next month" in p.text)
    assert [s.text for s in fact.sentences][0] == INTRO and FACT in format_passage(fact)
    verified = Verifier(embedder).verify(
        f"Lisbon Partners' China director Ana Costa expects the port talks to resume next month [{fact.n}].",
        context,
    )
    assert not verified.empty and verified.claims[0].supported
