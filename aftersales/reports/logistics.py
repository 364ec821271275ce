"""Logistics report: transit time, exception rate, stuck parcels and first-attempt delivery.

Definitions (the same one-liners are in the README), over outbound parcels
dated by when they shipped (``shipped_at``), each parcel's store being its
order's:

* **transit time**: shipped → delivered, nearest-rank p50 and p90, of the
  parcels delivered before the window's end (AfterShip Tracking).
* **transit-time distribution**: delivered parcels per band of transit hours
  (0–24 h, 24–48 h, … 120 h+).
* **exception rate**: parcels that ever had an exception (an exception scan,
  or an issue recorded on the parcel) ÷ parcels. By issue: parcels with that
  issue ÷ parcels (an exception without a recorded issue counts as ``other``).
* **stuck parcels**: parcels not finished whose last scan (or shipment, with no
  scan) is older than ``stuck_after`` (3 days) at the window's end.
* **first-attempt delivery rate**: delivered parcels with no failed delivery
  attempt scan ÷ delivered parcels (AfterShip's first attempt delivery rate).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from aftersales.reports._durations import distribution
from aftersales.reports._group import fill_periods, key_of
from aftersales.reports._sql import epoch
from aftersales.reports.periods import GRAINS, Scope
from aftersales.reports.rows import CountRow, DurationRow, RateRow, ReportTable
from aftersales.store.tables.core import OrderRow, ShipmentRow, TrackingEventRow

__all__ = [
    "TRANSIT_BANDS",
    "exception_rate",
    "first_attempt_rate",
    "section",
    "stuck_parcels",
    "transit_histogram",
    "transit_times",
]

S = ShipmentRow.__table__.c
E = TrackingEventRow.__table__.c
ORD = OrderRow.__table__.c
_S, _E, _O = ShipmentRow.__table__, TrackingEventRow.__table__, OrderRow.__table__
_WITH_ORDERS = _S.outerjoin(_O, S.order_id == ORD.id)


def _parcels(by: str, scope: Scope) -> Any:
    """Parcels, joined to their orders only when the store is asked for."""
    return _WITH_ORDERS if by == "store" or scope.stores else _S


def _in(scope: Scope) -> list[ColumnElement[bool]]:
    return [S.direction == "outbound", scope.window(S.shipped_at),
            *scope.store_filter(ORD.marketplace)]


def _key(by: str, scope: Scope, **more: Any) -> ColumnElement[Any]:
    return key_of(by, scope, S.shipped_at, {"carrier": S.carrier, "store": ORD.marketplace, **more})


def _had(status: str) -> ColumnElement[bool]:
    return exists().where(E.shipment_id == S.id, E.status == status)


def _rates(session: Session, by: str, scope: Scope, query: Any) -> list[RateRow]:
    rows = [RateRow(str(k), int(num or 0), int(den)) for k, den, num in session.execute(query)]
    return fill_periods(by, scope, rows, lambda r: r.key, lambda k: RateRow(k, 0, 0))


def transit_times(session: Session, scope: Scope, by: str = "carrier") -> list[DurationRow]:
    """Transit time: shipped → delivered of delivered parcels, p50/p90, by ship date."""
    base = select(_key(by, scope).label("k"),
                  (epoch(S.delivered_at) - epoch(S.shipped_at)).label("d")).select_from(
        _parcels(by, scope)).where(*_in(scope), S.delivered_at < scope.until)
    return fill_periods(by, scope, distribution(session, base), lambda r: r.key,
                        lambda k: DurationRow(k, 0, 0, None, None))


#: The transit-time distribution's band edges, in hours.
TRANSIT_BANDS = (24, 48, 72, 96, 120)


def _band_label(lo: int, hi: int | None) -> str:
    return f"{lo}-{hi}h" if hi is not None else f"{lo}h+"


def transit_histogram(session: Session, scope: Scope,
                      edges: tuple[int, ...] = TRANSIT_BANDS) -> list[CountRow]:
    """Transit-time distribution: delivered parcels per band of hours (0-24h, 24-48h, …)."""
    hours = epoch(S.delivered_at) - epoch(S.shipped_at)
    bounds = [0, *edges]
    labels = [_band_label(lo, hi) for lo, hi in zip(bounds, [*edges, None], strict=True)]
    band = case(*((hours < hi * 3600, labels[i]) for i, hi in enumerate(edges)),
                else_=labels[-1])
    inner = select(band.label("k")).select_from(_parcels("band", scope)).where(
        *_in(scope), S.delivered_at < scope.until).subquery()
    found = {str(k): int(n) for k, n in session.execute(
        select(inner.c.k, func.count()).group_by(inner.c.k))}
    return [CountRow(label, found.get(label, 0)) for label in labels]


def exception_rate(session: Session, scope: Scope, by: str = "carrier") -> list[RateRow]:
    """Exception rate: parcels that had an exception ÷ parcels, by ship date."""
    exceptional = or_(S.issue.is_not(None), _had("exception"))
    if by == "issue":
        total = session.execute(select(func.count()).select_from(_parcels(by, scope))
                                .where(*_in(scope))).scalar_one()
        issues = select(func.coalesce(S.issue, "other").label("k")).select_from(
            _parcels(by, scope)).where(*_in(scope), exceptional).subquery()
        query = select(issues.c.k, literal(int(total)), func.count()).group_by(issues.c.k)
        return _rates(session, by, scope, query)
    inner = select(_key(by, scope).label("k"), case((exceptional, 1), else_=0).label("x")
                   ).select_from(_parcels(by, scope)).where(*_in(scope)).subquery()
    return _rates(session, by, scope,
                  select(inner.c.k, func.count(), func.sum(inner.c.x)).group_by(inner.c.k))


def stuck_parcels(session: Session, scope: Scope, by: str = "carrier",
                  stuck_after: timedelta = timedelta(days=3)) -> list[CountRow]:
    """Stuck parcels: unfinished, with no scan for ``stuck_after`` at the window's end."""
    last = func.coalesce(S.last_event_at, S.shipped_at)
    inner = select(_key(by, scope).label("k")).select_from(_parcels(by, scope)).where(
        *_in(scope), S.terminal.is_(False), last <= scope.until - stuck_after).subquery()
    rows = [CountRow(str(k), int(n)) for k, n in session.execute(
        select(inner.c.k, func.count()).group_by(inner.c.k))]
    return fill_periods(by, scope, rows, lambda r: r.key, lambda k: CountRow(k, 0))


def first_attempt_rate(session: Session, scope: Scope, by: str = "carrier") -> list[RateRow]:
    """First-attempt delivery rate: delivered with no failed attempt ÷ delivered, by ship date."""
    inner = select(_key(by, scope).label("k"),
                   case((_had("failed_attempt"), 0), else_=1).label("x")).select_from(
        _parcels(by, scope)).where(*_in(scope), S.delivered_at < scope.until).subquery()
    return _rates(session, by, scope,
                  select(inner.c.k, func.count(), func.sum(inner.c.x)).group_by(inner.c.k))


def section(session: Session, scope: Scope, by: str = "carrier") -> list[ReportTable]:
    """Every logistics table for ``by`` (``carrier`` when ``by`` does not apply)."""
    by = by if by in (*GRAINS, "all", "store", "carrier") else "carrier"
    return [
        ReportTable("transit_time", by, DurationRow, transit_times(session, scope, by)),
        ReportTable("transit_bands", "band", CountRow, transit_histogram(session, scope)),
        ReportTable("exception_rate", by, RateRow, exception_rate(session, scope, by)),
        ReportTable("exception_issue", "issue", RateRow, exception_rate(session, scope, "issue")),
        ReportTable("stuck_parcels", by, CountRow, stuck_parcels(session, scope, by)),
        ReportTable("first_attempt_rate", by, RateRow, first_attempt_rate(session, scope, by)),
    ]


