"""What judging a page of new synced requests needs, read in a fixed number of queries.

A new request is judged (:mod:`aftersales.returns.eligibility`) against its
order, its buyer's recent history and the units of its order other requests
already hold; the per-request path reads each of these with queries of its
own. :class:`PageFacts` reads them once for the whole page (the page's
orders with their lines; the orders and requests of the page's buyers; the
requests, lines and paid refunds of the page's orders) and then answers in
memory, counting each request of the page as it is opened, exactly as the
queries would have seen it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from aftersales.models import Order, ReturnLine, ReturnStatus
from aftersales.returns.policy import BuyerStats
from aftersales.store.orders import order_from_row
from aftersales.store.tables.core import OrderLineRow, OrderRow
from aftersales.store.tables.returns import RefundRow, ReturnLineRow, ReturnRow

__all__ = ["PageFacts"]

_CHUNK = 500
_ORDERS = cast(Table, OrderRow.__table__)
_ORDER_LINES = cast(Table, OrderLineRow.__table__)
#: Read as Core columns: the values only, no ORM loading.
_RETURNS = cast(Table, ReturnRow.__table__)
_RETURN_LINES = cast(Table, ReturnLineRow.__table__)
_REFUNDS = cast(Table, RefundRow.__table__)

#: Statuses whose requests hold their units (as ``repository.units_taken`` counts them).
_LIVE = frozenset(s.value for s in (
    ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED,
    ReturnStatus.RECEIVED, ReturnStatus.REFUNDED, ReturnStatus.EXCHANGE_SHIPPED,
))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class _OrderView:
    """A stored order's columns and its lines' columns, read like an ``OrderRow``."""

    __slots__ = ("_row", "lines")

    def __init__(self, row: Any, lines: list[Any]) -> None:
        self._row = row
        self.lines = lines

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


@dataclass
class _Held:
    """A request of one of the page's orders, as far as unit counting goes."""

    order: str
    status: str
    paid: bool
    exchange_shipped: bool
    lines: list[tuple[str, int]] = field(default_factory=list)

    def holds(self) -> bool:
        return self.status in _LIVE or (
            self.status == ReturnStatus.CLOSED.value and (self.paid or self.exchange_shipped))


class PageFacts:
    """The page's orders, its buyers' history and its orders' held units."""

    def __init__(self, session: Session, marketplace: str, order_ids: Iterable[str]) -> None:
        self.marketplace = marketplace
        wanted = sorted(set(order_ids))
        self.orders: dict[str, tuple[Order, int]] = {}
        for chunk in _chunks(wanted):
            found = session.execute(
                select(_ORDERS)
                .where(_ORDERS.c.marketplace == marketplace, _ORDERS.c.external_id.in_(chunk))
            ).all()
            lines: dict[int, list[Any]] = {row.id: [] for row in found}
            for order_line in session.execute(
                select(_ORDER_LINES).where(_ORDER_LINES.c.order_id.in_(list(lines)))
                .order_by(_ORDER_LINES.c.id)
            ):
                lines[order_line.order_id].append(order_line)
            for row in found:
                # The columns as the ORM row holds them, read without building ORM objects.
                view = cast(OrderRow, _OrderView(row, lines[row.id]))
                self.orders[row.external_id] = (order_from_row(view), row.id)
        buyers = sorted({o.buyer.external_id for o, _ in self.orders.values()
                         if o.buyer.external_id})
        self._placed: dict[str, list[datetime]] = {}
        self._asked: dict[str, list[tuple[str, datetime]]] = {}
        for chunk in _chunks(buyers):
            for buyer, placed in session.execute(
                select(_ORDERS.c.buyer_id, _ORDERS.c.placed_at)
                .where(_ORDERS.c.buyer_id.in_(chunk))
            ):
                self._placed.setdefault(buyer, []).append(placed)
            for asker, order, created in session.execute(
                select(_RETURNS.c.buyer_id, _RETURNS.c.order_external_id, _RETURNS.c.created_at)
                .where(_RETURNS.c.buyer_id.in_(chunk))
            ):
                self._asked.setdefault(str(asker), []).append((order, created))
        self._held: dict[str, _Held] = {}
        self._by_order: dict[str, list[_Held]] = {}  # the same, by order, in the same order
        for chunk in _chunks(wanted):
            paid = select(_REFUNDS.c.rma_id).where(_REFUNDS.c.status == "paid")
            for rma, order, status, exchange, is_paid in session.execute(
                select(_RETURNS.c.rma_id, _RETURNS.c.order_external_id, _RETURNS.c.status,
                       _RETURNS.c.exchange_tracking_number, _RETURNS.c.rma_id.in_(paid))
                .where(_RETURNS.c.marketplace == marketplace,
                       _RETURNS.c.order_external_id.in_(chunk))
            ):
                held = self._held[rma] = _Held(order, status, bool(is_paid),
                                               exchange is not None)
                self._by_order.setdefault(order, []).append(held)
        rmas = sorted(self._held)
        for chunk in _chunks(rmas):
            for rma, line, quantity in session.execute(
                select(_RETURN_LINES.c.rma_id, _RETURN_LINES.c.order_line_external_id,
                       _RETURN_LINES.c.quantity).where(_RETURN_LINES.c.rma_id.in_(chunk))
            ):
                self._held[rma].lines.append((line, quantity))

    def buyer_stats(self, buyer_id: str | None, now: datetime,
                    lookback_days: int) -> BuyerStats | None:
        """As :func:`aftersales.returns.repository.buyer_stats` would read it now."""
        if not buyer_id:
            return None
        since = now - timedelta(days=lookback_days)
        orders = sum(1 for placed in self._placed.get(buyer_id, ()) if placed >= since)
        returns = len({order for order, created in self._asked.get(buyer_id, ())
                       if created >= since})
        return BuyerStats(orders=orders, returns=min(returns, max(orders, returns)))

    def units_taken(self, order_id: str) -> dict[str, int]:
        """As :func:`aftersales.returns.repository.units_taken` would read it now."""
        out: dict[str, int] = {}
        for held in self._by_order.get(order_id, ()):
            if held.holds():
                for line, quantity in held.lines:
                    out[line] = out.get(line, 0) + quantity
        return out

    def opened(self, rma_id: str, order_id: str, buyer_id: str | None, status: ReturnStatus,
               lines: Sequence[ReturnLine], created_at: datetime) -> None:
        """Count a request the page just opened, as the queries would see it next."""
        held = self._held[rma_id] = _Held(order_id, status.value, False, False,
                                          [(ln.order_line_id, ln.quantity) for ln in lines])
        self._by_order.setdefault(order_id, []).append(held)
        if buyer_id:
            self._asked.setdefault(buyer_id, []).append((order_id, created_at))
