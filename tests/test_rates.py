"""Rate changes a question asks to work out, read from its words."""

from __future__ import annotations

import pytest

from rag.rates import rate_change, rate_question
from rag.text import rates_in


@pytest.mark.parametrize(
    ("text", "label", "result"),
    [
        ("might reduce the 20 per cent tariffs by half", "halved", 10.0),
        ("If the levy were halved", "halved", 10.0),
        ("if the duty doubled", "doubled", 40.0),
        ("cut the duty by 5 percentage points", "cut by 5 points", 15.0),
        ("raising it by 2.5 points", "raised by 2.5 points", 22.5),
        ("kept the 20 per cent duty", None, None),
        ("halved one duty and doubled another", None, None),  # two changes: which is meant?
    ],
)
def test_rate_change(text: str, label: str | None, result: float | None) -> None:
    change = rate_change(text)
    assert (change.label if change else None) == label
    assert (change.apply(20.0) if change else None) == result


def test_rate_question() -> None:
    supposed = rate_question("If Lisbon halved the port levy, by how many percentage points would it fall?")
    assert supposed is not None and supposed.change is not None
    assert supposed.asks_change and supposed.supposed
    # The change the paper reported, whatever it was: taken from the source.
    reported = rate_question("If the levy were cut as the Lisbon Post reported, what would the new rate be?")
    assert reported is not None and reported.change is None and not reported.asks_change
    for way in ("the way the Lisbon Post reported", "like the Lisbon Post suggested"):
        other_words = rate_question(f"If the levy were cut {way}, by how many points would it fall?")
        assert other_words is not None and other_words.change is None and other_words.asks_change
    said = rate_question("The Lisbon Post said the levy would be doubled; what would the new rate be?")
    assert said is not None and not said.supposed
    stated = rate_question("What is the port levy now that Lisbon has doubled it?")
    assert stated is not None and not stated.supposed  # stated as what happened: to be checked
    # Asked for the result in other words: "how many per cent", "what percentage".
    for asked in ("How many per cent would the port levy be after a cut by half?", "What percentage would it be if doubled?"):
        found = rate_question(asked)
        assert found is not None and found.change is not None and not found.asks_change
    assert rate_question("What is the port levy?") is None  # no change asked about
    assert rate_question("If the minister halved her staff, what would happen?") is None  # no rate


def test_rates_a_text_gives() -> None:
    text = "a 1,000% levy, the 20-percent duty, twenty per cent, 12.5% and a cut of 5 percentage points"
    assert rates_in(text) == {"1,000%": "1000", "20-percent": "20", "twenty per cent": "20", "12.5%": "12.5"}
