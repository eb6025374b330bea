"""Quotations in answers stay in the mouth the sources put them in."""

from __future__ import annotations

import pytest

from rag.speakers import misquoted

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
