"""Who said a quotation: an answer may quote the sources only in the mouth they quote.

The small model lifts a quotation from one sentence and gives it to someone else the
prompt names ("Ana Costa said she hopes to 'come out very well'", where the source reads
"'We will come out very well,' Rui Lopes said"). Every word of the quotation is in the
sources, so word overlap and the embedding both call the claim supported. This module reads
who says the quotation in the answer sentence and in the source sentence holding it, and
calls the claim misquoted only when both name a speaker and the names share no word.
Pronouns and roles ("she said", "the minister said") name no one and are never judged.

A question asking what a named person said ("What did Ana Costa say about the fair?") is
answered only from sentences where that person speaks: "Rui Lopes praised his talks with
Costa, saying …" is Lopes speaking, and an answer built on it puts his words in her mouth.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.chunking import split_sentences
from rag.text import name_key

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
    found = {name_key(w) for w in re.split(r"[ -]", names or "")}
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


# "What did Ana Costa say / tell / think …?", "What has Costa herself said …?"
_ASKS_SPEECH = re.compile(
    rf"\b(?i:what)\s+(?i:did|does|has|have|had)\s+(?P<who>{_NAMES})"
    r"(?:\s+(?i:himself|herself|themselves|personally|actually))?"
    r"\s+(?i:say|said|tell|told|think|write|post|declare|state|call|describe|predict|warn|expect|hope)\b"
)
# A speech verb, or a participle that reports speech ("…, saying …", "touting …").
_SPEAKING = re.compile(rf"\b(?:{_SPEECH}|saying|touting|expressed|voiced|called|described)\b", re.I)
# A name after one of these is the object of a clause, not who speaks ("talks with Xi").
_OBJECT_BEFORE = re.compile(
    r"(?:with|to|for|of|and|from|by|about|on|at|against|meet|meets|met|meeting|his|her|their|told)\W*", re.I
)
_PRONOUN_SPEAKS = re.compile(rf"\b(?:he|she|they)\s+(?:has\s+|had\s+|also\s+)?{_SPEECH}\b", re.I)


def asked_speaker(question: str) -> set[str]:
    """The words of the name a "What did X say …?" question asks about ({"ana", "costa"})."""
    m = _ASKS_SPEECH.search(question)
    return _words(m.group("who")) if m else set()


# Verbs a speaker's name may follow ("…, said Ana Costa"); not "told", whose object follows.
_SAID_BY = r"(?:said|says|added|adds|noted|wrote|warned|stressed|argued|asked|remarked|explained|insisted)"


def _speaks_in(who: set[str], sentence: str) -> bool:
    """`speaks` within one sentence: a name and a speech verb after it belong together
    only inside a sentence."""
    verbs = [m.start() for m in _SPEAKING.finditer(sentence)]
    if not verbs:
        return False
    for word in who:
        for m in re.finditer(rf"\b{re.escape(word)}\b", sentence, re.I):
            # The word before the whole name ("with Ana Costa"), not before its last part.
            before = re.sub(rf"(?:{_NAME}[ -])*$", "", sentence[: m.start()]).split()[-1:]
            if before and _OBJECT_BEFORE.fullmatch(before[0]):
                continue
            if any(at > m.start() for at in verbs):
                return True
        if re.search(rf"\b{_SAID_BY}\s+(?:[A-Z][\w’'-]+\s+){{0,3}}{re.escape(word)}\b", sentence, re.I):
            return True
    return False


def speaks(who: set[str], text: str) -> bool:
    """Whether someone of `who` says something in `text`: named before a verb of speech
    and not the object of a clause ("Costa said", "Costa, the mayor, warned", "Costa has
    softened her tone, saying"), named right after one ("said Ana Costa"), or a speaking
    "she"/"he" in a text that names them."""
    if any(_speaks_in(who, sentence) for sentence in split_sentences(text)):
        return True
    named = any(re.search(rf"\b{re.escape(w)}\b", text, re.I) for w in who)
    return named and _PRONOUN_SPEAKS.search(text) is not None
