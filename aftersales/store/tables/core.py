"""Tables every area shares: orders, parcels, audit, outbox, cursors, idempotency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aftersales.store.tables.base import Base, Timestamps, Versioned, utcnow
from aftersales.store.types import DecimalText, JSONType, UTCDateTime

__all__ = [
    "AuditRow",
    "CursorRow",
    "IdempotencyRow",
    "OrderLineRow",
    "OrderRow",
    "OutboxRow",
    "ShipmentRow",
    "TrackingEventRow",
    "WebhookReceiptRow",
    "tracking_key",
]


class OrderRow(Timestamps, Versioned, Base):
    """An order as last synced from its marketplace."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("marketplace", "external_id"),
        # a report's window (migration 0009): one month is read, not every order
        Index("ix_orders_placed", "placed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(120))
    buyer_id: Mapped[str] = mapped_column(String(120), index=True)
    buyer: Mapped[dict[str, Any]] = mapped_column(JSONType())
    currency: Mapped[str] = mapped_column(String(3))
    shipping: Mapped[Decimal] = mapped_column(DecimalText())
    discount: Mapped[Decimal] = mapped_column(DecimalText())
    total: Mapped[Decimal] = mapped_column(DecimalText())
    raw_status: Mapped[str | None] = mapped_column(String(80))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remote_updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    taxes_included: Mapped[bool] = mapped_column(default=False)
    # [{"amount", "rate_id", "title", "rate"}], amounts as strings in ``currency``
    shipping_taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)
    shop_currency: Mapped[str | None] = mapped_column(String(3))
    shop_total: Mapped[Decimal | None] = mapped_column(DecimalText())
    # the refunds the platform reports on the order (PlatformRefund as JSON), whoever made them
    platform_refunds: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)

    lines: Mapped[list[OrderLineRow]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLineRow.id"
    )


class OrderLineRow(Base):
    """One line of an order."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(120))
    sku: Mapped[str] = mapped_column(String(120), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str | None] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(DecimalText())
    discount: Mapped[Decimal] = mapped_column(DecimalText(), default=Decimal(0))
    taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)

    order: Mapped[OrderRow] = relationship(back_populates="lines")


def tracking_key(number: str | None) -> str | None:
    """A parcel number's folded form, as ``shipments.tracking_key`` keeps it
    (:func:`aftersales.logistics.detect.number_key`)."""
    # Imported here: the logistics package imports these tables.
    from aftersales.logistics.detect import number_key

    return number_key(number)


def _tracking_key(context: Any) -> str | None:
    # The column's default, so the ORM and SQLAlchemy inserts keep it; a statement
    # that bypasses Python defaults (INSERT ... SELECT) passes tracking_key itself.
    return tracking_key(context.get_current_parameters().get("tracking_number"))


class ShipmentRow(Timestamps, Versioned, Base):
    """A parcel: outbound, a buyer's return or an exchange replacement."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("tracking_number", "direction", "order_id"),
        # one parcel per order, direction, folded number and carrier (migration
        # 0007): two processes storing "SF 123" and "sf123" at once store one
        Index("uq_shipments_order_parcel", "order_id", "direction", "tracking_key", "carrier",
              unique=True),
        # and once with no carrier (migration 0010): NULLs never conflict above
        Index("uq_shipments_order_parcel_no_carrier", "order_id", "direction", "tracking_key",
              unique=True, sqlite_where=text("carrier IS NULL"),
              postgresql_where=text("carrier IS NULL")),
        # due parcels, oldest check first (select_due, count_due)
        Index("ix_shipments_open_checked", "terminal", "last_checked_at"),
        # a refresh's chunked claims walk open parcels in id order: each
        # chunk reads its own rows, not every open parcel again
        Index("ix_shipments_open_id", "terminal", "id"),
        # a report's window (migration 0009)
        Index("ix_shipments_shipped", "shipped_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # indexed: page-wise syncs read the parcels of a page's orders
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"),
                                                 index=True)
    rma_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # the store of its order or return request (none for a parcel tracked on its own)
    store: Mapped[str | None] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(20), default="outbound")
    tracking_number: Mapped[str] = mapped_column(String(80), index=True)
    # the number folded (no spacing or dashes, upper case; None when it folds to no
    # tracking number): what pushes and look-ups match, whatever the shop typed
    tracking_key: Mapped[str | None] = mapped_column(String(64), default=_tracking_key,
                                                     index=True)
    carrier: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30), default="pending")
    issue: Mapped[str | None] = mapped_column(String(30))
    raw_status: Mapped[str | None] = mapped_column(String(80))
    provider: Mapped[str | None] = mapped_column(String(40))
    terminal: Mapped[bool] = mapped_column(default=False)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TrackingEventRow(Base):
    """One scan of a parcel; ``fingerprint`` makes re-fetched events idempotent."""

    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str | None] = mapped_column(String(200))
    raw_code: Mapped[str | None] = mapped_column(String(40))
    #: the scan's time had no UTC offset and its zone was inferred from its place
    time_inferred: Mapped[bool] = mapped_column(default=False)


class AuditRow(Base):
    """Who changed what, when, from which status to which, and why."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType())


class OutboxRow(Base):
    """An event or message for the store backend to read (the transactional outbox).

    The columns follow the common transactional-outbox layout (aggregate
    type, aggregate id, event type, payload, created), so a change-data-capture
    relay can stream the table as it is; :mod:`aftersales.outbox` reads it.
    ``topic`` is ``message`` (to a buyer), ``alert`` (to the shop's staff) or
    ``event`` (a domain event such as ``return.approved``). ``claimed_by`` and
    ``claimed_until`` are a reader's lease; ``delivered_at`` its ack.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "delivered_at", "id"),
        Index("ix_outbox_topic_pending", "topic", "delivered_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    topic: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str] = mapped_column(String(80))
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[str] = mapped_column(String(200))
    store: Mapped[str | None] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CursorRow(Base):
    """Where an incremental sync of one stream of one source got to."""

    __tablename__ = "sync_cursors"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class IdempotencyRow(Base):
    """A caller's idempotency key and the result it produced the first time."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookReceiptRow(Base):
    """A signed webhook body received, kept for the replay window (see
    :mod:`aftersales.webhook_receipts`).

    ``key`` is a digest of the platform, the store and the exact signed
    body: no header takes part, since none is signed. ``status`` is
    ``handling`` while one receiver holds the claim (until ``lease_until``),
    then ``done`` with the ``result`` its repeats are answered with. A row
    is deleted once ``expires_at`` passes.
    """

    __tablename__ = "webhook_receipts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    token: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType())
