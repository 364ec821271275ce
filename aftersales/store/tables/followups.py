"""Tables of the follow-ups area.

* ``follow_ups``: one row per scheduled visit (回访), claimed by workers under
  a lease. The ``(status, due_at)`` index makes finding due rows cost what is
  due, not what is scheduled; ``(status, lease_until)`` finds expired leases.
* ``contact_log``: every message the library sent a buyer, whatever sent it;
  the contact policy's frequency caps count these.
* ``contact_holds``: open matters (a return, a complaint, a negative review)
  that hold some messages back, and when each was resolved.
* ``contact_opt_outs``: buyers who asked not to be contacted.
* ``channel_health``: a channel that failed as a whole (refused login, server
  out of reach): how many of its tries failed in a row and until when its
  queue is kept. The wait before the next try grows with that count, so it
  is a column of its own, never read back from an error text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aftersales.store.tables.base import Base, Timestamps, Versioned, utcnow
from aftersales.store.types import JSONType, UTCDateTime

__all__ = ["ChannelHealthRow", "ContactHoldRow", "ContactLogRow", "FollowUpRow", "OptOutRow"]


class FollowUpRow(Timestamps, Versioned, Base):
    """A follow-up: due work claimed by a worker under a lease."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_due", "status", "due_at"),
        Index("ix_follow_ups_lease", "status", "lease_until"),
        Index("ix_follow_ups_plan", "plan", "status"),
        # a report's window (migration 0009)
        Index("ix_follow_ups_sent", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20), default="follow_up")
    channel: Mapped[str] = mapped_column(String(40))
    buyer_id: Mapped[str] = mapped_column(String(120), index=True)
    marketplace: Mapped[str | None] = mapped_column(String(40))
    order_external_id: Mapped[str | None] = mapped_column(String(120), index=True)
    rma_id: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_id: Mapped[str | None] = mapped_column(String(200))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


class ContactLogRow(Base):
    """One message the library sent a buyer (any plan, area or channel)."""

    __tablename__ = "contact_log"
    __table_args__ = (Index("ix_contact_log_buyer_sent", "buyer_id", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    buyer_id: Mapped[str] = mapped_column(String(120))
    #: the store the contact was made for (caps count per store); ``None``: every store
    store: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(80), default="")


class ContactHoldRow(Base):
    """An open (or resolved) matter that holds some messages to a buyer back."""

    __tablename__ = "contact_holds"
    __table_args__ = (
        UniqueConstraint("buyer_id", "kind", "ref"),
        Index("ix_contact_holds_buyer", "buyer_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OptOutRow(Base):
    """A buyer who asked not to be contacted: ``scope`` is ``*`` or one message kind."""

    __tablename__ = "contact_opt_outs"
    __table_args__ = (UniqueConstraint("buyer_id", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyer_id: Mapped[str] = mapped_column(String(120))
    scope: Mapped[str] = mapped_column(String(20), default="*")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


class ChannelHealthRow(Base):
    """A channel whose tries have failed as a whole, by the channel's name.

    ``failures`` counts the tries in a row that failed (one per wait: workers
    that meet the same outage before ``retry_at`` count it once);
    ``retry_at`` is when the kept queue is next tried. A send that goes
    through deletes the row.
    """

    __tablename__ = "channel_health"

    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
