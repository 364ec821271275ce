"""Tables of the complaint cases area (投诉工单).

* ``cases``: one row per case. ``open_key`` holds ``store|buyer|order|kind``
  while the case is open and NULL once it is closed; its unique constraint
  is the database's guarantee of one open case per store, buyer, order and
  kind, whatever number of processes open cases at once (NULLs never clash,
  on SQLite or PostgreSQL).
* ``case_facts``: what each trigger or person added to a case; ``key`` is
  unique, so a retried event never adds the same fact twice.
* ``case_links``: the return requests, refunds, parcels, reviews and
  follow-ups a case is about.
* ``case_slas``: the case's deadlines (first response, resolution) as
  objects. ``next_at`` is the next moment the SLA tick must look at the row
  (its warning or its breach), NULL when nothing is due (paused, met or
  breached); the ``next_at`` index makes a tick cost what is due, not what
  is open.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aftersales.store.tables.base import Base, Timestamps, Versioned, utcnow
from aftersales.store.types import DecimalText, JSONType, UTCDateTime

__all__ = ["CaseFactRow", "CaseLinkRow", "CaseRow", "CaseSlaRow"]


class CaseRow(Timestamps, Versioned, Base):
    """A complaint case: who, which order, what kind, where it is in the loop."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_buyer", "buyer_id", "opened_at"),
        Index("ix_cases_status", "status", "opened_at"),
        Index("ix_cases_order", "store", "order_id"),
        # a report's window (migration 0009)
        Index("ix_cases_opened", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(30))
    buyer_id: Mapped[str] = mapped_column(String(120))
    order_id: Mapped[str | None] = mapped_column(String(120))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="received")
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    root_cause: Mapped[str | None] = mapped_column(String(80))
    cause_valid: Mapped[bool | None] = mapped_column()
    assignee: Mapped[str | None] = mapped_column(String(120))
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    order_total: Mapped[Decimal | None] = mapped_column(DecimalText())
    currency: Mapped[str | None] = mapped_column(String(3))
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    csat: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseFactRow(Base):
    """One fact of a case: a trigger (an event) or something a person recorded."""

    __tablename__ = "case_facts"
    __table_args__ = (Index("ix_case_facts_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)


class CaseLinkRow(Base):
    """A link from a case to a return, refund, parcel, review or follow-up."""

    __tablename__ = "case_links"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "ref"),
        Index("ix_case_links_ref", "kind", "ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseSlaRow(Base):
    """One deadline of a case (first response or resolution) and its clock."""

    __tablename__ = "case_slas"
    __table_args__ = (
        UniqueConstraint("case_id", "metric"),
        Index("ix_case_slas_next", "next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(20))
    clock: Mapped[str] = mapped_column(String(10), default="calendar")
    round: Mapped[int] = mapped_column(Integer, default=1)
    target_seconds: Mapped[float] = mapped_column(Float)
    warn_seconds: Mapped[float] = mapped_column(Float)
    elapsed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="running")
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
