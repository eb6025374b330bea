"""Who a person named by one word is, from where the article introduced them.

Readers ask by role ("What did the consultancy's China director expect?"); articles
introduce a person once with that role ("said Ana Costa, China director at the consultancy
Lisbon Partners") and afterwards write "Costa said". The sentence holding the fact then
shares no word with the question, so the sentence ranking misses it, and a model shown it
alone cannot tell that Costa is the director. So a sentence that names a person by one word
is scored with their introduction ("Costa (Ana Costa, China director at …) said"), and
when it is chosen the sentence that introduced them comes with it, in the article's own
words, as the sentence before a "He said …" does.

Only people the article names rarely (in at most `RARELY` sentences) are introduced again:
the principal figures of a story are named everywhere, and bringing in their introduction
for every sentence would cost prompt tokens and tell a reader nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

RARELY = 3
_WORD = r"[A-Z][A-Za-z’'.-]*[A-Za-z.]"
_RUN = re.compile(rf"{_WORD}(?:[ -]{_WORD})*")
_CALENDAR = re.compile(
    r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?$"
)
# Words a run of capitals often starts with that are not part of anyone's title.
_LEADING = re.compile(r"^(?:(?:The|A|An|And|But|In|On|At|By|For|With|From|Said|Says|Speaking)\s+)+")
# An appositive after the full name says who they are; a clause after it does not.
_APPOSITIVE = re.compile(r"^,\s+([^,.;:“”\"()]{3,90}?)\s*(?=[,.;:“”\"()]|$)")
_NOT_A_ROLE = re.compile(
    r"^(?:who|which|that|whose|when|where|while|and|but|or|as|if|said|says|told|added|noted)\b", re.I
)
_MAX_ROLE_WORDS = 14
_PRONOUN_SPEAKER = re.compile(r"\b(he|she)\s+(?:said|says|added|adds|noted|stressed|warned|argued|told)\b")


def _runs(sentence: str) -> list[re.Match[str]]:
    return list(_RUN.finditer(sentence))


def _single_words(sentence: str) -> list[str]:
    """Words standing alone in capitals (not part of a longer run of capitalised words),
    and not after "the": "the Post", "the U.S." are not people."""
    return [
        m.group(0).rstrip(".")
        for m in _runs(sentence)
        if " " not in m.group(0)
        and "-" not in m.group(0)
        and len(m.group(0).rstrip(".")) >= 3
        and not m.group(0).rstrip(".").isupper()  # an acronym ("APEC") is no one's name
        and not re.search(r"\bthe\s+$", sentence[: m.start()], re.I)
    ]


def _introduction(sentence: str, word: str) -> str | None:
    """The full name holding `word` in `sentence`, with the title before it and the
    appositive after it: "U.S. Treasury Secretary Scott Bessent", "Ana Costa, China
    director at the consultancy Lisbon Partners"."""
    for m in _runs(sentence):
        names = [re.sub(r"[’']s$|[.,]$", "", n) for n in m.group(0).split()]
        # A surname ends a name ("Ana Costa") or starts a short one that puts it first
        # ("Wang Wentao", "Han Shen Lin"), never the first of a long run ("U.S. President
        # Donald Trump" does not introduce "U.S").
        if len(names) < 2 or not (word in names[-2:] or (word == names[0] and len(names) <= 3)):
            continue
        who = _LEADING.sub("", m.group(0)).rstrip(".")
        role = _APPOSITIVE.match(sentence[m.end() :])
        if role and not _NOT_A_ROLE.match(role.group(1)) and len(role.group(1).split()) <= _MAX_ROLE_WORDS:
            return f"{who}, {role.group(1)}"
        # Without an appositive, only a title before the name says who they are.
        return who if len(who.split()) > 3 or (len(who.split()) == 3 and word != names[0]) else None
    return None


class Introduction(NamedTuple):
    who: str  # "Ana Costa, China director at the consultancy Lisbon Partners"
    sentence: int  # the index of the sentence that introduced them


def introductions(sentences: Sequence[str]) -> list[dict[str, Introduction]]:
    """For each sentence of one article, in the article's order: {word: who they are and
    where the article said so} for each person it names by one word, from the latest
    earlier sentence that named them in full, when the article names them rarely."""
    mentions = [set(re.findall(r"[A-Za-z][A-Za-z’'-]+", s)) for s in sentences]
    out: list[dict[str, Introduction]] = []
    for i, sentence in enumerate(sentences):
        found: dict[str, Introduction] = {}
        for word in dict.fromkeys(_single_words(sentence)):
            if _CALENDAR.match(word) or sum(word in m for m in mentions) > RARELY:
                continue
            for j in range(i - 1, -1, -1):
                who = _introduction(sentences[j], word)
                if who:
                    found[word] = Introduction(who, j)
                    break
        speaker = _PRONOUN_SPEAKER.search(sentence)
        if speaker and i > 0:
            # "…, he added": the one the sentence before introduced.
            people = [
                who
                for m in _runs(sentences[i - 1])
                if (who := _introduction(sentences[i - 1], m.group(0).split()[-1].rstrip(".,")))
            ]
            if people:
                found[speaker.group(1)] = Introduction(people[-1], i - 1)
        out.append(found)
    return out


def with_people(text: str, people: Mapping[str, str]) -> str:
    """`text` with each person's introduction after their first one-word mention."""
    for word, who in people.items():
        m = re.search(rf"\b{re.escape(word)}\b(?![ -][A-Z])", text)
        if m:
            text = f"{text[: m.end()]} ({who}){text[m.end() :]}"
    return text
