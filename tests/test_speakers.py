"""Quotations in answers stay in the mouth the sources put them in."""

from __future__ import annotations

import pytest

from rag.speakers import asked_speaker, misquoted, speaks

SOURCES = [
    "“We are going to come out of this very well and everyone will be happy,” Rui Lopes said on Friday.",
    "“This will be a high-risk, high-reward round of talks,” said Ana Costa, director at Lisbon Partners.",
    "Mayor Rui Lopes told reporters: “The port will reopen within weeks.”",
    "Costa blasted the levy as an attempt to “pull everyone else down with them.”",
]


@pytest.mark.parametrize(
    "claim",
    [
        # The words of one person, given to another the sources name.
        'Ana Costa, the director, said she hopes to "come out of this very well and everyone will be happy".',
        'Rui Lopes called it a "high-risk, high-reward round of talks" [2].',
        'Costa said "the port will reopen within weeks".',
    ],
)
def test_a_quotation_given_to_someone_else_is_misquoted(claim: str) -> None:
    assert misquoted(claim, SOURCES)


@pytest.mark.parametrize(
    "claim",
    [
        'Rui Lopes said they would "come out of this very well" [1].',
        'Ana Costa called it a "high-risk, high-reward round of talks".',
        'Lopes said "the port will reopen within weeks".',
        # A role or a pronoun names no one; nor does a source that says "blasted".
        'The mayor said "we are going to come out of this very well".',
        'She said "the port will reopen within weeks".',
        'Lopes said the levy would "pull everyone else down with them".',
        # Two words are no quotation to judge; words the sources never quote, neither.
        'Ana Costa said it was "very well".',
        'Ana Costa said "the port is closed for good".',
    ],
)
def test_a_quotation_in_its_speakers_mouth_or_unjudgeable_stands(claim: str) -> None:
    assert not misquoted(claim, SOURCES)


def test_the_person_a_what_did_they_say_question_asks_about() -> None:
    assert asked_speaker("What did Ana Costa herself say about the fair?") == {"ana", "costa"}
    assert asked_speaker("And what did Lopes tell reporters?") == {"lopes"}
    assert asked_speaker("What did the mayor say about the fair?") == set()  # a role names no one
    assert asked_speaker("What happened to Ana Costa?") == set()


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Ana Costa said the fair would open on Monday.", True),
        ("Costa, the Lisbon mayor, warned that the port would close.", True),
        ("Costa has softened her tone, saying she expects a deal.", True),
        ("\u201cWe will win,\u201d said Ana Costa.", True),
        ("The mayor met Ana Costa on Monday. She said the fair would open.", True),
        # Costa is who the sentence is about, not who speaks.
        ("Rui Lopes praised his talks with Costa, saying he expects a deal.", False),
        ("Rui Lopes told Costa the port would close.", False),
        ("Ana Costa will open the Lisbon fair.", False),
    ],
)
def test_whether_a_person_speaks_in_a_passage(text: str, spoken: bool) -> None:
    assert speaks({"ana", "costa"}, text) is spoken
