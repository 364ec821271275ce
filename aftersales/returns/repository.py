"""Reading and writing return requests: rows ↔ models, audit, ledgers, buyer history.

Every function takes the caller's session, so a service composes them into
one transaction. Nothing here decides a business rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session, selectinload

from aftersales.errors import NotFoundError
from aftersales.models import (
    FulfilmentStage,
    Order,
    PlatformDispute,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    RiskSignal,
)
from aftersales.money import Money
from aftersales.returns.platform_deadlines import platform_deadline_model
from aftersales.returns.policy import BuyerStats
from aftersales.returns.refunds import RefundLedger, ledger_from, with_outside
from aftersales.store.orders import get_order_row, order_from_row
from aftersales.store.tables.core import AuditRow, OrderRow
from aftersales.store.tables.returns import RefundLineRow, RefundRow, ReturnLineRow, ReturnRow

__all__ = [
    "ENTITY",
    "AuditEntry",
    "audit",
    "audit_values",
    "buyer_stats",
    "fill_lines",
    "history",
    "ledger_for",
    "line_values",
    "load_order",
    "load_row",
    "new_rma_id",
    "to_model",
    "units_taken",
]

#: The ``entity`` name of return requests in the audit log.
ENTITY = "return"

_LIVE = (
    ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED,
    ReturnStatus.RECEIVED, ReturnStatus.REFUNDED, ReturnStatus.EXCHANGE_SHIPPED,
)


class AuditEntry(BaseModel):
    """One line of a request's history: who moved it, when, from where to where, and why."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    from_status: str | None
    to_status: str | None
    reason: str | None = None
    note: str | None = None
    data: dict[str, Any] | None = None


def new_rma_id() -> str:
    """A fresh, unguessable RMA id (``RMA-3F9A1C0B7D2E``)."""
    return "RMA-" + uuid.uuid4().hex[:12].upper()


def load_row(session: Session, rma_id: str) -> ReturnRow:
    """The request with its lines.

    Raises:
        NotFoundError: no request has that id.
    """
    row = session.scalar(
        select(ReturnRow).options(selectinload(ReturnRow.lines)).where(ReturnRow.rma_id == rma_id)
    )
    if row is None:
        raise NotFoundError("return request", rma_id)
    return row


def to_model(row: ReturnRow) -> ReturnRequest:
    """The stored request as the core's model."""
    cur = row.currency
    return ReturnRequest(
        marketplace=row.marketplace,
        order_id=row.order_external_id,
        kind=ReturnKind(row.kind),
        lines=[
            ReturnLine(
                order_line_id=ln.order_line_external_id, sku=ln.sku, quantity=ln.quantity,
                reason=ReturnReason(ln.reason), reason_text=ln.reason_text,
                replacement_sku=ln.replacement_sku,
            )
            for ln in row.lines
        ],
        status=ReturnStatus(row.status),
        raw_status=row.raw_status,
        external_id=row.external_id,
        rma_id=row.rma_id,
        requested_amount=Money(row.requested_amount, cur)
        if row.requested_amount is not None and cur else None,
        buyer_note=row.buyer_note,
        evidence=list(row.evidence or []),
        return_tracking_number=row.return_tracking_number,
        return_carrier=row.return_carrier,
        created_at=row.created_at,
        updated_at=row.updated_at,
        stage=FulfilmentStage(row.stage) if row.stage else None,
        platform_deadline=platform_deadline_model(row.platform_deadline),
        risk=RiskSignal.model_validate(row.risk) if row.risk else None,
        dispute=PlatformDispute.model_validate(row.dispute) if row.dispute else None,
    )


def fill_lines(row: ReturnRow, lines: Sequence[ReturnLine], order: Order | None) -> None:
    """Replace the request's lines (SKUs filled in from the order when missing)."""
    row.lines.clear()
    for values in line_values(lines, order):
        row.lines.append(ReturnLineRow(**values))


def line_values(lines: Sequence[ReturnLine], order: Order | None) -> list[dict[str, Any]]:
    """The ``return_lines`` columns of ``lines`` (SKUs filled in from the order when missing)."""
    out = []
    for line in lines:
        sku = line.sku
        if sku is None and order is not None:
            try:
                sku = order.line(line.order_line_id).sku
            except KeyError:
                sku = None
        out.append({"order_line_external_id": line.order_line_id, "sku": sku,
                    "quantity": line.quantity, "reason": line.reason.value,
                    "reason_text": line.reason_text, "replacement_sku": line.replacement_sku})
    return out


def audit(
    session: Session, rma_id: str, *, actor: str, at: datetime, source: ReturnStatus | None,
    target: ReturnStatus | None, reason: str | None = None, note: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Add one audit row to the caller's transaction."""
    session.add(AuditRow(**audit_values(rma_id, actor=actor, at=at, source=source,
                                        target=target, reason=reason, note=note, data=data)))


def audit_values(
    rma_id: str, *, actor: str, at: datetime, source: ReturnStatus | None,
    target: ReturnStatus | None, reason: str | None = None, note: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``audit_log`` columns of one audit row (for a set-based insert)."""
    return {
        "entity": ENTITY, "entity_id": rma_id, "actor": actor, "at": at,
        "from_status": source.value if source else None,
        "to_status": target.value if target else None,
        "reason": reason[:200] if reason else None, "note": note, "data": data,
    }


def history(session: Session, rma_id: str) -> list[AuditEntry]:
    """The request's audit trail, oldest first."""
    rows = session.scalars(
        select(AuditRow).where(AuditRow.entity == ENTITY, AuditRow.entity_id == rma_id)
        .order_by(AuditRow.id)
    )
    return [
        AuditEntry(at=r.at, actor=r.actor, from_status=r.from_status, to_status=r.to_status,
                   reason=r.reason, note=r.note, data=r.data)
        for r in rows
    ]


def load_order(session: Session, marketplace: str, order_id: str) -> tuple[Order, int] | None:
    """The stored order and its row id, or ``None`` when it was never synced."""
    row = get_order_row(session, marketplace, order_id)
    return None if row is None else (order_from_row(row), row.id)


def ledger_for(
    session: Session, marketplace: str, order_id: str, rma_id: str,
    order: Order | None = None,
) -> tuple[RefundLedger, Decimal]:
    """Earlier refunds on the order (paid or still pending) and the shipping ``rma_id`` got.

    With ``order``, the refunds its platform reports that the library did not
    make are counted too; the library's own are known by the platform's
    refund id it recorded (:func:`~aftersales.returns.refunds.with_outside`).
    """
    on_order = (RefundRow.marketplace == marketplace, RefundRow.order_external_id == order_id)
    live = (*on_order, RefundRow.status.in_(("pending", "paid")))
    lines = session.execute(
        select(RefundRow.rma_id, RefundLineRow.order_line_external_id, RefundLineRow.quantity,
               RefundLineRow.amount)
        .join(RefundLineRow, RefundLineRow.refund_id == RefundRow.id).where(*live)
    ).all()
    rows = [(r or "", lid, q, a) for r, lid, q, a in lines]
    shipping: dict[str, Decimal] = {}
    total = Decimal(0)
    for rid, amount, money in session.execute(
            select(RefundRow.rma_id, RefundRow.shipping, RefundRow.amount).where(*live)):
        shipping[rid or ""] = shipping.get(rid or "", Decimal(0)) + (amount or Decimal(0))
        total += money or Decimal(0)
    # The shipping tax told with a part of the shipping, from the refund's breakdown (only
    # refunds that paid shipping: one an order, or a partial and its top-up).
    shipping_tax: dict[str, Decimal] = {}
    for rid, breakdown in session.execute(
            select(RefundRow.rma_id, RefundRow.breakdown).where(*live, RefundRow.shipping != 0)):
        told = (breakdown or {}).get("shipping_tax") if isinstance(breakdown, dict) else None
        value = told.get("amount") if isinstance(told, dict) else None
        shipping_tax[rid or ""] = shipping_tax.get(rid or "", Decimal(0)) + Decimal(
            str(value or 0))
    ledger = ledger_from(rows, rma_id, shipping, shipping_tax=shipping_tax).model_copy(
        update={"order_refunded": total})
    if order is not None and order.refunds:
        # Every status: a refund recorded as failed may yet have been paid, and its
        # platform id then names it; it is the library's own either way.
        own = {x for x in session.scalars(select(RefundRow.external_id).where(*on_order)) if x}
        ledger = with_outside(ledger, order.refunds, own)
    return ledger, shipping.get(rma_id, Decimal(0))


def units_taken(
    session: Session, marketplace: str, order_id: str, exclude: str | None = None
) -> dict[str, int]:
    """Units of each order line held by other live requests, or by closed ones that paid out."""
    paid = select(RefundRow.rma_id).where(RefundRow.status == "paid")
    query = (
        select(ReturnLineRow.order_line_external_id, func.sum(ReturnLineRow.quantity))
        .join(ReturnRow, ReturnRow.rma_id == ReturnLineRow.rma_id)
        .where(
            ReturnRow.marketplace == marketplace, ReturnRow.order_external_id == order_id,
            or_(
                ReturnRow.status.in_([s.value for s in _LIVE]),
                (ReturnRow.status == ReturnStatus.CLOSED.value)
                & (ReturnRow.rma_id.in_(paid) | ReturnRow.exchange_tracking_number.is_not(None)),
            ),
        )
        .group_by(ReturnLineRow.order_line_external_id)
    )
    if exclude is not None:
        query = query.where(ReturnRow.rma_id != exclude)
    return {lid: int(n) for lid, n in session.execute(query)}


def buyer_stats(
    session: Session, buyer_id: str | None, now: datetime, lookback_days: int
) -> BuyerStats | None:
    """The buyer's orders and orders with a return over the lookback, or ``None`` if unknown."""
    if not buyer_id:
        return None
    since = now - timedelta(days=lookback_days)
    orders = session.scalar(
        select(func.count()).select_from(OrderRow)
        .where(OrderRow.buyer_id == buyer_id, OrderRow.placed_at >= since)
    ) or 0
    returns = session.scalar(
        select(func.count(distinct(ReturnRow.order_external_id)))
        .where(ReturnRow.buyer_id == buyer_id, ReturnRow.created_at >= since)
    ) or 0
    return BuyerStats(orders=orders, returns=min(returns, max(orders, returns)))
