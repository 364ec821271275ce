"""A stored review as callers read it, and the queries that read one or a page.

The ``get``/``list`` pair every area with records offers: the latest version
of a review with its classification and its links to order, return and parcel.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.errors import NotFoundError
from aftersales.store.tables.reviews import ReviewRow

__all__ = ["StoredReview", "get_review", "list_reviews", "stored_review_row"]


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
    """
    row = session.get(ReviewRow, review_id) if 1 <= review_id < 2**63 else None
    if row is None:
        raise NotFoundError("review", review_id)
    return row


def get_review(session: Session, review_id: int) -> StoredReview:
    """The review with this id.

    Raises:
        NotFoundError: no such review.
    """
    return _review(stored_review_row(session, review_id))


def list_reviews(
    session: Session, *, store: str | None = None, sentiment: str | None = None,
    sku: str | None = None, max_rating: int | None = None, replied: bool | None = None,
    since: datetime | None = None, limit: int = 50,
) -> list[StoredReview]:
    """Reviews, newest first, filtered by store, sentiment, SKU, rating, reply or date."""
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
