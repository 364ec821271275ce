"""Review metrics: count, average rating, positive (好评率) and negative rates, and the
topics negative reviews raise most, per SKU or per shop over a window."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from aftersales.errors import ValidationError
from aftersales.models import Sentiment
from aftersales.store.tables.reviews import ReviewRow
from aftersales.times import aware

__all__ = ["GroupBy", "ReviewMetrics", "compute_metrics"]

GroupBy = Literal["sku", "shop"]
_TOP = 3


@dataclass(frozen=True)
class ReviewMetrics:
    """The reviews of one SKU or one shop (marketplace) written in a window.

    Attributes:
        key: the SKU (``None`` for reviews of no SKU) or the marketplace name.
        count: reviews written in the window.
        average_rating: mean stars, to two decimals.
        positive_rate: share classified positive (好评率), 0–1.
        negative_rate: share classified negative, 0–1.
        top_negative_topics: the most frequent topics of the negative ones,
            with their counts, most frequent first.
    """

    key: str | None
    count: int
    average_rating: float
    positive_rate: float
    negative_rate: float
    top_negative_topics: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly dict (for ``--json`` and reports)."""
        return {
            "key": self.key,
            "count": self.count,
            "average_rating": self.average_rating,
            "positive_rate": self.positive_rate,
            "negative_rate": self.negative_rate,
            "top_negative_topics": [{"topic": t, "count": n} for t, n in self.top_negative_topics],
        }


def compute_metrics(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: GroupBy = "sku",
) -> list[ReviewMetrics]:
    """Metrics per group for reviews written in ``[since, until)``, busiest first.

    The counting happens in SQL; only the negative reviews' topic lists are
    read back, to rank their topics.

    Raises:
        ValidationError: ``by`` is neither ``"sku"`` nor ``"shop"``, or the
            window is empty or has a naive end.
    """
    if by not in ("sku", "shop"):
        raise ValidationError("must be 'sku' or 'shop'", field="by")
    aware(since, "since")
    aware(until, "until")
    if since is not None and until is not None and since >= until:
        raise ValidationError("must be after since", field="until")
    column = ReviewRow.sku if by == "sku" else ReviewRow.marketplace
    window: list[ColumnElement[bool]] = [ReviewRow.hidden.is_(False)]  # what shoppers see
    if since is not None:
        window.append(ReviewRow.remote_created_at >= since)
    if until is not None:
        window.append(ReviewRow.remote_created_at < until)
    positive = func.sum(case((ReviewRow.sentiment == Sentiment.POSITIVE.value, 1), else_=0))
    negative = func.sum(case((ReviewRow.sentiment == Sentiment.NEGATIVE.value, 1), else_=0))
    rows = session.execute(
        select(column, func.count(), func.avg(ReviewRow.rating), positive, negative)
        .where(*window)
        .group_by(column)
    ).all()
    topics: dict[str | None, Counter[str]] = {}
    for key, listed in session.execute(
        select(column, ReviewRow.topics).where(
            *window, ReviewRow.sentiment == Sentiment.NEGATIVE.value
        )
    ):
        topics.setdefault(key, Counter()).update(listed or ())
    out = [
        ReviewMetrics(
            key=key,
            count=int(count),
            average_rating=round(float(avg), 2),
            positive_rate=round(int(pos) / count, 4),
            negative_rate=round(int(neg) / count, 4),
            top_negative_topics=sorted(
                topics.get(key, Counter()).items(), key=lambda kv: (-kv[1], kv[0])
            )[:_TOP],
        )
        for key, count, avg, pos, neg in rows
    ]
    return sorted(out, key=lambda m: (-m.count, m.key or ""))
