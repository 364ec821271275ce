"""Returns report: return rate, refunds against revenue, retained revenue, reasons,
handling times and SLA, computed by SQL aggregates.

Definitions (the same one-liners are in the README):

* **return rate**: orders with at least one return request (any kind, not
  cancelled by the buyer) ÷ orders, dated by the order's date (AfterShip
  Returns, Loop). By SKU or category: orders with a returned line of it ÷
  orders with a line of it. By reason: orders with a returned line for that
  reason ÷ all orders.
* **refunded, share of revenue**: paid refunds ÷ order totals, per currency,
  dated by the order's date (Loop's "returned revenue").
* **retained revenue**: the price (unit price × quantity) of lines in exchange
  requests not cancelled or rejected, dated by the order's date (Loop);
  ``retained_share`` is retained ÷ (refunded + retained) (AfterShip's
  "refund against retained").
* **exchange share**: exchange requests ÷ requests (not cancelled).
* **returned quantity by reason**: units in return lines per reason (Shopify).
* **response time**: request → first approval or rejection; **refund time**:
  receipt → refund; nearest-rank p50 and p90, dated by when the clock started.
* **SLA**: a request's deadline (the policy's ``merchant_response`` from the
  request, ``merchant_confirmation`` from receipt) is *met* when the next step
  came in time, *breached* when it came late or had not come when the
  deadline passed, as of the window's end; breach rate = breached ÷ (met + breached).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from aftersales.reports._durations import distribution
from aftersales.reports._group import fill_periods, key_of
from aftersales.reports._money import from_milli
from aftersales.reports._sql import epoch, json_path_text, milli
from aftersales.reports.periods import GRAINS, Scope
from aftersales.reports.rows import (
    CountRow,
    DurationRow,
    RateRow,
    ReportTable,
    RevenueRow,
    SlaRow,
)
from aftersales.store.tables.core import AuditRow, OrderLineRow, OrderRow
from aftersales.store.tables.returns import RefundRow, ReturnLineRow, ReturnRow

__all__ = [
    "RATE_BY",
    "exchange_share",
    "handling_times",
    "return_rate",
    "returned_by_reason",
    "revenue",
    "section",
    "sla",
]

ORD = OrderRow.__table__.c
L = OrderLineRow.__table__.c
R = ReturnRow.__table__.c
RL = ReturnLineRow.__table__.c
F = RefundRow.__table__.c
A = AuditRow.__table__.c
_O, _L, _R, _RL, _F, _A = (t.__table__ for t in (OrderRow, OrderLineRow, ReturnRow,
                                                   ReturnLineRow, RefundRow, AuditRow))

#: What :func:`return_rate` can group by.
RATE_BY = (*GRAINS, "all", "store", "sku", "category", "reason")
_LIVE = R.status != "cancelled"


def _of_order() -> ColumnElement[bool]:
    return and_(R.marketplace == ORD.marketplace, R.order_external_id == ORD.external_id, _LIVE)


def _orders_in(scope: Scope) -> list[ColumnElement[bool]]:
    return [scope.window(ORD.placed_at), *scope.store_filter(ORD.marketplace)]


def _order_key(by: str, scope: Scope) -> ColumnElement[Any]:
    return key_of(by, scope, ORD.placed_at, {"store": ORD.marketplace})


def _rates(session: Session, by: str, scope: Scope, query: Select[Any]) -> list[RateRow]:
    rows = [RateRow(str(k), int(num or 0), int(den)) for k, den, num in session.execute(query)]
    return fill_periods(by, scope, rows, lambda r: r.key, lambda k: RateRow(k, 0, 0))


def return_rate(session: Session, scope: Scope, by: str = "week") -> list[RateRow]:
    """Return rate: orders with a return ÷ orders, by order date (see the module docstring)."""
    if by in ("sku", "category"):
        line_returned = exists().where(
            RL.rma_id == R.rma_id, RL.order_line_external_id == L.external_id, _of_order())
        column = L.sku if by == "sku" else L.category
        inner = select(key_of(by, scope, ORD.placed_at, {by: column}).label("k"),
                       ORD.id.label("o"), case((line_returned, 1), else_=0).label("r")
                       ).select_from(_L.join(_O, L.order_id == ORD.id)).where(*_orders_in(scope)
                                                                            ).subquery()
        query = select(inner.c.k, func.count(distinct(inner.c.o)),
                       func.count(distinct(case((inner.c.r == 1, inner.c.o))))
                       ).group_by(inner.c.k)
        return _rates(session, by, scope, query)
    if by == "reason":
        total = session.execute(select(func.count()).select_from(_O)
                                .where(*_orders_in(scope))).scalar_one()
        inner = select(RL.reason.label("k"), ORD.id.label("o")).select_from(
            _O.join(_R, _of_order()).join(_RL, RL.rma_id == R.rma_id)
        ).where(*_orders_in(scope)).subquery()
        query = select(inner.c.k, literal(int(total)), func.count(distinct(inner.c.o))
                       ).group_by(inner.c.k)
        return _rates(session, by, scope, query)
    returned = exists().where(_of_order())
    inner = select(_order_key(by, scope).label("k"), case((returned, 1), else_=0).label("r")
                   ).where(*_orders_in(scope)).subquery()
    query = select(inner.c.k, func.count(), func.sum(inner.c.r)).group_by(inner.c.k)
    return _rates(session, by, scope, query)


def _sums(session: Session, inner: Any) -> dict[tuple[str, str], int]:
    sub = inner.subquery()
    query = select(sub.c.k, sub.c.cur, func.sum(sub.c.m)).group_by(sub.c.k, sub.c.cur)
    return {(str(k), str(cur)): int(m or 0) for k, cur, m in session.execute(query)}


def revenue(session: Session, scope: Scope, by: str = "week") -> list[RevenueRow]:
    """Revenue, paid refunds and retained (exchanged) revenue per key and currency,
    dated by order date."""
    key = _order_key(by, scope)
    sold = _sums(session, select(key.label("k"), ORD.currency.label("cur"),
                                 milli(ORD.total).label("m")).where(*_orders_in(scope)))
    refunded = _sums(session, select(key.label("k"), F.currency.label("cur"),
                                     milli(F.amount).label("m")).select_from(
        _F.join(_O, and_(F.marketplace == ORD.marketplace, F.order_external_id == ORD.external_id))
    ).where(F.status == "paid", *_orders_in(scope)))
    retained = _sums(session, select(key.label("k"), ORD.currency.label("cur"),
                                     (milli(L.unit_price) * RL.quantity).label("m")).select_from(
        _O.join(_R, _of_order()).join(_RL, RL.rma_id == R.rma_id).join(
            _L, and_(L.order_id == ORD.id, L.external_id == RL.order_line_external_id))
    ).where(R.kind == "exchange", R.status != "rejected", *_orders_in(scope)))
    # the tax inside each paid refund, as the returns area recorded it
    tax = json_path_text(F.breakdown, ("total_tax", "amount"), session.get_bind().dialect.name)
    refunded_tax = _sums(session, select(key.label("k"), F.currency.label("cur"),
                                         milli(func.coalesce(tax, "0")).label("m")).select_from(
        _F.join(_O, and_(F.marketplace == ORD.marketplace, F.order_external_id == ORD.external_id))
    ).where(F.status == "paid", *_orders_in(scope)))
    keys = sorted(set(sold) | set(refunded) | set(retained))
    rows = [RevenueRow(k, cur, from_milli(sold.get((k, cur)), cur),
                       from_milli(refunded.get((k, cur)), cur),
                       from_milli(retained.get((k, cur)), cur),
                       from_milli(refunded_tax.get((k, cur)), cur)) for k, cur in keys]
    if by not in GRAINS:
        return rows
    order = {p.label: i for i, p in enumerate(scope.periods(by))}
    return sorted(rows, key=lambda r: (order.get(r.key, -1), r.currency))


def exchange_share(session: Session, scope: Scope, by: str = "week") -> list[RateRow]:
    """Exchange share: exchange requests ÷ requests (not cancelled), by order date."""
    inner = select(_order_key(by, scope).label("k"),
                   case((R.kind == "exchange", 1), else_=0).label("e")).select_from(
        _O.join(_R, _of_order())).where(*_orders_in(scope)).subquery()
    query = select(inner.c.k, func.count(), func.sum(inner.c.e)).group_by(inner.c.k)
    return _rates(session, by, scope, query)


def returned_by_reason(session: Session, scope: Scope) -> list[CountRow]:
    """Returned quantity by reason: units in return lines per reason, most first
    (Shopify), by order date."""
    query = select(RL.reason, func.sum(RL.quantity)).select_from(
        _O.join(_R, _of_order()).join(_RL, RL.rma_id == R.rma_id)
    ).where(*_orders_in(scope)).group_by(RL.reason)
    rows = [CountRow(str(k), int(n)) for k, n in session.execute(query)]
    return sorted(rows, key=lambda r: (-r.count, r.key))


def _first(statuses: tuple[str, ...]) -> Any:
    """When each request first entered one of ``statuses`` (from its audit trail)."""
    return select(A.entity_id.label("rma"), func.min(A.at).label("at")).where(
        A.entity == "return", A.to_status.in_(statuses)).group_by(A.entity_id).subquery()


_DECIDED = ("approved", "rejected")
_STEPS: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...], str]] = {
    # name: (the start's statuses, or None for the request itself; the end's statuses;
    #        the status a request waits in meanwhile)
    "response": (None, _DECIDED, "requested"),
    "refund": (("received",), ("refunded",), "received"),
}


def _step(step: str) -> tuple[Any, Any, Any, str]:
    if step not in _STEPS:
        raise ValueError(f"unknown step {step!r}")
    starts, ends, waiting = _STEPS[step]
    end = _first(ends)
    if starts is None:
        return R.created_at, end, _R.outerjoin(end, end.c.rma == R.rma_id), waiting
    start = _first(starts)
    joined = _R.join(start, start.c.rma == R.rma_id).outerjoin(end, end.c.rma == R.rma_id)
    return start.c.at, end, joined, waiting


def handling_times(session: Session, scope: Scope, step: str = "response",
                   by: str = "week") -> list[DurationRow]:
    """Handling time of ``step`` (``response``: request → decision; ``refund``: receipt →
    refund), nearest-rank p50/p90, dated by the step's start."""
    started, end, joined, _ = _step(step)
    key = key_of(by, scope, started, {"store": R.marketplace})
    base = select(key.label("k"), (epoch(end.c.at) - epoch(started)).label("d")).select_from(
        joined).where(scope.window(started), end.c.at < scope.until,
                      *scope.store_filter(R.marketplace))
    return fill_periods(by, scope, distribution(session, base), lambda r: r.key,
                        lambda k: DurationRow(k, 0, 0, None, None))


def sla(session: Session, scope: Scope, deadline: timedelta, step: str = "response",
        by: str = "week") -> list[SlaRow]:
    """SLA met, breached and pending for ``step`` under ``deadline``, as of the window's
    end, dated by the step's start."""
    started, end, joined, waiting = _step(step)
    limit = int(deadline.total_seconds())
    cutoff = int(scope.until.timestamp())
    key = key_of(by, scope, started, {"store": R.marketplace})
    done = and_(end.c.at.is_not(None), end.c.at < scope.until)
    late = epoch(end.c.at) - epoch(started) > limit
    open_ = and_(~done, R.status == waiting)
    overdue = epoch(started) + limit <= cutoff
    inner = select(key.label("k"),
                   case((and_(done, ~late), 1), else_=0).label("met"),
                   case((or_(and_(done, late), and_(open_, overdue)), 1), else_=0).label("br"),
                   case((and_(open_, ~overdue), 1), else_=0).label("pe")).select_from(
        joined).where(scope.window(started), *scope.store_filter(R.marketplace)).subquery()
    query = select(inner.c.k, func.sum(inner.c.met), func.sum(inner.c.br), func.sum(inner.c.pe)
                   ).group_by(inner.c.k)
    rows = [SlaRow(str(k), int(m or 0), int(b or 0), int(p or 0))
            for k, m, b, p in session.execute(query)]
    return fill_periods(by, scope, rows, lambda r: r.key, lambda k: SlaRow(k, 0, 0, 0))


def section(session: Session, scope: Scope, by: str = "week", *,
            response_deadline: timedelta | None = timedelta(hours=48),
            refund_deadline: timedelta | None = timedelta(hours=72)) -> list[ReportTable]:
    """Every returns table for ``by`` (tables that cannot use ``by`` group by store)."""
    other = by if by in (*GRAINS, "all", "store") else "store"
    tables = [
        ReportTable("return_rate", by, RateRow, return_rate(session, scope, by)),
        ReportTable("revenue", other, RevenueRow, revenue(session, scope, other)),
        ReportTable("exchange_share", other, RateRow, exchange_share(session, scope, other)),
        ReportTable("returned_by_reason", "reason", CountRow, returned_by_reason(session, scope)),
        ReportTable("response_time", other, DurationRow,
                    handling_times(session, scope, "response", other)),
        ReportTable("refund_time", other, DurationRow,
                    handling_times(session, scope, "refund", other)),
    ]
    if response_deadline is not None:
        tables.append(ReportTable("response_sla", other, SlaRow,
                                  sla(session, scope, response_deadline, "response", other)))
    if refund_deadline is not None:
        tables.append(ReportTable("refund_sla", other, SlaRow,
                                  sla(session, scope, refund_deadline, "refund", other)))
    return tables
