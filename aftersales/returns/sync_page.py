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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from aftersales.models import Order, ReturnLine, ReturnStatus
from aftersales.returns.policy import BuyerStats
from aftersales.store.driver import Driver
from aftersales.store.orders import order_from_row
from aftersales.store.tables.core import OrderLineRow, OrderRow
from aftersales.store.tables.returns import RefundRow, ReturnLineRow, ReturnRow
from aftersales.store.types import JSONType

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


#: The stored order columns :func:`~aftersales.store.orders.order_from_row` reads.
_ORDER_COLUMNS = ("id", "marketplace", "external_id", "buyer", "currency", "shipping",
                  "discount", "total", "raw_status", "placed_at", "remote_updated_at",
                  "delivered_at", "taxes_included", "shipping_taxes", "shop_currency",
                  "shop_total", "platform_refunds")
_LINE_COLUMNS = ("order_id", "external_id", "sku", "title", "category", "quantity",
                 "unit_price", "discount", "taxes")


class _Values:
    """One stored row's columns as attributes, read like the ORM row (``lines`` included)."""

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        self.__dict__.update(zip(names, values, strict=True))


class _Reader:
    """Plain queries on the page's own transaction, each column read as its type reads it
    (what the ORM would hold), without compiling a statement or building result objects."""

    def __init__(self, session: Session) -> None:
        self.db = Driver(session)
        self.q = self.db.quote

    def rows(self, table: Table, names: Sequence[str], where: str, params: Sequence[Any],
             keys: Sequence[Any], *, order_by: str = "", raw: bool = False,
             extra: tuple[str, Sequence[Any]] | None = None) -> list[tuple[Any, ...]]:
        """``SELECT names FROM table WHERE where`` for ``keys`` in chunks (``where`` written
        with ``{mark}`` for a parameter and ``{in}`` where the chunk's IN list goes), each
        value converted on the way (``raw``: as the driver gives it); ``extra`` is one more
        selected expression (read as the driver gives it) and its parameters."""
        procs = [] if raw else [(i, self._reader(table.c[n])) for i, n in enumerate(names)
                                if self.db.reads(table.c[n])]
        cols = ", ".join([*(self.q(n) for n in names), *([extra[0]] if extra else [])])
        out: list[tuple[Any, ...]] = []
        for chunk in _chunks(keys):
            marks = ", ".join([self.db.mark] * len(chunk))
            sql = (f"SELECT {cols} FROM {self.db.table_name(table)} "  # noqa: S608 - metadata
                   f"WHERE {where} {order_by}")
            found = self.db.fetch(sql.replace("{mark}", self.db.mark).replace("{in}", marks),
                                  [*(extra[1] if extra else []), *params, *chunk])
            if procs and found:  # column by column: only the columns whose type converts
                columns = list(zip(*found, strict=True))
                for i, proc in procs:
                    columns[i] = tuple(map(proc, columns[i]))
                found = list(zip(*columns, strict=True))
            out.extend(found)
        return out

    def _reader(self, column: Any) -> Callable[[Any], Any]:
        read = self.db.reader(column)
        if not isinstance(column.type, JSONType):
            return read

        def process(value: Any) -> Any:
            # The text of an empty list needs no parsing (most stored tax lists are empty).
            return [] if value == "[]" else read(value)
        return process


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
        read = _Reader(session)
        q = read.q
        self.orders: dict[str, tuple[Order, int]] = {}
        found: list[Any] = [_Values(_ORDER_COLUMNS, row) for row in read.rows(
            _ORDERS, _ORDER_COLUMNS, f"{q('marketplace')} = {{mark}} AND "
            f"{q('external_id')} IN ({{in}})", [marketplace], wanted)]
        lines: dict[int, list[Any]] = {row.id: [] for row in found}
        for values in read.rows(_ORDER_LINES, _LINE_COLUMNS, f"{q('order_id')} IN ({{in}})",
                                [], list(lines), order_by=f"ORDER BY {q('id')}"):
            line: Any = _Values(_LINE_COLUMNS, values)
            lines[line.order_id].append(line)
        # Chunks of order ids: each chunk's lines come in id order, and so in order of each
        # order's own lines, as the ORM's ordered relationship reads them.
        for row in found:
            row.lines = lines[row.id]
            self.orders[row.external_id] = (order_from_row(cast(OrderRow, row)), row.id)
        buyers = sorted({o.buyer.external_id for o, _ in self.orders.values()
                         if o.buyer.external_id})
        # The buyers' times are kept as the database holds them and compared with the
        # lookback's start bound as a query binds it: what the per-request queries'
        # ``placed_at >= since`` compares (text on SQLite), without reading each time.
        self._since_placed = read.db.converter(_ORDERS.c.placed_at)
        self._since_asked = read.db.converter(_RETURNS.c.created_at)
        self._placed: dict[str, list[Any]] = {}
        self._asked: dict[str, list[tuple[str, Any]]] = {}
        for buyer, placed in read.rows(_ORDERS, ("buyer_id", "placed_at"),
                                       f"{q('buyer_id')} IN ({{in}})", [], buyers, raw=True):
            self._placed.setdefault(buyer, []).append(placed)
        for asker, order, created in read.rows(
                _RETURNS, ("buyer_id", "order_external_id", "created_at"),
                f"{q('buyer_id')} IN ({{in}})", [], buyers, raw=True):
            self._asked.setdefault(str(asker), []).append((order, created))
        self._held: dict[str, _Held] = {}
        self._by_order: dict[str, list[_Held]] = {}  # the same, by order, in the same order
        paid = (f"{q('rma_id')} IN (SELECT {q('rma_id')} "  # noqa: S608 - metadata names
                f"FROM {read.db.table_name(_REFUNDS)} WHERE {q('status')} = {{mark}})")
        for rma, order, status, exchange, is_paid in read.rows(
                _RETURNS, ("rma_id", "order_external_id", "status",
                           "exchange_tracking_number"),
                f"{q('marketplace')} = {{mark}} AND {q('order_external_id')} IN ({{in}})",
                [marketplace], wanted, extra=(paid, ["paid"])):
            held = self._held[rma] = _Held(order, status, bool(is_paid), exchange is not None)
            self._by_order.setdefault(order, []).append(held)
        for rma, line, quantity in read.rows(
                _RETURN_LINES, ("rma_id", "order_line_external_id", "quantity"),
                f"{q('rma_id')} IN ({{in}})", [], sorted(self._held)):
            self._held[rma].lines.append((line, quantity))

    def buyer_stats(self, buyer_id: str | None, now: datetime,
                    lookback_days: int) -> BuyerStats | None:
        """As :func:`aftersales.returns.repository.buyer_stats` would read it now."""
        if not buyer_id:
            return None
        since = now - timedelta(days=lookback_days)
        placed_since, asked_since = self._since_placed(since), self._since_asked(since)
        orders = sum(1 for placed in self._placed.get(buyer_id, ()) if placed >= placed_since)
        returns = len({order for order, created in self._asked.get(buyer_id, ())
                       if created >= asked_since})
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
            self._asked.setdefault(buyer_id, []).append((order_id,
                                                          self._since_asked(created_at)))
