"""Tables of the returns area: requests, their lines, refunds and SLA deadlines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aftersales.store.tables.base import Base, Timestamps, Versioned
from aftersales.store.types import DecimalText, JSONType, UTCDateTime

__all__ = [
    "ActionClaimRow",
    "BulkKeyRow",
    "PlatformDeadlineRow",
    "RefundLineRow",
    "RefundRow",
    "ReturnDeadlineRow",
    "ReturnLineRow",
    "ReturnRow",
]


class ReturnRow(Timestamps, Versioned, Base):
    """A return, exchange or refund-only request (an RMA)."""

    __tablename__ = "return_requests"
    __table_args__ = (
        UniqueConstraint("marketplace", "external_id"),
        Index("ix_return_requests_status", "status", "updated_at"),
    )

    rma_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(120))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    order_external_id: Mapped[str] = mapped_column(String(120), index=True)
    buyer_id: Mapped[str | None] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    raw_status: Mapped[str | None] = mapped_column(String(80))
    currency: Mapped[str | None] = mapped_column(String(3))
    requested_amount: Mapped[Decimal | None] = mapped_column(DecimalText())
    buyer_note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    return_tracking_number: Mapped[str | None] = mapped_column(String(80))
    return_carrier: Mapped[str | None] = mapped_column(String(40))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    remote_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The eligibility verdict when the request arrived: eligible / needs_review / ineligible.
    eligibility: Mapped[str | None] = mapped_column(String(20))
    eligibility_reasons: Mapped[list[str] | None] = mapped_column(JSONType())
    exchange_tracking_number: Mapped[str | None] = mapped_column(String(80))
    exchange_carrier: Mapped[str | None] = mapped_column(String(40))
    #: how far the order had gone when the buyer asked (FulfilmentStage), if known
    stage: Mapped[str | None] = mapped_column(String(20))
    #: the marketplace's risk verdict (RiskSignal fields), if it gave one
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    #: the platform's dispute (PlatformDispute fields), if one was opened
    dispute: Mapped[dict[str, Any] | None] = mapped_column(JSONType())

    lines: Mapped[list[ReturnLineRow]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnLineRow.id"
    )
    platform_deadline: Mapped[PlatformDeadlineRow | None] = relationship(
        cascade="all, delete-orphan", lazy="selectin", uselist=False
    )


class ReturnLineRow(Base):
    """One order line in a request, with its own reason and inspection result."""

    __tablename__ = "return_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rma_id: Mapped[str] = mapped_column(ForeignKey("return_requests.rma_id", ondelete="CASCADE"))
    order_line_external_id: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str | None] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)
    replacement_sku: Mapped[str | None] = mapped_column(String(120))
    inspection: Mapped[list[str] | None] = mapped_column(JSONType())

    request: Mapped[ReturnRow] = relationship(back_populates="lines")


class RefundRow(Base):
    """A refund paid (or being paid) for a request; unique on its idempotency key."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rma_id: Mapped[str | None] = mapped_column(
        ForeignKey("return_requests.rma_id", ondelete="SET NULL"), index=True
    )
    order_external_id: Mapped[str] = mapped_column(String(120), index=True)
    marketplace: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    shipping: Mapped[Decimal] = mapped_column(DecimalText(), default=Decimal(0))
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONType())
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    #: what the caller asked for (amount, shipping): the same key must ask the same
    fingerprint: Mapped[str | None] = mapped_column(String(200))
    #: pushes started; above zero, the refund may have reached the marketplace
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: while in the future, one caller is pushing it and no other may
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list[RefundLineRow]] = relationship(
        cascade="all, delete-orphan", order_by="RefundLineRow.id"
    )


class RefundLineRow(Base):
    """The part of a refund that pays back one order line (the ledger the caps read)."""

    __tablename__ = "refund_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"),
                                           index=True)
    order_line_external_id: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(DecimalText())


class ReturnDeadlineRow(Base):
    """The SLA deadline a request is under now: one row per request, replaced on each move.

    ``name`` is ``None`` when no deadline runs. The timer tick claims due rows
    (``lease_until`` keeps two workers off the same one), sends the alert at
    ``alert_at`` and applies ``action`` at ``due_at``.
    """

    __tablename__ = "return_deadlines"
    # One index: alerts are found by ``due_at`` too (within the longest alert lead).
    __table_args__ = (Index("ix_return_deadlines_due", "due_at"),)

    rma_id: Mapped[str] = mapped_column(
        ForeignKey("return_requests.rma_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(30))
    action: Mapped[str | None] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class PlatformDeadlineRow(Base):
    """The marketplace's own deadline on a request, beside the shop's SLA deadline.

    One row per request, written by the sync (the marketplace moves it with
    each status) and by an extension the shop asked for; ``extensions``
    counts those. ``alerted_at`` keeps the warning before it to one.
    """

    __tablename__ = "return_platform_deadlines"
    __table_args__ = (Index("ix_return_platform_deadlines_due", "due_at"),)

    rma_id: Mapped[str] = mapped_column(
        ForeignKey("return_requests.rma_id", ondelete="CASCADE"), primary_key=True
    )
    store: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(30))
    raw_status: Mapped[str | None] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    extendable: Mapped[bool] = mapped_column(Boolean, default=False)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ActionClaimRow(Base):
    """A merchant action on a request that is being told to its marketplace (one per request).

    Committed before the call, so a second caller sees it and is refused
    instead of calling too. ``state`` is ``planned`` (a policy's automatic
    decision committed with its request, nothing sent yet: ``actor`` and
    ``reason`` say who decided and why), ``pushing`` (the call is under way,
    or its process died: ``lease_until`` then runs out), ``pushed`` (the
    marketplace answered; the local write is left) or ``unknown`` (the
    answer was lost: the marketplace may have acted). The local write that
    follows a push deletes the row in its own transaction.
    """

    __tablename__ = "return_action_claims"

    rma_id: Mapped[str] = mapped_column(
        ForeignKey("return_requests.rma_id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(String(30))
    #: the request's version when claimed: once the request moved on, the claim is void
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    #: who holds it: a fresh value per claim, so one caller never settles another's
    token: Mapped[str] = mapped_column(String(40))
    #: pushes started; above one, an earlier push may have reached the marketplace
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: while in the future, its holder may be calling the marketplace and no one else may
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: why the last push's outcome is unknown (masked, one line)
    error: Mapped[str | None] = mapped_column(Text)
    #: an automatic decision's decider (``policy:<rule>``); empty for a merchant's action
    actor: Mapped[str | None] = mapped_column(String(120))
    #: an automatic decision's reason: the audit row's, and a refusal's text for the buyer
    reason: Mapped[str | None] = mapped_column(Text)


class BulkKeyRow(Base):
    """A bulk-file row already applied, written in the same transaction as its effect."""

    __tablename__ = "return_bulk_keys"
    __table_args__ = ({"sqlite_with_rowid": False},)  # the key is the whole point: one b-tree

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    rma_id: Mapped[str | None] = mapped_column(String(40))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
