"""The review alert rules, as pure functions of review snapshots.

Four rules, each named by an :class:`AlertRule` whose event name
(``review.negative``, …) is what the service emits on the app's event bus:

* ``negative``: the review reads negative;
* ``counterfeit``: it complains of a counterfeit or a safety problem
  (always ``CRITICAL``, whatever the stars);
* ``rating_drop``: an edit turned a positive review negative;
* ``spike``: at least ``spike_threshold`` negative reviews of one SKU within
  ``spike_window``; after firing, a SKU stays quiet for one window, so a wave
  of bad reviews raises one alarm, not one per review.

Each draft carries a ``subject``: the review it is about. The service stores
drafts unique on (rule, subject), which is what makes alerts one per review
per rule however often a review is re-synced. Nothing here reads a clock or
the database: the service passes in what the rules look at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aftersales.errors import ValidationError
from aftersales.models import Sentiment
from aftersales.redact import redact_text
from aftersales.reviews.classify import CRITICAL_TOPICS, Severity

__all__ = [
    "AlertConfig",
    "AlertDraft",
    "AlertRule",
    "ReviewSnapshot",
    "review_alerts",
    "spike_alert",
    "spikes",
]

_EXCERPT = 80


class AlertRule(StrEnum):
    """A rule that raises review alerts."""

    NEGATIVE = "negative"
    COUNTERFEIT = "counterfeit"
    RATING_DROP = "rating_drop"
    SPIKE = "spike"

    @property
    def event(self) -> str:
        """The event name emitted when this rule fires (``review.negative``)."""
        return f"review.{self.value}"


@dataclass(frozen=True)
class AlertConfig:
    """Thresholds for the rules.

    Attributes:
        spike_threshold: negative reviews of one SKU that make a spike (K).
        spike_window: how close together they must be.
        critical_topics: complaints that raise the ``counterfeit`` rule.
        rules: the rules that are switched on.
    """

    spike_threshold: int = 3
    spike_window: timedelta = timedelta(hours=24)
    critical_topics: frozenset[str] = CRITICAL_TOPICS
    rules: frozenset[AlertRule] = frozenset(AlertRule)

    def __post_init__(self) -> None:
        if self.spike_threshold < 2:
            raise ValidationError("a spike needs at least 2 reviews", field="spike_threshold")
        if self.spike_window <= timedelta(0):
            raise ValidationError("must be a positive duration", field="spike_window")


@dataclass(frozen=True)
class ReviewSnapshot:
    """What the rules need to know about one version of a review.

    Attributes:
        key: the review's stable key (``"judgeme:123"``), the alert subject.
        sku: the SKU reviewed, if known (spikes need it).
        rating: the stars, 1–5.
        sentiment, complaints, severity: from the classifier.
        at: when this version appeared (the review's update time).
        excerpt: a short piece of the text for the alert message.
    """

    key: str
    sku: str | None
    rating: int
    sentiment: Sentiment
    complaints: tuple[str, ...]
    severity: Severity
    at: datetime
    excerpt: str = ""


@dataclass(frozen=True)
class AlertDraft:
    """An alert a rule wants raised; stored unique on (``rule``, ``subject``)."""

    rule: AlertRule
    subject: str
    severity: Severity
    message: str
    sku: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _excerpt(snapshot: ReviewSnapshot) -> str:
    text = redact_text(" ".join(snapshot.excerpt.split()))
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _where(snapshot: ReviewSnapshot) -> str:
    return f"SKU {snapshot.sku}" if snapshot.sku else "the shop"


def _was_positive(snapshot: ReviewSnapshot) -> bool:
    return snapshot.sentiment is Sentiment.POSITIVE or snapshot.rating >= 4


def _is_negative(snapshot: ReviewSnapshot) -> bool:
    return snapshot.sentiment is Sentiment.NEGATIVE


def review_alerts(
    current: ReviewSnapshot,
    previous: ReviewSnapshot | None = None,
    config: AlertConfig | None = None,
) -> list[AlertDraft]:
    """The per-review rules (negative, counterfeit, rating drop) for one version.

    Args:
        current: the version just seen.
        previous: the version before it, when the review was edited.
        config: thresholds and switched-on rules.
    """
    config = config or AlertConfig()
    drafts: list[AlertDraft] = []
    base = {"rating": current.rating, "complaints": list(current.complaints)}
    excerpt = _excerpt(current)
    critical = sorted(set(current.complaints) & config.critical_topics)
    if critical and AlertRule.COUNTERFEIT in config.rules:
        drafts.append(
            AlertDraft(
                AlertRule.COUNTERFEIT,
                current.key,
                Severity.CRITICAL,
                f"{'/'.join(critical)} complaint on {_where(current)} "
                f"({current.rating}★): {excerpt}",
                current.sku,
                {**base, "topics": critical},
            )
        )
    if _is_negative(current) and AlertRule.NEGATIVE in config.rules:
        drafts.append(
            AlertDraft(
                AlertRule.NEGATIVE,
                current.key,
                max(current.severity, Severity.MEDIUM),
                f"negative review on {_where(current)} ({current.rating}★): {excerpt}",
                current.sku,
                base,
            )
        )
    if (
        previous is not None
        and _was_positive(previous)
        and _is_negative(current)
        and AlertRule.RATING_DROP in config.rules
    ):
        drafts.append(
            AlertDraft(
                AlertRule.RATING_DROP,
                current.key,
                max(current.severity, Severity.HIGH),
                f"review on {_where(current)} edited from {previous.rating}★ "
                f"to {current.rating}★: {excerpt}",
                current.sku,
                {**base, "previous_rating": previous.rating},
            )
        )
    return drafts


def spike_alert(
    current: ReviewSnapshot,
    negatives: Iterable[ReviewSnapshot],
    config: AlertConfig | None = None,
    *,
    last_spike_at: datetime | None = None,
) -> AlertDraft | None:
    """The spike rule for one newly negative review.

    Args:
        current: the review that just turned up negative.
        negatives: negative reviews of the same SKU (``current`` may be among
            them); only those within the window ending at ``current.at`` count.
        config: thresholds.
        last_spike_at: when this SKU last raised a spike; within one window
            of it no new spike is raised.
    """
    config = config or AlertConfig()
    if AlertRule.SPIKE not in config.rules or not current.sku or not _is_negative(current):
        return None
    if last_spike_at is not None and current.at - last_spike_at < config.spike_window:
        return None
    start = current.at - config.spike_window
    keys = {current.key} | {
        n.key for n in negatives if n.sku == current.sku and start < n.at <= current.at
    }
    if len(keys) < config.spike_threshold:
        return None
    hours = config.spike_window.total_seconds() / 3600
    return AlertDraft(
        AlertRule.SPIKE,
        current.key,
        Severity.HIGH,
        f"{len(keys)} negative reviews on SKU {current.sku} within {hours:g} hours",
        current.sku,
        {"count": len(keys), "window_hours": hours, "reviews": sorted(keys)},
    )


def spikes(
    snapshots: Sequence[ReviewSnapshot], config: AlertConfig | None = None
) -> list[AlertDraft]:
    """Every spike a stream of reviews raises, replayed in time order.

    The same rule as :func:`spike_alert`, applied to a whole history: useful
    to backfill alerts or to check a threshold against past reviews.
    """
    config = config or AlertConfig()
    seen: dict[str, list[ReviewSnapshot]] = defaultdict(list)
    last: dict[str, datetime] = {}
    out: list[AlertDraft] = []
    for snap in sorted(snapshots, key=lambda s: s.at):
        if not snap.sku or not _is_negative(snap):
            continue
        history = seen[snap.sku]
        draft = spike_alert(snap, history, config, last_spike_at=last.get(snap.sku))
        history.append(snap)
        if draft:
            out.append(draft)
            last[snap.sku] = snap.at
    return out
