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
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from rag.text import CALENDAR_WORD

RARELY = 3
_WORD = r"[A-Z][A-Za-z’'.-]*[A-Za-z.]"
_RUN = re.compile(rf"{_WORD}(?:[ -]{_WORD})*")
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
    and not after "the": "the Gazette", "the U.K." are not people."""
    return [
        m.group(0).rstrip(".")
        for m in _runs(sentence)
        if " " not in m.group(0)
        and "-" not in m.group(0)
        and len(m.group(0).rstrip(".")) >= 3
        and not m.group(0).rstrip(".").isupper()  # an acronym ("LPA") is no one's name
        and not re.search(r"\bthe\s+$", sentence[: m.start()], re.I)
    ]


def _introduced_in(sentence: str) -> dict[str, str]:
    """{word: who} for each person `sentence` names in full, under each word a later
    sentence may call them by: the full name with the title before it and the appositive
    after it ("Port Authority Chief Executive Rui Lopes", "Ana Costa, China director at the
    consultancy Lisbon Partners")."""
    found: dict[str, str] = {}
    for m in _runs(sentence):
        names = [re.sub(r"[’']s$|[.,]$", "", n) for n in m.group(0).split()]
        if len(names) < 2:
            continue
        who = _LEADING.sub("", m.group(0)).rstrip(".")
        role = _APPOSITIVE.match(sentence[m.end() :])
        has_role = bool(
            role and not _NOT_A_ROLE.match(role.group(1)) and len(role.group(1).split()) <= _MAX_ROLE_WORDS
        )
        if role and has_role:
            who = f"{who}, {role.group(1)}"
        # A surname ends a name ("Ana Costa") or starts a short one that puts it first
        # ("Chen Lan", "Ho Mei Ling"), never the first of a long run ("Portuguese Prime
        # Minister Rui Lopes" does not introduce "Portuguese").
        words = dict.fromkeys([*names[-2:], *(names[:1] if len(names) <= 3 else [])])
        for word in words:
            # Without an appositive, only a title before the name says who they are.
            titled = len(who.split()) > 3 or (len(who.split()) == 3 and word != names[0])
            if (has_role or titled) and word not in found:
                found[word] = who
    return found


class Introduction(NamedTuple):
    who: str  # "Ana Costa, China director at the consultancy Lisbon Partners"
    sentence: int  # the index of the sentence that introduced them


def introductions(sentences: Sequence[str]) -> list[dict[str, Introduction]]:
    """For each sentence of one article, in the article's order: {word: who they are and
    where the article said so} for each person it names by one word, from the latest
    earlier sentence that named them in full, when the article names them rarely."""
    introduced = [_introduced_in(s) for s in sentences]
    named_in = Counter(w for s in sentences for w in set(re.findall(r"[A-Za-z][A-Za-z’'-]+", s)))
    out: list[dict[str, Introduction]] = []
    for i, sentence in enumerate(sentences):
        found: dict[str, Introduction] = {}
        for word in dict.fromkeys(_single_words(sentence)):
            if CALENDAR_WORD.match(word) or named_in[word] > RARELY:
                continue
            j = next((j for j in range(i - 1, -1, -1) if word in introduced[j]), None)
            if j is not None:
                found[word] = Introduction(introduced[j][word], j)
        speaker = _PRONOUN_SPEAKER.search(sentence)
        if speaker and i > 0 and introduced[i - 1]:
            # "…, she added": the last one the sentence before introduced.
            found[speaker.group(1)] = Introduction(list(introduced[i - 1].values())[-1], i - 1)
        out.append(found)
    return out


def with_people(text: str, people: Mapping[str, str]) -> str:
    """`text` with each person's introduction after their first one-word mention."""
    for word, who in people.items():
        m = re.search(rf"\b{re.escape(word)}\b(?![ -][A-Z])", text)
        if m:
            text = f"{text[: m.end()]} ({who}){text[m.end() :]}"
    return text
