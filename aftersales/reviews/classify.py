"""Review classification: sentiment, topics and severity, with no model download.

:class:`Classifier` is the protocol the reviews service calls; anything with
a matching ``classify`` method plugs in (a hosted model, a shop's own rules).
:class:`LexiconClassifier` is the default: it reads the Chinese and English
lexicons shipped in ``aftersales/reviews/lexicons/`` (plus any a shop adds),
finds their terms in one pass, and scores them:

* each sentiment or topic complaint/praise term adds its weight;
* a negator flips the next term in the clause: 不好 / "not good" count as
  negative, 不差 / "not bad" as mildly positive (a negated complaint is weaker
  than the complaint), and a weak negator (不太, "not very") or an
  intensifier after the negator softens the flip further;
* an intensifier (很, 非常, "really") multiplies the next term, a diminisher
  (有点, "a bit") shrinks it;
* a contrast word (但是, "but") halves what came before it;
* a lukewarm word (一般, "okay") pulls the whole score toward neutral, unless
  negated ("not okay" is a complaint);
* a star rating, when given, adds a prior: ratings are what the buyer chose,
  the text tells how strongly and about what.

The result names the topics the review touches, the ones it complains about,
and a :class:`Severity`: counterfeit and safety complaints are always
``CRITICAL``, whatever the stars say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from aftersales.models import Sentiment
from aftersales.reviews._matcher import Matcher
from aftersales.reviews.lexicon import (
    Entry,
    Kind,
    Lexicon,
    compile_entries,
    default_lexicons,
    load_lexicon,
    normalize,
)

__all__ = [
    "CRITICAL_TOPICS",
    "MAX_READ",
    "TOPICS",
    "Classification",
    "Classifier",
    "LexiconClassifier",
    "LexiconReading",
    "Severity",
]

#: The topics the built-in lexicons know.
TOPICS = (
    "quality",
    "damage",
    "counterfeit",
    "wrong_item",
    "size",
    "delivery",
    "service",
    "refund",
    "safety",
)
#: Complaints about these make a review CRITICAL whatever its rating.
CRITICAL_TOPICS = frozenset({"counterfeit", "safety"})

#: Star rating → prior added to the text score.
RATING_PRIOR: Mapping[int, float] = {1: -2.5, 2: -1.8, 3: 0.0, 4: 1.2, 5: 1.8}

LexiconSource = Lexicon | Mapping[str, Any] | str | Path

# A negated positive ("not good") keeps most of its weight; a negated negative
# ("not bad") is praise, but faint.
_FLIP_POSITIVE = 0.8
_FLIP_NEGATIVE = 0.5
_SOFTENED = 0.6  # an intensifier after a negator: "not very good", 不是很好
_CONTRAST = 0.4
_LUKEWARM = 0.5  # each lukewarm word divides the score by 1 + this
_NEG_REACH_WORDS = 3  # English: words a negator reaches over
_NEG_REACH_CHARS = 4  # Chinese: characters a negator reaches over
_INT_REACH_WORDS = 1
_INT_REACH_CHARS = 2
_AFTER_CONTRAST = 1.5  # what follows the last "but" weighs more: it is the point
_DANGLING = 0.6  # a negator with no known term after it: 不修身, "does not work"
# Negators of a comparison reach to the end of their clause: 并不像想象的那么好.
_WIDE_NEGATORS = frozenset({"并不像", "不像", "不如", "没有想象的那么", "没有想象中的",
                            "没有宣传的那么", "not as", "not nearly as", "nowhere near as"})
# 好小, 好贵: a praise word that means "very" right before a complaint (× this).
_DEGREE_WORDS: Mapping[str, float] = {"好": 1.3}
# 快一个小时, 快要坏了: 快 means "almost" before a number or 要.
# (快一点, "a bit faster", stays 快.)
_ALMOST: Mapping[str, re.Pattern[str]] = {
    "快": re.compile(r"(?!一[点些])[一二两三四五六七八九十半几0-9要]"),
}
_QUESTION_MARKS = frozenset({"?", "？"})
# 物流能再慢一点吗, 还能再快点吗, "could it be any slower": asked in sarcasm.
_RHETORICAL = re.compile(
    r"能[再在].{1,4}(?:一点|一些|点|些)[吗么嘛]?$|就不能.{0,6}[吗么嘛]?$"
    r"|could (?:it|they|this|shipping)\b.* any \w+er$"
)
_SENTIMENT_KINDS = frozenset({Kind.POSITIVE, Kind.NEGATIVE, Kind.COMPLAINT, Kind.PRAISE})
_EXCLAIM = re.compile(r"[!！]{2,}")
#: Only this many characters of a review are read: far more than any real
#: review with its 追评, and a bound on the work a hostile 10 MB text causes.
MAX_READ = 10_000


class Severity(IntEnum):
    """How urgently a person should look at a review."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True)
class Classification:
    """What a classifier concluded about one review.

    Attributes:
        sentiment: positive, neutral or negative.
        topics: every topic the review touches, sorted.
        complaints: the topics it complains about (a subset of ``topics``).
        severity: how urgently a person should look at it.
        score: the signed sentiment score (classifier-specific scale; above
            zero leans positive, below zero negative).
        terms: the lexicon terms that counted, as written in the review, each
            with the signed weight it added (after negation and intensity), in
            the order they appear: the words that decided it.
        model_score: the trained text model's probability that the review is
            a complaint, or ``None`` when no model took part.
    """

    sentiment: Sentiment
    topics: tuple[str, ...] = ()
    complaints: tuple[str, ...] = ()
    severity: Severity = Severity.NONE
    score: float = 0.0
    terms: tuple[tuple[str, float], ...] = ()
    model_score: float | None = None

    @property
    def explanation(self) -> str:
        """One line a person reads to see why: verdict, model score, words."""
        parts = [f"{self.sentiment.value} (score {self.score:+.2f})"]
        if self.model_score is not None:
            parts.append(f"model: {self.model_score:.0%} complaint")
        if self.terms:
            parts.append("words: " + ", ".join(f"{t} {w:+.2f}" for t, w in self.terms))
        if self.complaints:
            parts.append("complaints: " + ", ".join(self.complaints))
        return "; ".join(parts)


@dataclass(frozen=True)
class LexiconReading:
    """What the lexicons find in a text alone, before any star rating.

    Attributes:
        score: the signed text score (above zero positive).
        topics: every topic touched, sorted.
        complaints: the topics complained about, sorted.
        terms: the counted terms as written, with their signed weights.
        lukewarm: how many lukewarm words (一般, 还行, "okay") it has.
        after_contrast: where the text after its last contrast word (但是,
            不过, "but") starts, or ``None`` when it has none: what follows
            is the point of the review.
    """

    score: float
    topics: tuple[str, ...]
    complaints: tuple[str, ...]
    terms: tuple[tuple[str, float], ...]
    lukewarm: int = 0
    after_contrast: int | None = None


@runtime_checkable
class Classifier(Protocol):
    """Anything that turns a review's text (and stars, when known) into a
    :class:`Classification`. Must be pure and safe to call from many threads."""

    def classify(self, text: str, *, rating: int | None = None) -> Classification:
        """Classify one review.

        Args:
            text: the review body (with any appended review 追评 joined on).
            rating: the star rating 1–5, or ``None`` to judge the text alone.
        """
        ...


@dataclass(slots=True)
class _Pending:
    """A negator or intensifier waiting for the term it modifies."""

    end: int
    factor: float
    softened: bool = False  # an intensifier came after the negator
    before: float = 1.0  # an intensifier came before the negator (很不好)
    wide: bool = False  # reaches to the end of the clause (并不像想象的那么好)
    start: int = -1  # where the negator itself starts
    term_end: int = -1  # where the negator itself ends (``end`` moves on)

    def __post_init__(self) -> None:
        if self.start < 0:
            self.start = self.end
        if self.term_end < 0:
            self.term_end = self.end


@dataclass(slots=True)
class _Hit:
    weight: float
    topic: str | None
    complaint: bool
    start: int
    end: int
    negated: bool = False
    entry: Entry | None = None  # the lexicon entry, None for a rule's own hit


def _within_negation(text: str, neg: _Pending, start: int) -> bool:
    return neg.wide or _within(text, neg.end, start, _NEG_REACH_WORDS, _NEG_REACH_CHARS)


def _within(text: str, end: int, start: int, words: int, chars: int) -> bool:
    gap = text[end:start]
    if gap.isascii():
        return len(gap.split()) <= words
    return len(gap.replace(" ", "")) <= chars


class LexiconClassifier:
    """The default classifier: rating thresholds plus bilingual lexicons.

    Args:
        lexicons: replaces the built-in lexicons (each a :class:`Lexicon`, a
            dict, or a path to a TOML/JSON file).
        extra: added after the built-in (or given) lexicons; a term here
            overrides the same term there.
        critical_topics: complaints about these are ``CRITICAL``.
        threshold: the score beyond which a review is positive / negative.

    Raises:
        ValidationError: a lexicon is malformed; the message names the field.
    """

    def __init__(
        self,
        lexicons: Iterable[LexiconSource] | None = None,
        *,
        extra: Iterable[LexiconSource] = (),
        critical_topics: Iterable[str] = CRITICAL_TOPICS,
        threshold: float = 0.45,
    ) -> None:
        base = default_lexicons() if lexicons is None else [load_lexicon(x) for x in lexicons]
        self._entries = compile_entries([*base, *(load_lexicon(x) for x in extra)])
        self._matcher = Matcher(self._entries)
        self.critical_topics = frozenset(critical_topics)
        self.threshold = threshold

    @property
    def terms(self) -> Mapping[str, Entry]:
        """Every compiled term (normalized) and what it does."""
        return self._entries

    def classify(self, text: str, *, rating: int | None = None) -> Classification:
        """See :meth:`Classifier.classify`."""
        reading = self.read(text)
        score = reading.score
        if rating is not None:
            score += RATING_PRIOR.get(rating, 0.0)
        if score >= self.threshold:
            sentiment = Sentiment.POSITIVE
        elif score <= -self.threshold:
            sentiment = Sentiment.NEGATIVE
        else:
            sentiment = Sentiment.NEUTRAL
        strong = score <= -2.5 or rating == 1
        return Classification(
            sentiment=sentiment,
            topics=reading.topics,
            complaints=reading.complaints,
            severity=self.severity(sentiment, reading.complaints, strong=strong),
            score=round(score, 3),
            terms=reading.terms,
        )

    def severity(
        self, sentiment: Sentiment, complaints: tuple[str, ...], *, strong: bool
    ) -> Severity:
        """How urgent a verdict is: a critical topic first, then the sentiment.

        ``strong`` marks a negative verdict that is sure or one-star; two or
        more complaint topics make a negative review ``HIGH`` too.
        """
        if set(complaints) & self.critical_topics:
            return Severity.CRITICAL
        if sentiment is Sentiment.NEGATIVE:
            return Severity.HIGH if strong or len(complaints) >= 2 else Severity.MEDIUM
        return Severity.LOW if complaints else Severity.NONE

    def read(self, text: str) -> LexiconReading:
        """Score ``text`` alone with the lexicons: the sum of its counted terms
        (after negation, intensity, contrast and lukewarm words), its topics,
        its complaints and the terms themselves."""
        return self.read_normalized(normalize(text[:MAX_READ]))

    def read_normalized(self, norm: str) -> LexiconReading:
        """:meth:`read` of a text already passed through ``normalize``."""
        return _Reader(self, norm[:MAX_READ]).run()


class _Reader:
    """One pass over one normalized text (the state of :meth:`LexiconClassifier.read`)."""

    __slots__ = ("after_contrast", "aspect", "clause_hits", "clause_start", "contrast_at",
                 "entries", "hits", "intens", "last", "lukewarm", "matcher", "neg", "norm",
                 "topics")

    def __init__(self, classifier: LexiconClassifier, norm: str) -> None:
        self.entries = classifier._entries
        self.matcher = classifier._matcher
        self.norm = norm
        self.hits: list[_Hit] = []
        self.topics: set[str] = set()
        self.neg: _Pending | None = None
        self.intens: _Pending | None = None
        self.last: _Hit | None = None  # the last sentiment hit in this clause
        self.aspect: str | None = None  # the last non-critical aspect in this clause
        self.clause_start = 0  # where the clause starts in the text
        self.clause_hits = 0  # index in hits where the clause starts
        self.contrast_at: int | None = None  # hits index of the last contrast word
        self.after_contrast: int | None = None  # where the text after it starts
        self.lukewarm = 0

    def run(self) -> LexiconReading:
        norm = self.norm
        entries = self.entries
        for term, start, end in self.matcher.spans(norm):
            if term is None:  # clause punctuation
                self._end_clause(start, end)
                continue
            neg = self.neg
            if (
                neg is not None
                and not neg.wide
                and not _within(norm, neg.end, start, _NEG_REACH_WORDS, _NEG_REACH_CHARS)
            ):
                self._dangling(neg, start)
                self.neg = None
            intens = self.intens
            if intens is not None and not _within(
                norm, intens.end, start, _INT_REACH_WORDS, _INT_REACH_CHARS
            ):
                self.intens = None
            self._step(term, entries[term], start, end)
        self._end_clause(len(norm), len(norm))
        return self._conclude()

    def _step(self, term: str, entry: Entry, start: int, end: int) -> None:
        kind = entry.kind
        neg = self.neg
        if kind is Kind.NEGATOR:
            # Two negators cancel (不是不好); an intensifier before one
            # strengthens the flipped term (很不满意).
            intens = self.intens
            before = intens.factor if intens and intens.factor > 1 else 1.0
            wide = term in _WIDE_NEGATORS
            self.neg = (
                None if neg else _Pending(end, entry.weight, before=before, wide=wide, start=start)
            )
            self.intens = None
        elif kind is Kind.INTENSIFIER:
            self.intens = _Pending(end, entry.weight)
            if neg:
                neg.end = end
                neg.softened = neg.softened or entry.weight > 1
        elif kind is Kind.CONTRAST:
            if neg:
                self._dangling(neg, start)
            for hit in self.hits:
                hit.weight *= _CONTRAST
            self.contrast_at = len(self.hits)
            self.after_contrast = end
            self.neg = self.intens = self.last = None
        elif kind is Kind.ASPECT:
            self.topics.add(entry.topic or "")
            if entry.topic not in CRITICAL_TOPICS:
                self.aspect = entry.topic
            if neg:
                neg.end = end  # negation passes over an aspect: 没有质量问题
        elif kind is Kind.POST_NEGATOR:
            last = self.last
            if last and not last.negated:
                _flip(last, 1.0, softened=False, before=1.0)
            elif last is None:  # nothing before it: 也没有异味 negates what follows
                self.neg = _Pending(end, 1.0)
            self.last = None
        elif kind is Kind.LUKEWARM:
            if neg:  # "not okay", 不一般: a verdict after all
                self._add(_Hit(-_FLIP_POSITIVE * neg.factor, None, False, start, end))
                self.neg = None
            else:
                self.lukewarm += 1
            self.intens = None
        elif kind in _SENTIMENT_KINDS:
            self._sentiment(term, entry, start, end)

    def _sentiment(self, term: str, entry: Entry, start: int, end: int) -> None:
        kind = entry.kind
        norm = self.norm
        if term in _ALMOST and _ALMOST[term].match(norm, end):
            return  # 快一个小时: "almost an hour", not "fast"
        sign = 1.0 if kind in (Kind.POSITIVE, Kind.PRAISE) else -1.0
        complaint = kind is Kind.COMPLAINT
        hit = _Hit(sign * entry.weight, entry.topic, complaint, start, end, entry=entry)
        last = self.last
        if (
            sign < 0
            and last is not None
            and not last.negated
            and last.end == start
            and norm[last.start : last.end] in _DEGREE_WORDS
        ):
            # 好小, 好贵: 好 means "very" before a complaint, it is no praise.
            self.hits.remove(last)
            hit.weight *= _DEGREE_WORDS[norm[last.start : last.end]]
        if self.neg:
            neg = self.neg
            _flip(hit, neg.factor, softened=neg.softened, before=neg.before)
        elif self.intens:
            hit.weight *= self.intens.factor
        if entry.topic:
            self.topics.add(entry.topic)
        elif hit.weight < 0 and self.aspect:
            # 快递太慢, "shipping cost way too much": a complaint about the
            # aspect named earlier in the clause.
            hit.topic, hit.complaint = self.aspect, True
            self.topics.add(self.aspect)
        self._add(hit)
        self.last = hit
        self.neg = self.intens = None

    def _add(self, hit: _Hit) -> None:
        self.hits.append(hit)

    def _dangling(self, neg: _Pending, upto: int) -> None:
        """A negator with nothing it knows after it (不修身, "does not work")
        still says something is missing or wrong: a mild complaint."""
        gap = self.norm[neg.term_end : upto]
        if any(ch.isalnum() for ch in gap):
            weight = -_DANGLING * max(neg.factor, _FLIP_POSITIVE) * neg.before
            self._add(_Hit(weight, None, False, neg.start, upto))

    def _end_clause(self, at: int, mark_end: int) -> None:
        """The clause ends at ``at``; its mark (punctuation, or nothing at the
        end of the text) runs to ``mark_end``."""
        if self.neg:
            self._dangling(self.neg, at)
        norm = self.norm
        if mark_end > at and norm[at:mark_end] in _QUESTION_MARKS and _RHETORICAL.search(
            norm[self.clause_start : at]
        ):
            # 物流能再慢一点吗？ "could it be any slower?": sarcasm, a complaint.
            found = False
            for hit in self.hits[self.clause_hits :]:
                found = True
                hit.weight = -abs(hit.weight)
                if hit.topic:
                    hit.complaint = True
            if not found:
                self._add(_Hit(-_DANGLING, self.aspect, self.aspect is not None, 0, 0))
            if self.aspect:
                self.topics.add(self.aspect)
                for hit in self.hits[self.clause_hits :]:
                    if hit.topic is None:
                        hit.topic, hit.complaint = self.aspect, True
        self.neg = self.intens = self.last = None
        self.aspect = None
        self.clause_start = mark_end
        self.clause_hits = len(self.hits)

    def _conclude(self) -> LexiconReading:
        hits = self.hits
        if self.contrast_at is not None:
            # What follows the last "but" is the point of the review.
            for hit in hits[self.contrast_at :]:
                hit.weight *= _AFTER_CONTRAST
        score = sum(h.weight for h in hits) / (1 + _LUKEWARM * self.lukewarm)
        if _EXCLAIM.search(self.norm):
            score *= 1.2
        complaints = {h.topic for h in hits if h.topic and h.complaint}
        norm = self.norm
        terms = tuple(
            (norm[h.start : h.end], round(h.weight, 3)) for h in hits if h.end > h.start
        )
        return LexiconReading(
            score=score,
            topics=tuple(sorted(t for t in self.topics if t)),
            complaints=tuple(sorted(c for c in complaints if c)),
            terms=terms,
            lukewarm=self.lukewarm,
            after_contrast=self.after_contrast,
        )


def _flip(hit: _Hit, strength: float, *, softened: bool, before: float) -> None:
    """Negate a hit in place: a praise becomes a complaint and the reverse."""
    factor = _FLIP_POSITIVE if hit.weight > 0 else _FLIP_NEGATIVE
    weight = -hit.weight * factor * strength * before
    if softened:
        weight *= _SOFTENED
    hit.weight = weight
    hit.negated = True
    if hit.topic:
        hit.complaint = hit.entry is not None and hit.entry.kind is Kind.PRAISE
