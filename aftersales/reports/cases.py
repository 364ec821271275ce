"""Complaint analysis report (投诉分析报告): volume, validity, response and resolution
times, SLA, escalation, repeat complainants, the SKUs complained about, and the change
against the previous period.

Definitions (the same one-liners are in the README), over cases dated by when
they were opened (``opened_at``):

* **volume**: cases per kind, root cause, store or period.
* **valid / invalid**: cases whose complaint was found justified
  (``cause_valid``) against those found not, and those not yet judged.
* **first-response time**: opened → first response; **resolution time**:
  opened → resolved; nearest-rank p50 and p90, before the window's end.
* **SLA breach rate**: per deadline (first response, resolution), breached ÷
  (met + breached) as of the window's end.
* **escalation rate**: cases escalated at least once ÷ cases.
* **repeat complainants**: buyers with two or more cases ÷ buyers with a case.
* **most complained-about SKUs**: cases whose order has a line of the SKU.
* **change**: cases per kind in the window against the window of the same
  length just before it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.orm import Session

from aftersales.reports._durations import distribution
from aftersales.reports._group import fill_periods, key_of
from aftersales.reports._sql import epoch
from aftersales.reports.periods import GRAINS, Scope
from aftersales.reports.rows import ChangeRow, CountRow, DurationRow, RateRow, ReportTable, SlaRow
from aftersales.store.tables.cases import CaseRow, CaseSlaRow
from aftersales.store.tables.core import OrderLineRow, OrderRow

__all__ = [
    "change",
    "escalation_rate",
    "handling_times",
    "repeat_complainants",
    "section",
    "skus",
    "sla",
    "validity",
    "volume",
]

C = CaseRow.__table__.c
CS = CaseSlaRow.__table__.c
ORD = OrderRow.__table__.c
L = OrderLineRow.__table__.c
_C, _CS, _O, _L = (t.__table__ for t in (CaseRow, CaseSlaRow, OrderRow, OrderLineRow))


def _in(scope: Scope) -> list[ColumnElement[bool]]:
    return [scope.window(C.opened_at), *scope.store_filter(C.store)]


def _key(by: str, scope: Scope) -> ColumnElement[Any]:
    return key_of(by, scope, C.opened_at, {"kind": C.kind, "cause": C.root_cause,
                                            "store": C.store})


def _counts(session: Session, by: str, scope: Scope, inner: Any) -> list[CountRow]:
    sub = inner.subquery()
    rows = [CountRow(str(k), int(n)) for k, n in session.execute(
        select(sub.c.k, func.count()).group_by(sub.c.k))]
    return fill_periods(by, scope, rows, lambda r: r.key, lambda k: CountRow(k, 0))


def volume(session: Session, scope: Scope, by: str = "kind") -> list[CountRow]:
    """Volume: cases opened per kind, root cause, store or period."""
    return _counts(session, by, scope, select(_key(by, scope).label("k")).where(*_in(scope)))


def validity(session: Session, scope: Scope) -> list[CountRow]:
    """Valid against invalid: cases judged justified, not justified, and not yet judged."""
    judged = case((C.cause_valid.is_(True), "valid"), (C.cause_valid.is_(False), "invalid"),
                  else_="undetermined")
    return _counts(session, "validity", scope, select(judged.label("k")).where(*_in(scope)))


def handling_times(session: Session, scope: Scope, step: str = "first_response",
                   by: str = "kind") -> list[DurationRow]:
    """First-response (opened → first response) or resolution (opened → resolved) time,
    p50/p90, before the window's end."""
    end = C.first_response_at if step == "first_response" else C.resolved_at
    base = select(_key(by, scope).label("k"), (epoch(end) - epoch(C.opened_at)).label("d")
                  ).where(*_in(scope), end < scope.until)
    return fill_periods(by, scope, distribution(session, base), lambda r: r.key,
                        lambda k: DurationRow(k, 0, 0, None, None))


def sla(session: Session, scope: Scope) -> list[SlaRow]:
    """SLA per deadline: met, breached and still running as of the window's end."""
    breached = and_(CS.breached_at.is_not(None), CS.breached_at < scope.until)
    met = and_(~breached, CS.met_at.is_not(None), CS.met_at < scope.until)
    inner = select(CS.metric.label("k"), case((met, 1), else_=0).label("m"),
                   case((breached, 1), else_=0).label("b")).select_from(
        _CS.join(_C, C.id == CS.case_id)).where(*_in(scope)).subquery()
    query = select(inner.c.k, func.sum(inner.c.m), func.sum(inner.c.b), func.count()
                   ).group_by(inner.c.k)
    return sorted((SlaRow(str(k), int(m or 0), int(b or 0), int(n) - int(m or 0) - int(b or 0))
                   for k, m, b, n in session.execute(query)), key=lambda r: r.key)


def escalation_rate(session: Session, scope: Scope, by: str = "kind") -> list[RateRow]:
    """Escalation rate: cases escalated at least once ÷ cases."""
    inner = select(_key(by, scope).label("k"), case((C.escalation > 0, 1), else_=0).label("e")
                   ).where(*_in(scope)).subquery()
    rows = [RateRow(str(k), int(e or 0), int(n)) for k, n, e in session.execute(
        select(inner.c.k, func.count(), func.sum(inner.c.e)).group_by(inner.c.k))]
    return fill_periods(by, scope, rows, lambda r: r.key, lambda k: RateRow(k, 0, 0))


def repeat_complainants(session: Session, scope: Scope) -> list[RateRow]:
    """Repeat complainants: buyers with two or more cases ÷ buyers with a case."""
    per = select(C.buyer_id, func.count().label("n")).where(*_in(scope)).group_by(
        C.buyer_id).subquery()
    buyers, repeat = session.execute(select(
        func.count(), func.coalesce(func.sum(case((per.c.n >= 2, 1), else_=0)), 0))).one()
    return [RateRow("buyers", int(repeat), int(buyers))]


def skus(session: Session, scope: Scope, limit: int = 10) -> list[CountRow]:
    """SKUs with the most complaints: cases whose order has a line of the SKU, most first."""
    inner = select(L.sku.label("k"), C.id.label("c")).select_from(
        _C.join(_O, and_(ORD.marketplace == C.store, ORD.external_id == C.order_id))
        .join(_L, L.order_id == ORD.id)).where(*_in(scope)).subquery()
    rows = [CountRow(str(k), int(n)) for k, n in session.execute(
        select(inner.c.k, func.count(distinct(inner.c.c))).group_by(inner.c.k))]
    return sorted(rows, key=lambda r: (-r.count, r.key))[:limit]


def change(session: Session, scope: Scope, by: str = "kind") -> list[ChangeRow]:
    """Change: cases per key in the window against the window of the same length before."""
    if by in GRAINS:
        by = "kind"
    now = {r.key: r.count for r in volume(session, scope, by)}
    before = {r.key: r.count for r in volume(session, scope.previous(), by)}
    return [ChangeRow(k, now.get(k, 0), before.get(k, 0)) for k in sorted(set(now) | set(before))]


def section(session: Session, scope: Scope, by: str = "kind") -> list[ReportTable]:
    """Every complaint-analysis table for ``by`` (``kind`` when ``by`` does not apply)."""
    by = by if by in (*GRAINS, "all", "store", "kind", "cause") else "kind"
    keyed = by if by not in GRAINS else "kind"
    return [
        ReportTable("volume", by, CountRow, volume(session, scope, by)),
        ReportTable("volume_by_cause", "cause", CountRow, volume(session, scope, "cause")),
        ReportTable("validity", "validity", CountRow, validity(session, scope)),
        ReportTable("first_response_time", by, DurationRow,
                    handling_times(session, scope, "first_response", by)),
        ReportTable("resolution_time", by, DurationRow,
                    handling_times(session, scope, "resolution", by)),
        ReportTable("sla", "metric", SlaRow, sla(session, scope)),
        ReportTable("escalation_rate", by, RateRow, escalation_rate(session, scope, by)),
        ReportTable("repeat_complainants", "all", RateRow, repeat_complainants(session, scope)),
        ReportTable("skus", "sku", CountRow, skus(session, scope)),
        ReportTable("change", keyed, ChangeRow, change(session, scope, keyed)),
    ]
