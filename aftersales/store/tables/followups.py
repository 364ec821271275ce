"""Tables of the follow-ups area: one row per scheduled visit (回访)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aftersales.store.tables.base import Base, Timestamps, Versioned
from aftersales.store.types import JSONType, UTCDateTime

__all__ = ["FollowUpRow"]


class FollowUpRow(Timestamps, Versioned, Base):
    """A follow-up: due work claimed by a worker under a lease."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(40))
    buyer_id: Mapped[str] = mapped_column(String(120), index=True)
    order_external_id: Mapped[str | None] = mapped_column(String(120))
    rma_id: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
