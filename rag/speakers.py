"""Who said a quotation: an answer may quote the sources only in the mouth they quote.

The small model lifts a quotation from one sentence and gives it to someone else the
prompt names ("Ana Costa said she hopes to 'come out very well'", where the source reads
"'We will come out very well,' Rui Lopes said"). Every word of the quotation is in the
sources, so word overlap and the embedding both call the claim supported. This module reads
who says the quotation in the answer sentence and in the source sentence holding it, and
calls the claim misquoted only when both name a speaker and the names share no word.
Pronouns and roles ("she said", "the minister said") name no one and are never judged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SPEECH = (
    r"(?:said|says|told|tells|added|adds|noted|notes|stressed|warned|argued|wrote|writes|posted|"
    r"declared|stated|insisted|remarked|explained|asked)"
)
# What an answer says its speaker did with the words: speech, or a view put in quotes.
_CLAIMED = rf"(?:{_SPEECH}|hopes?|hoped|believes?|believed|thinks?|thought|called|calls|described|describes)"
_NAME = r"[A-Z][A-Za-z’'.-]*[A-Za-z]"
_NAMES = rf"{_NAME}(?:[ -]{_NAME})*"
_QUOTED = re.compile(r"[\"“]([^\"“”]+)[\"”]")
# The answer's speaker: the name opening the clause that says or thinks the words ("Ana
# Costa, the mayor, said …", "Costa believes …").
_CLAIM_SPEAKER = re.compile(rf"(?:^|[.;]\s+)(?P<who>{_NAMES})(?:,\s+[^,]{{3,80}},)?\s+{_CLAIMED}\b")
# The source's speaker, next to the quotation: "'…,' Rui Lopes said", "'…,' said Rui Lopes",
# "Rui Lopes said: '…'", "Rui Lopes told reporters that '…'".
_AFTER = re.compile(
    rf"^[,.!?]?\s*[\"”]?\s*,?\s*(?:(?P<who>{_NAMES})\s+{_SPEECH}\b|{_SPEECH}\s+(?P<who2>{_NAMES}))"
)
_BEFORE = re.compile(rf"(?P<who>{_NAMES})\s+{_SPEECH}\b[^\"“”]{{0,40}}?[:,]?\s*[\"“]?$")
# Capitalised words that are not anyone's name.
_NOT_NAMES = frozenset(
    "the a an and but in on at by for with from this that it he she they we i you mr mrs ms dr "
    "monday tuesday wednesday thursday friday saturday sunday earlier later".split()
)


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("’", "'")))


def _words(names: str | None) -> set[str]:
    found = {re.sub(r"[’']s$|\.$", "", w.lower()) for w in re.split(r"[ -]", names or "")}
    return {w for w in found if w and w not in _NOT_NAMES}


def _source_speaker(sentence: str, at: int, end: int) -> set[str]:
    """The name the sentence gives whoever says the words between `at` and `end`."""
    after = _AFTER.match(sentence[end:])
    if after:
        return _words(after.group("who") or after.group("who2"))
    before = _BEFORE.search(sentence[:at])
    return _words(before.group("who")) if before else set()


def misquoted(claim: str, sentences: Iterable[str]) -> bool:
    """Whether the claim gives a quotation of three words or more to a named speaker, and
    every source sentence holding those words names someone else as saying them."""
    speaker = _CLAIM_SPEAKER.search(claim)
    claimed = _words(speaker.group("who")) if speaker else set()
    if not claimed:
        return False
    sources = list(sentences)
    for quote in _QUOTED.findall(claim):
        wanted = _plain(quote)
        if len(wanted.split()) < 3:
            continue
        said_by: list[set[str]] = []
        for sentence in sources:
            for m in _QUOTED.finditer(sentence):
                if wanted in _plain(m.group(1)):
                    said_by.append(_source_speaker(sentence, m.start(), m.end()))
        if said_by and all(who and not who & claimed for who in said_by):
            return True
    return False
