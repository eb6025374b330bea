"""Questions that take for granted an event the sources never report, or date one otherwise.

"Why did Ana Costa cancel her visit to Lisbon?" presupposes a cancellation. When no
source reports one and a source says what did happen ("Ana Costa will visit Lisbon on
Friday"), the honest answer is a correction: "Ana Costa did not cancel her visit to Lisbon,
as far as the articles report: Ana Costa will visit Lisbon on Friday [1]." The small model
cannot give it: asked why something happened, it looks for a reason, finds none and says
"I don't know", which reads as if the articles were silent on the visit.

Only one kind of presupposed event is checked, because it is the kind a reader gets wrong
most often and the one a text shows plainly: an event that undoes or refuses something
(refuse, cancel, skip, deny, turn down, postpone …), read from the question's own shape:
"why/when did SUBJECT VERB …" takes it for granted, "Did SUBJECT VERB …?" and "Is it true
that SUBJECT was VERBed?" ask whether it happened (the answer then starts "No, …"). The
correction is made only when both hold:

- no sentence of the articles in context uses a verb of that kind, or a restraint next to
  what was asked ("restrictions on exports" for "halt exports"), about what the question is
  about: a source saying "she hinted at calling off the visit" may be what the question
  means, and the model then answers from it;
- a sentence in the passages is about the same things: it shares a word with the subject
  and one with the rest of the question, names every name the question names, states no
  negation of its own and answers the question well (`EVIDENCE_MIN_SCORE`). That sentence is
  quoted as what the sources say instead.

A question about something the sources don't cover ("Why did Ana Costa cancel her trip to
Madrid?" when no sentence names both her and Madrid) finds no such sentence and is left to
the model, which abstains.

The same holds for a question that puts an event on a weekday or in a month no source gives
it ("What did Ana Costa say after landing on Saturday?" when she lands on Sunday):
`date_premise` answers "Correction: Sunday (Jun 8, 2025), not Saturday." from the sentence
dating that event. The small model, finding no Saturday, says it doesn't know.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from rag.chunking import sentence_spans
from rag.conflicts import topics_of, words_around
from rag.dates import dates_written, format_day, months_named, weekdays_named
from rag.roles import country_key
from rag.text import (
    ANAPHORA,
    asks_reason,
    content_terms,
    name_among,
    name_key,
    names_in,
    numbers_in,
    without_dateline,
    words_in,
)
from rag.types import Conflict, Passage

# Verbs for an event that undoes, refuses or stays away from something, in every form a
# question or an article writes them. Generic English, not any one story's. Denying is
# kept apart: "she denied the report" says nothing about "she skipped the visit", while
# "cancelled" and "called off" may be the same event told two ways.
_UNDOING = (
    r"refus(?:e|es|ed|ing)|declin(?:e|es|ed|ing)|reject(?:s|ed|ing)?|rebuff(?:s|ed|ing)?"
    r"|cancel(?:s|led|ed|ling|ing|lation)?|call(?:s|ed|ing)?\s+off|scrap(?:s|ped|ping)?"
    r"|skip(?:s|ped|ping)?|boycott(?:s|ed|ing)?|snub(?:s|bed|bing)?"
    r"|turn(?:s|ed|ing)?\s+down|pull(?:s|ed|ing)?\s+out"
    r"|withdr(?:aw|aws|ew|awn|awing|awal)|postpon(?:e|es|ed|ing|ement)|delay(?:s|ed|ing)?"
    r"|abandon(?:s|ed|ing)?|back(?:s|ed|ing)?\s+out|walk(?:s|ed|ing)?\s+out"
    r"|drop(?:s|ped|ping)?\s+out|stay(?:s|ed|ing)?\s+away|veto(?:es|ed|ing)?|block(?:s|ed|ing)?"
    r"|halt(?:s|ed|ing)?|suspend(?:s|ed|ing)?|break(?:s|ing)?\s+off|broke\s+off|miss(?:es|ed|ing)?"
)
_DENYING = r"den(?:y|ies|ied|ying|ial)|dismiss(?:es|ed|ing)?|rul(?:e|es|ed|ing)\s+out|reject(?:s|ed|ing)?"
# Restraint a source may report an undoing as ("expanded its restrictions on exports" for
# "Why did Lisbon halt exports?"): never a question's verb, but a sentence using one about the
# same things may be the event asked about, so it blocks a correction like an undoing does.
# Words that are nouns as often ("a stop in Porto", "at the end of the trip", "limits on
# arms") are left out: they would block corrections about anything near them.
_RESTRAINING = (
    r"restrict(?:s|ed|ing|ions?)?|curb(?:s|ed|ing)?|ban(?:s|ned|ning)?|freez(?:e|es|ing)|froze(?:n)?"
)
_KINDS = [re.compile(rf"\b(?:{kind})\b", re.I) for kind in (_UNDOING, _DENYING)]
_RESTRAINT = re.compile(rf"\b(?:{_RESTRAINING})\b", re.I)
_AUX = r"(?P<aux>did|does|do|is|are|was|were|has|have|had)"
_CLAUSE = rf"(?P<subject>[^?]+?)\s+(?P<verb>{_UNDOING}|{_DENYING})\b(?P<rest>[^?]*?)[?.!]*\s*$"
# "Why/when did SUBJECT VERB …" takes the undoing for granted; "Did/was SUBJECT VERB …"
# and "Is it true that SUBJECT was VERB …" ask whether it happened.
_PRESUPPOSED = re.compile(rf"^\W*(?:and\s+|so\s+|but\s+)?(?:why|when|where|how)\s+{_AUX}\s+{_CLAUSE}", re.I)
_IS_IT_TRUE = r"^\W*(?:and\s+|so\s+|but\s+)?(?:is|was)\s+it\s+(?:true|the\s+case|right)\s+(?:that\s+)?"
_TRUE_THAT = re.compile(
    rf"{_IS_IT_TRUE}(?P<subject>[^?]+?)\s+{_AUX}\s+(?P<verb>{_UNDOING}|{_DENYING})\b(?P<rest>[^?]*?)[?.!]*\s*$",
    re.I,
)
_TRUE_THAT_PAST = re.compile(rf"{_IS_IT_TRUE}{_CLAUSE}", re.I)  # "… that Ana cancelled the visit?"
_YES_NO = re.compile(rf"^\W*(?:and\s+|so\s+|but\s+)?(?!(?:is|was)\s+it\s){_AUX}\s+{_CLAUSE}", re.I)
# The evidence sentence must answer the question this well (the context stage's sentence
# score: similarity, shared words, cue). On the dev questions that presuppose an undoing the
# sentences quoted scored 0.68-0.82; a sentence sharing only a name and the object ("soybeans
# among the topics" for "Did Portugal refuse to buy soybeans?") scored 0.54.
EVIDENCE_MIN_SCORE = 0.6
# A subject holding one of these is a clause ("Ana say the visit was"), not who did it.
_CLAUSE_WORD = re.compile(
    r"\b(?:did|does|do|is|are|was|were|has|have|had|will|would|could|should|can|might|must|"
    r"say|said|says|think|thinks|believe|claim|claims|report|reports|reported)\b",
    re.I,
)
_NEGATION = re.compile(r"\b(?:not|never|no|none|nor)\b|n[’']t\b", re.I)


# Words the stopword list keeps that say nothing about what a sentence is about: "his stop
# in Porto" shares "his" with every sentence about any man.
_FUNCTION_WORDS = frozenset(
    "he him his she her hers they them their theirs it its we us our you your this these those "
    "would could should might must can will shall also".split()
)


def _all_names(text: str) -> set[str]:
    """Every capitalised word of a text as `names_in` keys it, the first one too."""
    return names_in(f"X {text}")


def _countries(text: str, *, capitals: bool = False) -> set[str]:
    return {k for name in _all_names(text) if (k := country_key(name, capitals=capitals))}


def _keys(text: str) -> set[str]:
    """What a text is about: its stemmed content words, and each country it names by one
    key ("China's" and "Chinese" both "china")."""
    return (set(content_terms(text)) - _FUNCTION_WORDS) | _countries(text)


def names_every(text: str, sentence: str) -> bool:
    """Whether `sentence` names every name in `text`, a country by its name, adjective or
    capital ("Lisbon's invitation" is named by "Portugal's prime minister")."""
    words = words_in(sentence)
    countries = _countries(sentence, capitals=True)
    for name in _all_names(text):
        country = country_key(name, capitals=True)
        if not (name_among(name, words) or (country and country in countries)):
            return False
    return True


_WORD = re.compile(r"[A-Za-z][A-Za-z’'-]*")


def _with_antecedents(text: str) -> list[tuple[str, str]]:
    """Each sentence of a text, with what to read it as: a sentence leaning on the one
    before ("He even hinted at calling it off") is read with it, which says who "he" is."""
    sentences = [text[start:end] for start, end in sentence_spans(text)]
    return [(s, f"{sentences[i - 1]} {s}" if i and ANAPHORA.match(s) else s) for i, s in enumerate(sentences)]


def _restrains(sentence: str, keys: set[str], window: int = 4) -> bool:
    """Whether the sentence restrains what the question is about: a restraint word within
    `window` words of one of its words ("restrictions on exports of rare earths" for
    "halt rare earth exports"), not anywhere in it ("tech curbs" in a sentence that also
    names the meeting)."""
    words = _WORD.findall(sentence)
    at = [i for i, w in enumerate(words) if _RESTRAINT.fullmatch(w)]
    return any(set(content_terms(v)) & keys for i in at for v in words[max(0, i - window) : i + window + 1])


def _rival_name(asked: str, sentence: str) -> bool:
    """Whether the sentence puts another name where the question has one, before a word
    both share: "the Porto summit" for "the Lisbon summit"."""

    def named_before(text: str) -> dict[str, str]:
        words = _WORD.findall(text)
        return {
            content_terms(w)[0]: name_key(words[i - 1])
            for i, w in enumerate(words)
            if i and words[i - 1][:1].isupper() and content_terms(w)
        }

    theirs = named_before(sentence)
    return any(word in theirs and theirs[word] != name for word, name in named_before(asked).items())


def event_premise(
    question: str, passages: Sequence[Passage], article_texts: Mapping[str, str] | None = None
) -> Conflict | None:
    """The correction for a question that presupposes an undoing event no source reports,
    or None. The conflict's first value is the question's verb, so that the verifier drops
    draft sentences repeating it."""
    question = question.strip()
    asked = _PRESUPPOSED.match(question)
    whether = asked is None  # asked whether it happened, not why
    asked = asked or _TRUE_THAT.match(question) or _YES_NO.match(question)
    reported = asked is None  # "Is it true that Ana cancelled …": no auxiliary to negate
    asked = asked or _TRUE_THAT_PAST.match(question)
    if asked is None:
        return None
    subject, rest, verb = asked["subject"].strip(), asked["rest"].strip(), asked["verb"]
    passive = re.search(r"\s+(been|being|be)$", subject)
    if passive:  # "Why has the summit been postponed?"
        subject, verb = subject[: passive.start()], f"{passive[1]} {verb}"
    if _CLAUSE_WORD.search(subject):
        return None  # "Why did Ana say the visit was cancelled?" asks about what she said
    subject_keys, rest_keys = _keys(subject), _keys(rest)
    if not subject_keys | rest_keys:
        return None

    def same_things(sentence: str, *, strict: bool = True) -> bool:
        """A word of the subject, a word of the rest and every name. Not `strict` (may a
        sentence report the undoing asked about?): "Lopes threatened to call off the
        meeting" may be the cancellation of "the meeting with Costa" without her name,
        but "the Porto summit" is not "the Lisbon summit"."""
        keys = _keys(sentence)
        if (subject_keys and not subject_keys & keys) or (rest_keys and not rest_keys & keys):
            return False
        if strict:
            return names_every(f"{subject} {rest}", sentence)
        return names_every(subject, sentence) and not _rival_name(rest, sentence)

    kinds = [kind for kind in _KINDS if kind.fullmatch(asked["verb"])]
    # What retrieval read of an article holds its passages' sentences too.
    read_in_full = article_texts or {}
    texts = [*read_in_full.values(), *(p.text for p in passages if p.article_id not in read_in_full)]
    for sentence, read in (pair for text in texts for pair in _with_antecedents(text)):
        undone = any(kind.search(sentence) for kind in kinds) or (
            _KINDS[0] in kinds and _restrains(sentence, rest_keys or subject_keys)
        )
        if undone and same_things(read, strict=False):
            return None
    best: tuple[tuple[int, float], Passage, str] | None = None
    for passage in passages:
        for span in passage.sentences:
            said = span.text
            if _NEGATION.search(said) or any(k.search(said) for k in [*_KINDS, _RESTRAINT]):
                continue
            if not same_things(said):
                continue
            if (span.score or 0.0) < EVIDENCE_MIN_SCORE:
                continue
            score = (len(_keys(said) & (subject_keys | rest_keys)), span.score or 0.0)
            if best is None or score > best[0]:
                best = (score, passage, span.text)
    if best is None:
        return None
    _, passage, evidence = best
    said = without_dateline(evidence).strip().rstrip(".")
    event = f"{subject} {verb} {rest}".strip()
    if reported:
        description = f"No, the articles don't report that {event}; they say: {said}."
    else:
        denial = f"{subject} {asked['aux'].lower()} not {verb} {rest}".strip()
        denial = f"No, {denial}" if whether else f"{denial[:1].upper()}{denial[1:]}"
        description = f"{denial}, as far as the articles report: {said}."
    return Conflict(
        description=description,
        values=[asked["verb"], said],
        citations=[passage.n],
    )


# --- a date the sources give otherwise ----------------------------------------------------------
def date_premise(
    question: str, passages: Sequence[Passage], article_texts: Mapping[str, str] | None = None
) -> Conflict | None:
    """The correction for a question that puts an event on a weekday or in a month the
    sources give it no date on, where a source dates that event otherwise: "What did Ana
    Costa say after landing in Lisbon on Saturday?" when the articles have her land on
    Sunday. A value the articles name anywhere, in what retrieval read, is left alone, as is
    a month any date they give or any article's own date falls in. A weekday is also stated
    by a date that falls on it ("Thursday" by "Oct. 30" in 2025), but only in a sentence about
    the same event: a handful of dates anywhere covers most weekdays. A sentence is about the same event
    when the words around its date share one with the words around the question's and it
    names a name the question names, or share two when the question names nothing; and it
    must answer the question well (`EVIDENCE_MIN_SCORE`)."""
    asked: list[tuple[str, int | None]] = [(weekday, None) for weekday in weekdays_named(question)]
    asked += months_named(question)
    if not asked:
        return None  # most questions: nothing to read the articles' dates for
    read_in_full = article_texts or {}
    texts = [*read_in_full.values(), *(p.text for p in passages if p.article_id not in read_in_full)]
    published = {p.article_id: p.date for p in passages}
    months = {day.month for day in published.values() if day} | {
        day.month
        for article_id, text in [*read_in_full.items(), *((p.article_id, p.text) for p in passages)]
        for _, day in dates_written(text, published.get(article_id))
    }
    asked_names = topics_of(question)
    for value, month in asked:
        if (month and month in months) or any(re.search(rf"\b{value}\b", text) for text in texts):
            continue
        around_value = _event_words(words_around(question, value))
        dating = [
            (passage, written, day)
            for passage in passages
            for span in passage.sentences
            if (span.score or 0.0) >= EVIDENCE_MIN_SCORE
            for written, day in _dates_of(span.text, passage.date, months_too=month is not None)
            if _same_event(around_value, asked_names, span.text, written)
        ]
        if not dating or (month is None and any(day.strftime("%A") == value for _, _, day in dating)):
            continue
        passage, written, day = dating[0]
        # A weekday gets the date it means; "Oct. 27" and "September" say it already.
        rival = f"{written} ({format_day(day)})" if weekdays_named(written) else written
        description = f"Correction: {rival}, not {value}."
        return Conflict(description=description, values=[value, rival], citations=[passage.n])
    return None


def _dates_of(sentence: str, published: dt.date | None, *, months_too: bool) -> list[tuple[str, dt.date]]:
    """The dates a sentence gives, and for a month question the months it names alone
    ("most recently in September"), each as its first day."""
    dates = dates_written(sentence, published)
    if months_too and published is not None:
        dates += [(name, dt.date(published.year, number, 1)) for name, number in months_named(sentence)]
    return dates


# English verbs whose past the stemmer keeps apart from the present ("told" / "tell"): the
# question and the article tell one event in different tenses.
_IRREGULAR = {
    "told": "tell", "said": "say", "left": "leave", "met": "meet", "went": "go", "gone": "go",
    "took": "take", "taken": "take", "gave": "give", "given": "give", "made": "make",
    "spoke": "speak", "spoken": "speak", "flew": "fly", "flown": "fly", "held": "hold",
    "came": "come", "began": "begin", "begun": "begin", "brought": "bring", "sent": "send",
    "thought": "think", "won": "win", "lost": "lose", "sought": "seek", "struck": "strike",
    "wrote": "write", "written": "write", "saw": "see", "seen": "see", "knew": "know",
    "felt": "feel", "kept": "keep", "led": "lead", "rose": "rise", "fell": "fall",
    "bought": "buy", "sold": "sell",
}


def _event_words(text: str) -> set[str]:
    words = [_IRREGULAR.get(w.lower(), w) for w in text.split()]
    return set(content_terms(" ".join(words))) - _FUNCTION_WORDS


def _same_event(around_value: set[str], asked_names: frozenset[str], sentence: str, written: str) -> bool:
    shared = around_value & _event_words(words_around(sentence, written))
    if asked_names:  # a sentence's first word may be a name too ("Costa will arrive …")
        return bool(shared) and bool(asked_names & _all_names(sentence))
    return len(shared) >= 2


# --- an answer to "why" that restates the question before its reason ----------------------
# Where the reason starts: "… because / because of / due to / owing to / given that / based on /
# in order to / so as to / in a bid to …". Not a bare "as", "since" or "to": "as part of",
# "since 2019" and "went to Porto" give no reason; nor "based on the sources", which points.
_CAUSE = re.compile(
    r",?\s+(?P<connective>because(?:\s+of)?|due\s+to|owing\s+to|given\s+that|based\s+on|in\s+order\s+to"
    r"|so\s+as\s+to|in\s+a\s+bid\s+to)\s+(?=\S)(?!(?:the\s+)?(?:provided\s+)?(?:sources?|articles?|information|context)\b)",
    re.I,
)
# How many words other than names an echo may add to the question's ("the upcoming summit").
# Names are judged by where they stand: "Rui Lopes went to Porto …" names the one asked by
# role in "Why did Spain's foreign minister go to Porto?".
_ECHO_NEW_WORDS = 1


def reason_only(claim: str, question: str) -> str:
    """An answer sentence to a "why" question without the question restated before its
    reason: "Ana Costa cancelled the visit to Porto because talks had stalled" answers "Why
    did Ana Costa cancel the visit to Porto?" with "Because talks had stalled". The restated
    part adds nothing the reader didn't ask, and when the question's premise is false it is
    the one part of the answer that is wrong: the small model restates "why did Costa sound
    gloomy" as "Costa sounded gloomy because she voiced optimism", stating the premise as a
    fact and then the source's words against it. The reason alone is what the sources say.

    The part before the reason is dropped only when it echoes the question: at least two
    words, at most `_ECHO_NEW_WORDS` of them other than names missing from the question, no
    number or negation of its own, and no name put where the question has another ("Lopes
    is hosting" for "Why is Ana Costa hosting …" corrects the question, and stays)."""
    if not asks_reason(question):
        return claim
    cause = _CAUSE.search(claim)
    if cause is None:
        return claim
    head = claim[: cause.start()]
    if not _echoes(head, question):
        return claim
    connective = cause["connective"]
    return f"{connective[:1].upper()}{connective[1:]} {claim[cause.end():]}"


def _echoes(head: str, question: str) -> bool:
    said = _event_words(head)
    if len(said) < 2 or _NEGATION.search(head) or numbers_in(head) - numbers_in(question):
        return False
    asked_words = words_in(question)
    new_names = {n for n in _all_names(head) if content_terms(n) and not name_among(n, asked_words)}
    # A name is judged by where it stands (below), not counted as a new word.
    named = {t for n in new_names for t in content_terms(n)}
    if len(said - _event_words(question) - named) > _ECHO_NEW_WORDS:
        return False
    missing = {n for n in names_in(question) if not name_among(n, words_in(head))}
    return not (new_names and missing and _same_slot(new_names, head, missing, question))


def _same_slot(names: set[str], text: str, others: set[str], other_text: str) -> bool:
    """Whether one of `names` stands in `text` next to a content word that one of `others`
    stands next to in `other_text` ("picked Porto for the talks" / "pick Lisbon for the
    talks"): a name put in another's place."""

    def neighbours(text: str, wanted: set[str]) -> set[str]:
        words = _WORD.findall(text)
        terms = [_event_words(w) for w in words]
        found: set[str] = set()
        for i, word in enumerate(words):
            if name_key(word) not in wanted:
                continue
            before = next((t for t in reversed(terms[:i]) if t), set())
            after = next((t for t in terms[i + 1 :] if t), set())
            found |= (before | after) - {name_key(w) for w in words if w[:1].isupper()}
        return found

    return bool(neighbours(text, names) & neighbours(other_text, others))
