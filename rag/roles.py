"""Who holds which office, as the sources say: the check that an answer names the right
person for a role.

Readers ask by role ("Who is Portugal's foreign minister?"), and when the sources never
name the holder, the small model answers with whoever holds a nearby office: "Portugal's
foreign minister is Ana Costa [1]" when the source says "Portugal's prime minister, Ana
Costa". Every word of that sentence is in the sources or the question, so word overlap and
embedding similarity both call it supported. What is wrong is the binding of name to
office, and that is checkable: the sources bind each person to an office and a country in
a few fixed shapes ("Spanish Foreign Minister Rui Lopes", "Rui Lopes, Spain's foreign
minister", "Spain's foreign minister is Rui Lopes"), and so does the answer.

A claim misattributes when it binds a person to a post (an office held one at a time:
prime minister, foreign minister, ambassador …) that none of the sources' posts for that
person fits, or to a country none of their bindings gives. Posts fit by their head
("minister" fits "foreign minister"; "foreign minister" does not fit "prime minister").
Roles held beside a post (spokesperson, negotiator, adviser, director) are never judged:
"the vice premier, also the top negotiator" is one person. A person the sources never bind
is not judged either: only a contradiction counts, never an absence.

The verifier drops the whole answer on a misattribution (the model named the wrong
person, so the rest of what it said about them is suspect), and the policy abstains rather
than quote. A question that itself gives someone the wrong post or country is a false
premise, corrected with the sources' own words for them (`role_correction`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.types import Conflict, Passage

# Offices, most specific first; each maps to the office it names. Generic news vocabulary,
# not any one story's. One office under different countries' titles is one office: a
# reader calls a treasury secretary the finance minister, a secretary of state the
# foreign minister.
_OFFICES: dict[str, str] = {
    r"prime minister": "prime minister",
    r"foreign minister": "foreign minister",
    r"(?:foreign )?secretary of state": "foreign minister",
    r"(?:commerce|trade) (?:minister|secretary)|secretary of commerce": "commerce minister",
    r"finance minister|treasury secretary|secretary of the treasury|chancellor of the exchequer": (
        "finance minister"
    ),
    r"defen[cs]e (?:minister|secretary)|secretary of defen[cs]e": "defence minister",
    r"interior minister|home secretary": "interior minister",
    r"minister|cabinet (?:member|secretary|official)": "minister",
    r"(?:foreign ministry |government |official )?spokes(?:person|man|woman)": "spokesperson",
    r"press secretary": "spokesperson",
    r"vice[- ]premier": "vice premier",
    r"premier": "prime minister",
    r"vice[- ]president": "vice president",
    r"president": "president",
    r"ambassador": "ambassador",
    r"chancellor": "chancellor",
    r"(?:chief executive|ceo)": "chief executive",
    r"(?:managing )?director": "director",
    r"analyst": "analyst",
    r"(?:national |presidential )?(?:security )?advis[eo]r": "adviser",
    r"(?:chief |top |lead )?(?:trade )?negotiator": "negotiator",
    r"governor": "governor",
    r"mayor": "mayor",
    r"senator": "senator",
}
# Countries by their names and adjectives (a possessive "Spain's" is the name).
_COUNTRIES: dict[str, tuple[str, ...]] = {
    "us": ("united states", "u.s.", "us", "america", "american"),
    "uk": ("united kingdom", "uk", "u.k.", "britain", "british"),
    "china": ("china", "chinese"),
    "korea": ("south korea", "south korean", "korea", "korean"),
    "north korea": ("north korea", "north korean"),
    "japan": ("japan", "japanese"),
    "taiwan": ("taiwan", "taiwanese"),
    "india": ("india", "indian"),
    "russia": ("russia", "russian"),
    "ukraine": ("ukraine", "ukrainian"),
    "france": ("france", "french"),
    "germany": ("germany", "german"),
    "italy": ("italy", "italian"),
    "spain": ("spain", "spanish"),
    "portugal": ("portugal", "portuguese"),
    "canada": ("canada", "canadian"),
    "mexico": ("mexico", "mexican"),
    "brazil": ("brazil", "brazilian"),
    "australia": ("australia", "australian"),
    "malaysia": ("malaysia", "malaysian"),
    "singapore": ("singapore", "singaporean"),
    "indonesia": ("indonesia", "indonesian"),
    "vietnam": ("vietnam", "vietnamese"),
    "thailand": ("thailand", "thai"),
    "philippines": ("philippines", "philippine", "filipino"),
    "israel": ("israel", "israeli"),
    "iran": ("iran", "iranian"),
    "turkey": ("turkey", "turkish"),
    "saudi arabia": ("saudi arabia", "saudi"),
    "egypt": ("egypt", "egyptian"),
    "south africa": ("south africa", "south african"),
    "nigeria": ("nigeria", "nigerian"),
    "poland": ("poland", "polish"),
    "netherlands": ("netherlands", "dutch"),
}
# Offices one person holds one at a time in one country: a claim giving someone one of
# these when the sources give them another is wrong. A role (spokesperson, negotiator,
# adviser, director) sits beside an office ("the vice premier, also the top negotiator"),
# so a claimed role is never judged by the office the sources give, and vice versa.
_POSTS = frozenset(
    {
        "prime minister", "foreign minister", "commerce minister", "finance minister", "defence minister",
        "interior minister", "vice premier", "vice president", "president", "ambassador", "chancellor",
        "chief executive", "governor", "mayor", "senator",
    }
)
_COUNTRY_OF = {alias: key for key, aliases in _COUNTRIES.items() for alias in aliases}
# Posts nobody calls a minister (`_fits`).
_NOT_MINISTERS = frozenset(
    {"president", "vice president", "ambassador", "governor", "mayor", "senator", "chief executive"}
)


# A capital stands for its country's government in news writing ("Lisbon's invitation",
# "talks between Madrid and Lisbon"). Only `country_key` reads them, when asked to: a
# capital is no country in an office's binding ("the Lisbon director" works in the city),
# nor is a sentence that names the city about the country's government.
_CAPITALS = {
    "washington": "us", "london": "uk", "beijing": "china", "seoul": "korea", "pyongyang": "north korea",
    "tokyo": "japan", "taipei": "taiwan", "delhi": "india", "moscow": "russia", "kyiv": "ukraine",
    "paris": "france", "berlin": "germany", "rome": "italy", "madrid": "spain", "lisbon": "portugal",
    "ottawa": "canada", "brasilia": "brazil", "canberra": "australia", "jakarta": "indonesia",
    "hanoi": "vietnam", "bangkok": "thailand", "manila": "philippines", "tehran": "iran", "ankara": "turkey",
    "riyadh": "saudi arabia", "cairo": "egypt", "warsaw": "poland", "amsterdam": "netherlands",
}


def country_key(word: str, *, capitals: bool = False) -> str | None:
    """One key for a country however a text names it ("spain", "spanish", "Spain's" →
    "spain"; with `capitals` "Madrid" too), or None for a word that names no country."""
    word = re.sub(r"[’']s$", "", word.lower())
    return _COUNTRY_OF.get(word) or (_CAPITALS.get(word) if capitals else None)


_COUNTRY = "|".join(sorted((re.escape(a) for a in _COUNTRY_OF), key=len, reverse=True))
_OFFICE = "|".join(f"(?:{p})" for p in _OFFICES)
# A person: one to three capitalised words ("Rui Lopes", "Ana Costa-Silva", "Lopes").
_NAME = r"(?P<name>[A-Z][a-z]+(?:[-'][A-Za-z]+)?(?:\s+[A-Z][a-z]+(?:[-'][A-Za-z]+)?){0,2})"
# Words allowed between a country and its office: "Spain's new", "the Spanish".
_BETWEEN = r"(?:(?:['’]s)?\s+(?i:(?:new|former|top|current|then|acting|deputy|senior|foreign ministry)\s+)?)"
_COUNTRY_PART = rf"(?P<country>(?i:{_COUNTRY})){_BETWEEN}"
_OFFICE_PART = rf"(?P<office>(?i:{_OFFICE}))\b"
_DESCRIPTOR = rf"(?:{_COUNTRY_PART})?{_OFFICE_PART}"  # "Spanish Foreign Minister", "Minister"
_COUNTRY_DESCRIPTOR = _COUNTRY_PART + _OFFICE_PART  # the country required
_SHAPES = [
    # "Spanish Foreign Minister Rui Lopes"; with a comma only after a country ("Spain's
    # foreign minister, Rui Lopes"): "according to the analyst, Lopes said" binds nothing.
    re.compile(rf"\b{_DESCRIPTOR}\s+{_NAME}\b"),
    re.compile(rf"\b{_COUNTRY_DESCRIPTOR},\s+{_NAME}\b"),
    # "Rui Lopes, Spain's foreign minister", "Rui Lopes is the Spanish foreign minister"
    re.compile(rf"\b{_NAME}(?:,\s+|\s+(?:is|was)\s+)(?:(?:the|a)\s+)?{_DESCRIPTOR}"),
    # "Rui Lopes, the spokesperson for Spain's foreign ministry", "Rui Lopes, minister of Spain"
    re.compile(
        rf"\b{_NAME},\s+(?:(?:the|a)\s+)?{_OFFICE_PART}\s+(?:for|of)\s+(?:the\s+)?"
        rf"(?P<country>(?i:{_COUNTRY}))(?:['’]s)?\b"
    ),
    # "Spain's foreign minister is Rui Lopes", "the foreign minister of Spain is Rui Lopes"
    re.compile(rf"\b{_DESCRIPTOR}(?:\s+(?:of|to|in|for)\s+[\w.]+)?\s+(?:is|was)\s+{_NAME}\b"),
]
# Capitalised words that open a sentence or a phrase, not a name ("In Lisbon, Mayor …").
_NOT_A_NAME = frozenset(
    "the a an in on at after before but and when while earlier later meanwhile speaking according as "
    "for with from by this that his her its their monday tuesday wednesday thursday friday saturday sunday "
    "january february march april may june july august september october november december".split()
)
_PRONOUNS = frozenset({"he", "she", "it", "they", "who", "we", "i", "you"})
# A word that makes what follows its object ("meeting", "met", "with"; a word such as
# "Madrid's" may come between): "the minister meeting Spain's premier is Rui Lopes" does
# not make Rui Lopes the premier.
_OBJECT_OF = re.compile(
    r"\b(?:\w+ing|\w+ed|met|saw|told|with|to|by|from|against|than|and)\s+(?:(?:the|a)\s+)?(?:[\w’'-]+\s+)?$",
    re.I,
)


def _office(text: str) -> str:
    for pattern, office in _OFFICES.items():
        if re.fullmatch(pattern, text.strip(), re.I):
            return office
    return text.lower()


Person = tuple[str, ...]


@dataclass(frozen=True)
class Binding:
    person: Person  # the name's words, lower case
    office: str
    country: str | None  # a key of `_COUNTRIES`
    said: str  # the words that bind them ("Spain's foreign minister, Rui Lopes")
    country_said: str | None  # the country as written ("Spanish")
    office_said: str


def _bindings(text: str, *, strict: bool = False) -> Iterator[Binding]:
    """`strict` (a reader's question, the model's answer): an office right before a name
    binds only as a title, capitalised. "the Portuguese premier Rui Lopes is going to see" is
    a relative clause, and reading it as a title would make Rui Lopes the premier; news prose
    ("foreign ministry spokesperson Rui Lopes") is read as written."""
    for i, shape in enumerate(_SHAPES):
        for m in shape.finditer(text):
            if strict and i == 0 and not m.group("office")[0].isupper():
                continue
            if strict and i == len(_SHAPES) - 1 and _OBJECT_OF.search(text[: m.start()]):
                # "The minister meeting Spain's premier is Rui Lopes": the premier is
                # the object of "meeting"; what "is Rui Lopes" binds opens the clause.
                continue
            words = m.group("name").split()
            while len(words) > 1 and re.fullmatch(_OFFICE, words[0], re.I):
                words = words[1:]  # "President Lopes": the title is no part of the name
            if words[0].lower() in _NOT_A_NAME or (len(words) == 1 and words[0].lower() in _PRONOUNS):
                continue
            if words[-1].lower() in _COUNTRY_OF or re.fullmatch(_OFFICE, words[-1], re.I):
                continue
            country = m.group("country")
            if country == "us":  # "told us president …" is the pronoun
                country = None
            yield Binding(
                person=tuple(w.lower() for w in words),
                office=_office(m.group("office")),
                country=_COUNTRY_OF[country.lower()] if country else None,
                said=m.group(0),
                country_said=country,
                office_said=m.group("office"),
            )


@lru_cache(maxsize=256)
def _read_source(text: str) -> tuple[Binding, ...]:
    """A source's bindings, read once: every claim of every answer checks against the
    same passages and articles (a whole article takes tens of milliseconds to read)."""
    return tuple(_bindings(text))


def _fits(claimed: str, stated: set[str]) -> bool:
    """An office fits when one names the other's head: "minister" and "foreign minister". A
    bare "minister" (a cabinet member) is one of any portfolio, which a reader also calls a
    vice premier or a treasury secretary, but never a president, an envoy or a mayor."""
    if claimed == "minister":
        return not stated <= _NOT_MINISTERS
    return any(s == claimed or s.endswith(f" {claimed}") or claimed.endswith(f" {s}") for s in stated)


def _same_person(a: Person, b: Person) -> bool:
    return bool(set(a) & set(b))


@dataclass(frozen=True)
class Misattribution:
    claimed: Binding  # how the claim binds the person
    wrong: str  # the office or country the sources never give them, as the claim wrote it
    stated: list[str]  # what the sources give them instead (`_OFFICES` or `_COUNTRIES` keys)
    said: list[str]  # the same in the sources' words ("Treasury Secretary" for "finance minister")

    def __str__(self) -> str:
        who = " ".join(self.claimed.person)
        return f"{who}: {self.wrong}, where the sources say {', '.join(self.said)}"


def misattribution(claim: str, sources: Iterable[str]) -> Misattribution | None:
    """How the claim binds someone to an office or country the sources never give them,
    or None. A name is read as every person of the sources who shares a word of it
    ("Minister Lopes" may be Rui Lopes or Ana Lopes): the claim is wrong only if it fits
    none of them."""
    claimed = list(_bindings(claim, strict=True))
    if not claimed:
        return None
    stated = [b for text in sources for b in _read_source(text)]
    return next((wrong for b in claimed if (wrong := _misattributed(b, stated))), None)


def _misattributed(b: Binding, stated: Sequence[Binding]) -> Misattribution | None:
    """How `b` gives its person a post or country none of the sources' bindings of them
    fits, or None."""
    same = [s for s in stated if _same_person(s.person, b.person)]
    posts = {s.office for s in same} & _POSTS
    if (b.office in _POSTS or b.office == "minister") and posts and not _fits(b.office, posts):
        said = sorted({s.office_said.lower() for s in same if s.office in posts})
        return Misattribution(b, b.office_said, sorted(posts), said)
    countries = {s.country for s in same if s.country}
    if b.country and countries and b.country not in countries:
        said = sorted({(s.country_said or s.country or "").lower() for s in same if s.country})
        return Misattribution(b, b.country_said or b.country, sorted(countries), said)
    return None


# "Which ministers …?", "What Spanish ambassador …?": the question asks for the holder of
# an office, and the answer's first person is who it offers.
_ASKED_HOLDER = re.compile(
    rf"\b(?:which|what)\s+(?:(?P<country>{_COUNTRY})\s+)?(?P<office>{_OFFICE})(?:s|es)?\b", re.I
)
_PERSON = re.compile(_NAME)


def holder_misattribution(question: str, answer: str, sources: Iterable[str]) -> Misattribution | None:
    """ "Which ministers travel with the premier?" answered "Portuguese President Ana Costa
    …": the answer offers someone whose post or country in the sources is not the one asked
    for. Only the first person of the answer the sources bind is judged (the one it offers;
    others may be named beside them), by the same rule as a claim's own binding."""
    asked = _ASKED_HOLDER.search(question)
    if asked is None:
        return None
    stated = [b for text in sources for b in _read_source(text)]
    in_question = {re.sub(r"[’']s$", "", w).lower() for n in _PERSON.findall(question) for w in n.split()}
    for m in _PERSON.finditer(answer):
        words = tuple(w.lower() for w in m.group(0).split() if not re.fullmatch(_OFFICE, w, re.I))
        if not words or words[0] in _NOT_A_NAME or words[-1] in _COUNTRY_OF:
            continue
        if set(words) & in_question:
            continue  # "Which minister did Ana Costa meet?": she is who met, not who was met
        if not any(_same_person(s.person, words) for s in stated):
            continue
        country = asked.group("country")
        offered = Binding(
            person=words,
            office=_office(asked.group("office")),
            country=_COUNTRY_OF[country.lower()] if country and country != "us" else None,  # not the pronoun
            said=asked.group(0),
            country_said=country,
            office_said=asked.group("office"),
        )
        return _misattributed(offered, stated)
    return None


def role_correction(question: str, passages: Sequence[Passage]) -> Conflict | None:
    """The correction for a question that gives someone the wrong office or country
    ("What did Spanish minister Ana Costa say?" when the sources make her Portuguese):
    the sources' own words for them, cited, as a false premise's correction."""
    wrong = misattribution(question, [p.text for p in passages])
    if wrong is None:
        return None
    citing = [
        (p, s)
        for p in passages
        for s in _read_source(p.text)
        if _same_person(s.person, wrong.claimed.person)
        and (s.office in wrong.stated or s.country in wrong.stated)
    ]
    if not citing:
        return None
    return Conflict(
        description=f"Correction: {citing[0][1].said}, not {wrong.wrong}",
        values=[wrong.wrong, citing[0][1].said],
        citations=[citing[0][0].n],
    )
