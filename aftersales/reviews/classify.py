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
from dataclasses import dataclass, field
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
    "TOPICS",
    "Classification",
    "Classifier",
    "LexiconClassifier",
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
_CONTRAST = 0.5
_LUKEWARM = 0.5  # each lukewarm word divides the score by 1 + this
_NEG_REACH_WORDS = 3  # English: words a negator reaches over
_NEG_REACH_CHARS = 4  # Chinese: characters a negator reaches over
_INT_REACH_WORDS = 1
_INT_REACH_CHARS = 2
_SENTIMENT_KINDS = frozenset({Kind.POSITIVE, Kind.NEGATIVE, Kind.COMPLAINT, Kind.PRAISE})
_EXCLAIM = re.compile(r"[!！]{2,}")


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
        score: the signed sentiment score (classifier-specific scale).
    """

    sentiment: Sentiment
    topics: tuple[str, ...] = ()
    complaints: tuple[str, ...] = ()
    severity: Severity = Severity.NONE
    score: float = 0.0


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


@dataclass
class _Pending:
    """A negator or intensifier waiting for the term it modifies."""

    end: int
    factor: float
    softened: bool = False  # an intensifier came after the negator
    before: float = 1.0  # an intensifier came before the negator (很不好)


@dataclass
class _Hit:
    weight: float
    topic: str | None
    complaint: bool
    start: int
    end: int
    negated: bool = False
    entry: Entry = field(default_factory=lambda: Entry(Kind.NEUTRAL))


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
        norm = normalize(text)
        hits: list[_Hit] = []
        topics: set[str] = set()
        neg: _Pending | None = None
        intens: _Pending | None = None
        last: _Hit | None = None  # the last sentiment hit in this clause
        lukewarm = 0
        for match in self._matcher.find(norm):
            if match.term is None:  # clause punctuation
                neg = intens = last = None
                continue
            entry = self._entries[match.term]
            if neg and not _within(norm, neg.end, match.start, _NEG_REACH_WORDS, _NEG_REACH_CHARS):
                neg = None
            if intens and not _within(
                norm, intens.end, match.start, _INT_REACH_WORDS, _INT_REACH_CHARS
            ):
                intens = None
            kind = entry.kind
            if kind is Kind.NEGATOR:
                # Two negators cancel (不是不好); an intensifier before one
                # strengthens the flipped term (很不满意).
                before = intens.factor if intens and intens.factor > 1 else 1.0
                neg = None if neg else _Pending(match.end, entry.weight, before=before)
                intens = None
            elif kind is Kind.INTENSIFIER:
                intens = _Pending(match.end, entry.weight)
                if neg:
                    neg.end = match.end
                    neg.softened = neg.softened or entry.weight > 1
            elif kind is Kind.CONTRAST:
                for hit in hits:
                    hit.weight *= _CONTRAST
                neg = intens = last = None
            elif kind is Kind.ASPECT:
                topics.add(entry.topic or "")
                if neg:
                    neg.end = match.end  # negation passes over an aspect: 没有质量问题
            elif kind is Kind.POST_NEGATOR:
                if last and not last.negated:
                    _flip(last, 1.0, softened=False, before=1.0)
                elif last is None:  # nothing before it: 也没有异味 negates what follows
                    neg = _Pending(match.end, 1.0)
                last = None
            elif kind is Kind.LUKEWARM:
                if neg:  # "not okay", 不一般: a verdict after all
                    hits.append(_Hit(-_FLIP_POSITIVE * neg.factor, None, False, 0, 0))
                    neg = None
                else:
                    lukewarm += 1
                intens = None
            elif kind in _SENTIMENT_KINDS:
                sign = 1.0 if kind in (Kind.POSITIVE, Kind.PRAISE) else -1.0
                hit = _Hit(
                    sign * entry.weight,
                    entry.topic,
                    kind is Kind.COMPLAINT,
                    match.start,
                    match.end,
                    entry=entry,
                )
                if neg:
                    _flip(hit, neg.factor, softened=neg.softened, before=neg.before)
                elif intens:
                    hit.weight *= intens.factor
                if entry.topic:
                    topics.add(entry.topic)
                hits.append(hit)
                last = hit
                neg = intens = None
        return self._conclude(norm, hits, topics, lukewarm, rating)

    def _conclude(
        self, norm: str, hits: list[_Hit], topics: set[str], lukewarm: int, rating: int | None
    ) -> Classification:
        score = sum(h.weight for h in hits) / (1 + _LUKEWARM * lukewarm)
        if _EXCLAIM.search(norm):
            score *= 1.2
        if rating is not None:
            score += RATING_PRIOR.get(rating, 0.0)
        if score >= self.threshold:
            sentiment = Sentiment.POSITIVE
        elif score <= -self.threshold:
            sentiment = Sentiment.NEGATIVE
        else:
            sentiment = Sentiment.NEUTRAL
        complaints = {h.topic for h in hits if h.topic and h.complaint}
        if complaints & self.critical_topics:
            severity = Severity.CRITICAL
        elif sentiment is Sentiment.NEGATIVE:
            strong = score <= -2.5 or rating == 1 or len(complaints) >= 2
            severity = Severity.HIGH if strong else Severity.MEDIUM
        elif complaints:
            severity = Severity.LOW
        else:
            severity = Severity.NONE
        return Classification(
            sentiment=sentiment,
            topics=tuple(sorted(t for t in topics if t)),
            complaints=tuple(sorted(c for c in complaints if c)),
            severity=severity,
            score=round(score, 3),
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
        hit.complaint = hit.entry.kind is Kind.PRAISE
