"""The one place that decides whether Byline answers or says "The articles don't say."

The small local model is a poor judge of answerability: pushed to answer it invents
(a list of items, a precise duration no source gives); told to abstain when unsure it
abstains on a third of the questions whose answer sits in its prompt in other words. So
the model's own "I don't know" is one signal among checkable ones:

- before generation: no passage at all, or nothing even weakly related (cosine below
  `min_relevance`) → abstain without asking the model;
- after verification: at least one answer sentence supported by the passage it cites →
  answer (the verifier has already removed what nothing supports);
- but a supported answer that lacks the kind of thing the question asks for (a number
  for "how many", a date for "when", a name for "who"/"where") restates a related fact
  instead of answering → abstain. This is what catches a pushed model's answers to
  questions the articles cannot answer ("How many tonnes…?" → a sentence about soybeans);
- a supported answer to a question about how an event turned out ("What did they agree
  at the talks?", "How did the talks go?", "Did they reach a deal?") whose every cited
  sentence only announces the event (will, scheduled, expected to; no agreement, decision
  or outcome) → abstain. News written before the talks cannot report their outcome, and
  "they agreed to meet" is the question's verb put on the announcement. A question whose
  premise the answer corrects keeps its correction;
- a supported answer to a question asking for a particular building, law or holder of an
  elected or diplomatic office ("which hotel", "which room", "under which law", "which
  senators") whose cited sentences name none (no hotel, hall, room, act …) → abstain: "the
  talks take place in Porto" restates where the event is;
- the model said "I don't know" (with `insist_after_abstain`: twice, the pipeline asking
  once more), and the question's premise was not found false (which the verifier
  corrects) → abstain. Measured on the gold set's dev split: quoting the best
  sentence instead answered 3 more of 79 answerable questions but also 3 more of 12
  unanswerable ones — a quote of a related sentence is a confident non-answer. The one
  exception is checkable: "how many X" where a strong source sentence counts X ("at
  least two phone calls" for "how many phone calls"). The model misses such a count when
  the question words it differently; a related sentence counting something else (or
  nothing) does not qualify, so questions whose count no source gives still abstain;
- the model answered but nothing held up, or what held up lacks the kind asked for: if
  the best source sentence answers the question strongly (its context score, which
  combines embedding similarity, the question's words it contains and a question-type
  cue, is at least `quote_min_score`) → answer by quoting it (the extractive answer),
  else abstain.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.citations import Verified
from rag.config import Settings
from rag.speakers import asked_speaker, speaks
from rag.text import (
    AnswerKind,
    answer_kind,
    asks_outcome,
    gives_kind,
    names_counted,
    only_announces,
    particular_asked,
)
from rag.types import Context


@dataclass(frozen=True)
class Decision:
    abstain: bool
    reason: str | None = None
    quote_instead: bool = False
    # The kind of thing the quote must hold: the draft was dropped for not giving it.
    quote_kind: AnswerKind | None = None


def best_sentence_score(context: Context) -> float:
    scores = [s.score for p in context.passages for s in p.sentences if s.score is not None]
    return max(scores, default=0.0)


class AbstentionPolicy:
    def __init__(self, settings: Settings) -> None:
        self._min_relevance = settings.min_relevance
        self._quote_min_score = settings.quote_min_score

    def before_generation(self, context: Context) -> str | None:
        """Why to abstain without asking a model, or None."""
        if not context.passages:
            return "no article passage matches the question"
        if context.best_relevance < self._min_relevance:
            return f"the closest passage is only weakly related (similarity {context.best_relevance:.2f})"
        return None

    def _counted_strongly(self, context: Context) -> bool:
        """Whether "how many X" has a source sentence counting X that scores at least
        `quote_min_score`."""
        question = context.question
        if not names_counted(question):
            return False
        sentences = [s for p in context.passages for s in p.sentences]
        strong = [s.text for s in sentences if (s.score or 0.0) >= self._quote_min_score]
        return any(gives_kind(text, "number", question) for text in strong)

    @staticmethod
    def _only_announced(context: Context, verified: Verified) -> bool:
        """ "What did they agree at the talks?" answered from sentences that only announce
        the talks ("they will meet on Friday to prepare …"): the articles were written before
        it happened, and "they agreed to meet" is the question's verb put on the announcement."""
        quotes = [c.quote for c in verified.citations]
        return asks_outcome(context.question) and bool(quotes) and all(only_announces(q) for q in quotes)

    @staticmethod
    def _speaker_never_speaks(context: Context, verified: Verified) -> bool:
        """ "What did Ana Costa say …?" answered from passages where she never speaks ("Rui
        Lopes praised his talks with Costa, saying …"): the answer gives her someone else's
        words."""
        who = asked_speaker(context.question)
        if not who or not verified.citations:
            return False
        cited = {c.article_id for c in verified.citations}
        texts = [p.text for p in context.passages if p.article_id in cited]
        return not any(speaks(who, text) for text in texts)

    @staticmethod
    def _names_no_particular(context: Context, verified: Verified) -> bool:
        """ "Which hotel …?" answered from sentences that name no building ("the talks take
        place in Porto"): the answer restates where the event is, not what was asked."""
        named = particular_asked(context.question)
        quotes = [c.quote for c in verified.citations]
        return named is not None and bool(quotes) and not any(named.search(q) for q in quotes)

    def after_verification(self, context: Context, verified: Verified, *, can_quote: bool) -> Decision:
        """`can_quote`: whether quoting the best sentence is still an option (not when the
        verified text already is the extractive answer)."""
        if verified.misattributed:
            # A quote would answer with some related sentence; the model's answer named
            # the wrong person for the role asked about, which is a sign the holder of the
            # role is not in the sources at all.
            reason = f"the answer gives someone a role the sources don't ({verified.misattributed})"
            return Decision(abstain=True, reason=reason)
        strength = best_sentence_score(context)
        quote = can_quote and strength >= self._quote_min_score
        if not verified.empty and not verified.corrected and self._only_announced(context, verified):
            reason = "the sources only announce the event the question asks the outcome of"
            return Decision(abstain=True, reason=reason)
        if not verified.empty and not verified.corrected and self._speaker_never_speaks(context, verified):
            reason = "no passage the answer cites has the person asked about saying anything"
            return Decision(abstain=True, reason=reason)
        if not verified.empty and not verified.corrected and self._names_no_particular(context, verified):
            reason = "no sentence the answer cites names the particular place or office holder asked for"
            return Decision(abstain=True, reason=reason)
        if not verified.empty:
            kind = answer_kind(context.question)
            # "Ana Costa meets the mayor during her visit to Porto" answers "in which city
            # does she see the mayor?": where someone goes counts here, though it never
            # picks the context's sentences (a visit to the capital, talks in another city).
            if kind and not gives_kind(verified.text, kind, context.question, destinations=True):
                if quote:
                    # A place is quoted from a sentence naming one; a count or a date
                    # is not: any number in a related sentence would pass for one.
                    quote_kind = kind if kind == "place" else None
                    return Decision(abstain=False, quote_instead=True, quote_kind=quote_kind)
                return Decision(
                    abstain=True, reason=f"the answer does not give the {kind} the question asks for"
                )
            return Decision(abstain=False)
        if quote and not verified.model_abstained:
            return Decision(abstain=False, quote_instead=True)
        if can_quote and verified.model_abstained and self._counted_strongly(context):
            return Decision(abstain=False, quote_instead=True, quote_kind="number")
        if verified.model_abstained:
            return Decision(abstain=True, reason="the model found no answer in the sources")
        return Decision(abstain=True, reason="no sentence of the draft answer was supported by the sources")
