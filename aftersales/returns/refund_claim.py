"""The refund claim: the rows and locks that make a refund paid at most once.

A refund is claimed in one short transaction that holds the order's lock
(:func:`lock_order`): the amount is decided from the ledger of every paid
*and pending* refund on the order, the caps are checked, and the pending
row is written with a *push lease* (:func:`take`). The transaction commits
before anything is sent, so every other caller sees the pending row and
either resumes it (same key, same values, lease free), or is refused
naming it. Only the holder of the lease pushes; a lease left by a crashed
caller runs out and the next caller (or the reconciliation tick) takes it.

``attempts`` counts the pushes ever started: above one, an earlier push
may have reached the marketplace, so the next one first asks the
marketplace whether the refund exists (``Marketplace.find_refund``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aftersales.models import Order, Refund, RefundLine
from aftersales.money import Money
from aftersales.returns.refunds import RefundBreakdown
from aftersales.returns.repository import load_order
from aftersales.store.locking import begin_write
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.returns import RefundRow

__all__ = [
    "PUSH_LEASE",
    "PUSH_MARGIN",
    "Claimed",
    "as_refund",
    "by_key",
    "fingerprint",
    "lock_order",
    "pending_of",
    "take",
]

#: How long one caller may push a refund before another may take it over.
PUSH_LEASE = timedelta(minutes=2)
#: How long before its lease runs out a push stops making calls (clock skew between
#: workers, the last call's answer, the outcome's write): its calls share the rest.
PUSH_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class Claimed:
    """A refund claimed for a push (or found already paid).

    Attributes:
        rma_id: the request.
        instruction: what goes to the marketplace (the stored values and key).
        paid: the key already paid: nothing is sent.
        attempts: pushes started, this one included.
        other_keys: keys of the request's earlier attempts that were refused.
        known_ids: marketplace ids of the refunds recorded on the order.
        lease_ends: when the push lease taken for this push runs out, on this
            process's monotonic clock (a store's clock may be a fake one); the
            push must be over :data:`PUSH_MARGIN` before it.
    """

    rma_id: str
    instruction: Refund
    paid: bool = False
    attempts: int = 1
    other_keys: tuple[str, ...] = ()
    known_ids: frozenset[str] = field(default_factory=frozenset)
    lease_ends: float | None = None

    @property
    def resumed(self) -> bool:
        """An earlier push may have reached the marketplace: look before sending."""
        return self.attempts > 1


def lock_order(session: Session, marketplace: str, order_id: str) -> None:
    """Hold the order until the transaction ends: one refund decision at a time.

    SQLite: the database's write lock, taken before the first read.
    PostgreSQL: ``SELECT … FOR UPDATE`` on the order's row.
    """
    begin_write(session)
    session.execute(select(OrderRow.id).where(
        OrderRow.marketplace == marketplace, OrderRow.external_id == order_id,
    ).with_for_update())


def fingerprint(amount: Money | None, refund_shipping: bool | None) -> str:
    """What a caller asked for, to compare a key's later uses with its first."""
    asked = "in full" if amount is None else f"for {amount.amount.normalize():f} {amount.currency}"
    shipping = {None: "", True: ", shipping in", False: ", shipping out"}[refund_shipping]
    return asked + shipping


def by_key(session: Session, key: str, *, lock: bool = False) -> RefundRow | None:
    """The refund stored under ``key``, with its lines.

    ``lock``: read it ``FOR UPDATE`` (see :func:`pending_of`).
    """
    query = (select(RefundRow).options(selectinload(RefundRow.lines))
             .where(RefundRow.idempotency_key == key))
    return session.scalar(query.with_for_update() if lock else query)


def pending_of(session: Session, rma_id: str, *, lock: bool = False) -> RefundRow | None:
    """The request's pending refund, if one is in flight.

    ``lock``: read it ``FOR UPDATE``, as a claim does before it takes the push
    lease. The ``refunds`` tick takes leases without the order's lock; on
    PostgreSQL a claim reading the row unlocked saw the lease as it was before
    the tick committed, took it again and pushed the refund beside the tick.
    Locked, it waits for the tick and reads the lease the tick took.
    """
    query = (select(RefundRow).options(selectinload(RefundRow.lines))
             .where(RefundRow.rma_id == rma_id, RefundRow.status == "pending")
             .order_by(RefundRow.id).limit(1))
    return session.scalar(query.with_for_update() if lock else query)


def leased(row: RefundRow, now: datetime) -> bool:
    """Someone holds the push lease now."""
    return row.lease_until is not None and row.lease_until > now


def take(session: Session, row: RefundRow, rma_id: str, now: datetime, *, resumed: bool,
         lease: timedelta | None = None) -> Claimed:
    """Take the push lease on ``row`` and count the attempt.

    ``resumed``: the row was claimed before, so a push may have reached the
    marketplace whatever the count says. ``lease``: :data:`PUSH_LEASE` unless given.
    """
    refused = session.scalars(select(RefundRow.idempotency_key).where(
        RefundRow.rma_id == rma_id, RefundRow.status == "failed")).all()
    # After a refusal, look first too: an attempt recorded as refused may yet have paid
    # (an older release took a 5xx for a refusal), and its key is then found.
    row.attempts = max((row.attempts or 0) + 1, 2 if resumed or refused else 1)
    row.attempted_at = now
    lease = lease or PUSH_LEASE
    row.lease_until = now + lease
    ends = time.monotonic() + lease.total_seconds()
    session.flush()
    known = session.scalars(select(RefundRow.external_id).where(
        RefundRow.marketplace == row.marketplace,
        RefundRow.order_external_id == row.order_external_id,
        RefundRow.external_id.is_not(None))).all()
    stored = load_order(session, row.marketplace, row.order_external_id)
    instruction = as_refund(row, order=stored[0] if stored else None)
    return Claimed(rma_id, instruction, attempts=row.attempts, other_keys=tuple(refused),
                   known_ids=frozenset(k for k in known if k), lease_ends=ends)


def as_refund(row: RefundRow, note: str | None = None, order: Order | None = None) -> Refund:
    """The stored refund as the instruction (or the record) it is.

    The stored breakdown keeps the tax the lines carried; with ``order``,
    each line's tax is split over its rates again (WooCommerce names them).
    """
    cur = row.currency
    try:
        breakdown = RefundBreakdown.model_validate(row.breakdown)
    except PydanticValidationError:
        breakdown = None
    if breakdown is not None:
        return breakdown.to_refund(row.order_external_id, row.idempotency_key, note,
                                   order=order).model_copy(update={
            "external_id": row.external_id, "raw_status": row.status,
            "created_at": row.created_at,
            # what was paid: the marketplace may have paid another amount than was asked
            "amount": Money(row.amount, cur)})
    return Refund(
        order_id=row.order_external_id, amount=Money(row.amount, cur),
        lines=[RefundLine(order_line_id=ln.order_line_external_id, quantity=ln.quantity,
                          amount=Money(ln.amount, cur)) for ln in row.lines],
        shipping=Money(row.shipping, cur) if row.shipping else None, note=note,
        idempotency_key=row.idempotency_key, external_id=row.external_id,
        raw_status=row.status, created_at=row.created_at,
    )
