"""Tables of the reviews area: reviews, every version of each, alerts and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aftersales.store.tables.base import Base, Timestamps
from aftersales.store.types import JSONType, UTCDateTime

__all__ = ["ReviewAlertRow", "ReviewReplyRow", "ReviewRow", "ReviewVersionRow"]


class ReviewRow(Timestamps, Base):
    """The latest version of a review, classified, with its links to order,
    return request and parcel where they are known."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("marketplace", "external_id"),
        Index("ix_reviews_sku_created", "sku", "remote_created_at"),
        Index("ix_reviews_marketplace_created", "marketplace", "remote_created_at"),
        # a report's window over every store (migration 0009)
        Index("ix_reviews_created", "remote_created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str | None] = mapped_column(String(120))
    order_external_id: Mapped[str | None] = mapped_column(String(120), index=True)
    order_line_external_id: Mapped[str | None] = mapped_column(String(120))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    return_external_id: Mapped[str | None] = mapped_column(String(120))
    rma_id: Mapped[str | None] = mapped_column(
        ForeignKey("return_requests.rma_id", ondelete="SET NULL")
    )
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    rating: Mapped[int] = mapped_column(Integer)
    author: Mapped[str | None] = mapped_column(String(120))  # the public display name
    title: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    appended_body: Mapped[str | None] = mapped_column(Text)
    sentiment: Mapped[str | None] = mapped_column(String(20))
    topics: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    complaints: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    severity: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # The marketplace shows a shop reply (made here or in its own back office).
    replied: Mapped[bool] = mapped_column(default=False)
    remote_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remote_updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    #: the marketplace took the review down (spam, trash, hidden): out of rates and alerts
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ReviewVersionRow(Base):
    """One version of a review as it was seen; a re-sync of the same content adds nothing."""

    __tablename__ = "review_versions"
    __table_args__ = (UniqueConstraint("review_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)
    sentiment: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # Many-to-one only: a new version is added without loading the others.
    review: Mapped[ReviewRow] = relationship()


class ReviewAlertRow(Base):
    """An alert raised by a rule; one per rule and subject (the review it is about)."""

    __tablename__ = "review_alerts"
    __table_args__ = (
        UniqueConstraint("rule", "subject"),
        Index("ix_review_alerts_sku_rule", "sku", "rule", "created_at"),
        Index("ix_review_alerts_pending", "delivered_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    marketplace: Mapped[str | None] = mapped_column(String(40))
    sku: Mapped[str | None] = mapped_column(String(120))
    severity: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    # When the review version that raised it appeared; spikes cool down on this.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Channels that have the alert; delivered_at is set once every channel has it.
    delivered_to: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    #: while in the future, one delivery is sending it and no other may
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewReplyRow(Base):
    """The shop's reply to a review; unique on the review, so it is never sent twice.

    ``status`` is ``sending`` from the moment the row is claimed until the
    marketplace answers (a crash in between leaves it ``sending``, and the
    next attempt re-sends with the same idempotency key), then ``sent``.
    """

    __tablename__ = "review_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), unique=True
    )
    template: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    remote_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
