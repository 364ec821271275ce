"""A stored review as callers read it, and the queries that read one or a page.

The ``get``/``list`` pair every area with records offers: the latest version
of a review with its classification and its links to order, return and parcel.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.errors import NotFoundError, ValidationError
from aftersales.models import Sentiment
from aftersales.store.tables.reviews import ReviewRow

__all__ = ["StoredReview", "check_limit", "get_review", "list_reviews", "stored_review_row"]

#: One past the largest id or count a database integer holds.
_PAST_INTEGERS = 2**63


class StoredReview(BaseModel):
    """One review as the store holds it: the buyer's words, the verdict, the links."""

    model_config = ConfigDict(frozen=True)

    id: int
    store: str
    external_id: str
    sku: str | None
    order_id: str | None  # the marketplace's order id
    rma_id: str | None
    tracking_number: str | None
    rating: int
    title: str | None
    body: str
    appended_body: str | None
    sentiment: str | None
    topics: list[str]
    complaints: list[str]
    severity: int
    replied: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime
    version: int


def _review(row: ReviewRow) -> StoredReview:
    return StoredReview(
        id=row.id, store=row.marketplace, external_id=row.external_id, sku=row.sku,
        order_id=row.order_external_id, rma_id=row.rma_id, tracking_number=row.tracking_number,
        rating=row.rating, title=row.title, body=row.body, appended_body=row.appended_body,
        sentiment=row.sentiment, topics=list(row.topics or ()),
        complaints=list(row.complaints or ()), severity=row.severity, replied=row.replied,
        created_at=row.remote_created_at, updated_at=row.remote_updated_at,
        version=row.current_version)


def stored_review_row(session: Session, review_id: int) -> ReviewRow:
    """The stored row of the review with this id.

    An id no database integer can hold (from 2**63, or below 1) is no
    review's: it is not found, not sent to the database to overflow there.

    Raises:
        NotFoundError: no such review.
        ValidationError: ``review_id`` is not a whole number (a flag is not one).
    """
    if isinstance(review_id, bool) or not isinstance(review_id, int):
        raise ValidationError("must be a whole number", field="review_id")
    row = session.get(ReviewRow, review_id) if 1 <= review_id < _PAST_INTEGERS else None
    if row is None:
        raise NotFoundError("review", review_id)
    return row


def get_review(session: Session, review_id: int) -> StoredReview:
    """The review with this id.

    Raises:
        NotFoundError: no such review.
    """
    return _review(stored_review_row(session, review_id))


def check_limit(limit: object, field: str = "limit") -> None:
    """Refuse a page size no query can use: not a whole number from 1 to 2**63 - 1.

    Raises:
        ValidationError: names ``field``.
    """
    if (isinstance(limit, bool) or not isinstance(limit, int)
            or not 1 <= limit < _PAST_INTEGERS):
        raise ValidationError("must be a whole number from 1 to 2**63 - 1", field=field)


def list_reviews(
    session: Session, *, store: str | None = None, sentiment: str | None = None,
    sku: str | None = None, max_rating: int | None = None, replied: bool | None = None,
    since: datetime | None = None, limit: int = 50,
) -> list[StoredReview]:
    """Reviews, newest first, filtered by store, sentiment, SKU, rating, reply or date.

    Raises:
        ValidationError: a limit, a rating (1–5) or a sentiment no review can
            have, named.
    """
    check_limit(limit)
    if max_rating is not None and (isinstance(max_rating, bool)
                                   or not isinstance(max_rating, int)
                                   or not 1 <= max_rating <= 5):
        raise ValidationError("must be a rating from 1 to 5", field="max_rating")
    if sentiment is not None and sentiment not in {s.value for s in Sentiment}:
        raise ValidationError(
            f"must be one of {', '.join(s.value for s in Sentiment)}", field="sentiment")
    query = select(ReviewRow).order_by(ReviewRow.remote_created_at.desc(),
                                       ReviewRow.id.desc()).limit(limit)
    if store is not None:
        query = query.where(ReviewRow.marketplace == store)
    if sentiment is not None:
        query = query.where(ReviewRow.sentiment == sentiment)
    if sku is not None:
        query = query.where(ReviewRow.sku == sku)
    if max_rating is not None:
        query = query.where(ReviewRow.rating <= max_rating)
    if replied is not None:
        query = query.where(ReviewRow.replied.is_(replied))
    if since is not None:
        query = query.where(ReviewRow.remote_created_at >= since)
    return [_review(r) for r in session.scalars(query)]
