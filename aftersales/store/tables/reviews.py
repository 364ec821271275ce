"""Tables of the reviews area: reviews, every version of each, and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aftersales.store.tables.base import Base, Timestamps
from aftersales.store.types import JSONType, UTCDateTime

__all__ = ["AlertRow", "ReviewRow", "ReviewVersionRow"]


class ReviewRow(Timestamps, Base):
    """The latest version of a review."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("marketplace", "external_id"),
        Index("ix_reviews_sku_created", "sku", "remote_created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str | None] = mapped_column(String(120))
    order_external_id: Mapped[str | None] = mapped_column(String(120))
    order_line_external_id: Mapped[str | None] = mapped_column(String(120))
    rating: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")
    sentiment: Mapped[str | None] = mapped_column(String(20))
    topics: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    severity: Mapped[int] = mapped_column(Integer, default=0)
    replied: Mapped[bool] = mapped_column(default=False)
    remote_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remote_updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    current_version: Mapped[int] = mapped_column(Integer, default=1)


class ReviewVersionRow(Base):
    """One version of a review as it was seen; a re-sync of the same text adds nothing."""

    __tablename__ = "review_versions"
    __table_args__ = (UniqueConstraint("review_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertRow(Base):
    """An alert raised by a rule; one per rule and subject."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("rule", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    severity: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
