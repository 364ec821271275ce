"""Every report figure computed again in plain Python from the stored rows.

Nothing here uses the reports' queries: it reads whole tables through the
ORM and counts in Python, bucketing each time by converting it to the shop's
zone (``astimezone``), which is DST-correct by construction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.store.tables.cases import CaseRow, CaseSlaRow
from aftersales.store.tables.core import (
    AuditRow,
    OrderLineRow,
    OrderRow,
    ShipmentRow,
    TrackingEventRow,
)
from aftersales.store.tables.followups import FollowUpRow
from aftersales.store.tables.returns import RefundRow, ReturnLineRow, ReturnRow
from aftersales.store.tables.reviews import ReviewRow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seconds(t: datetime) -> int:
    """Whole seconds since 1970, floored."""
    return (t - EPOCH) // timedelta(seconds=1)


def label(t: datetime, grain: str, zone: ZoneInfo) -> str:
    """The local day, Monday or first of month ``t`` falls in, as ISO text."""
    d: date = t.astimezone(zone).date()
    if grain == "week":
        d -= timedelta(days=d.weekday())
    elif grain == "month":
        d = d.replace(day=1)
    return d.isoformat()


def nearest_rank(values: list[int], percent: int) -> int | None:
    """The smallest value with at least ``percent``% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    for i, v in enumerate(ordered, start=1):
        if i * 100 >= len(ordered) * percent:
            return v
    return ordered[-1]  # pragma: no cover


@dataclass
class Tables:
    """Every row of every table the reports read, loaded whole."""

    orders: list[OrderRow]
    lines: list[OrderLineRow]
    returns: list[ReturnRow]
    return_lines: list[ReturnLineRow]
    refunds: list[RefundRow]
    audit: list[AuditRow]
    parcels: list[ShipmentRow]
    events: list[TrackingEventRow]
    reviews: list[ReviewRow]
    followups: list[FollowUpRow]
    cases: list[CaseRow]
    case_slas: list[CaseSlaRow]


def load(session: Session) -> Tables:
    """Read every row (plain ORM loads, no aggregation)."""
    def every(model: Any) -> list[Any]:
        return list(session.scalars(select(model)))

    return Tables(every(OrderRow), every(OrderLineRow), every(ReturnRow), every(ReturnLineRow),
                  every(RefundRow), every(AuditRow), every(ShipmentRow),
                  every(TrackingEventRow), every(ReviewRow), every(FollowUpRow),
                  every(CaseRow), every(CaseSlaRow))


class Oracle:
    """The figures of one window ``[since, until)`` of one shop zone, in plain Python."""

    def __init__(self, t: Tables, since: datetime, until: datetime, zone: ZoneInfo) -> None:
        self.t, self.since, self.until, self.zone = t, since, until, zone

    def inside(self, when: datetime | None) -> bool:
        return when is not None and self.since <= when < self.until

    def keyer(self, by: str, when: Callable[[Any], datetime],
              column: Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
        if by in ("day", "week", "month"):
            return lambda row: label(when(row), by, self.zone)
        if by == "all":
            return lambda row: "all"
        assert column is not None
        return lambda row: "(none)" if column(row) is None else str(column(row))

    # -------------------------------------------------------------- returns

    def orders(self) -> list[OrderRow]:
        return [o for o in self.t.orders if self.inside(o.placed_at)]

    def live_requests(self, order: OrderRow) -> list[ReturnRow]:
        return [r for r in self.t.returns if r.marketplace == order.marketplace
                and r.order_external_id == order.external_id and r.status != "cancelled"]

    def return_lines(self, request: ReturnRow) -> list[ReturnLineRow]:
        return [x for x in self.t.return_lines if x.rma_id == request.rma_id]

    def return_rate(self, by: str) -> dict[str, tuple[int, int]]:
        """key -> (orders with a return, orders)."""
        orders = self.orders()
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        if by in ("sku", "category"):
            for o in orders:
                lines = [ln for ln in self.t.lines if ln.order_id == o.id]
                returned_ids = {x.order_line_external_id for r in self.live_requests(o)
                                for x in self.return_lines(r)}
                keys: dict[str, bool] = {}
                for ln in lines:
                    value = ln.sku if by == "sku" else ln.category
                    k = "(none)" if value is None else value
                    keys[k] = keys.get(k, False) or ln.external_id in returned_ids
                for k, hit in keys.items():
                    out[k][1] += 1
                    out[k][0] += hit
            return {k: (v[0], v[1]) for k, v in out.items()}
        if by == "reason":
            for o in orders:
                reasons = {x.reason for r in self.live_requests(o) for x in self.return_lines(r)}
                for reason in reasons:
                    out[reason][0] += 1
            return {k: (v[0], len(orders)) for k, v in out.items()}
        key = self.keyer(by, lambda o: o.placed_at, lambda o: o.marketplace)
        for o in orders:
            out[key(o)][1] += 1
            out[key(o)][0] += bool(self.live_requests(o))
        return {k: (v[0], v[1]) for k, v in out.items()}

    def revenue(self, by: str) -> dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]]:
        """(key, currency) -> (revenue, refunded, retained)."""
        key = self.keyer(by, lambda o: o.placed_at, lambda o: o.marketplace)
        out: dict[tuple[str, str], list[Decimal]] = defaultdict(
            lambda: [Decimal(0), Decimal(0), Decimal(0)])
        for o in self.orders():
            out[(key(o), o.currency)][0] += o.total
            for f in self.t.refunds:
                if (f.marketplace, f.order_external_id) == (o.marketplace, o.external_id) \
                        and f.status == "paid":
                    out[(key(o), f.currency)][1] += f.amount
            lines = {ln.external_id: ln for ln in self.t.lines if ln.order_id == o.id}
            for r in self.live_requests(o):
                if r.kind == "exchange" and r.status != "rejected":
                    for x in self.return_lines(r):
                        ln = lines.get(x.order_line_external_id)
                        if ln is not None:
                            out[(key(o), o.currency)][2] += ln.unit_price * x.quantity
        return {k: (v[0], v[1], v[2]) for k, v in out.items()}

    def refunded_tax(self, by: str) -> dict[tuple[str, str], Decimal]:
        """(key, currency) -> the tax inside paid refunds, as each refund's breakdown says."""
        key = self.keyer(by, lambda o: o.placed_at, lambda o: o.marketplace)
        out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for o in self.orders():
            out[(key(o), o.currency)] += 0
            for f in self.t.refunds:
                if (f.marketplace, f.order_external_id) == (o.marketplace, o.external_id) \
                        and f.status == "paid":
                    tax = (f.breakdown or {}).get("total_tax") or {}
                    out[(key(o), f.currency)] += Decimal(tax.get("amount") or 0)
        return dict(out)

    def exchange_share(self, by: str) -> dict[str, tuple[int, int]]:
        key = self.keyer(by, lambda o: o.placed_at, lambda o: o.marketplace)
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for o in self.orders():
            for r in self.live_requests(o):
                out[key(o)][1] += 1
                out[key(o)][0] += r.kind == "exchange"
        return {k: (v[0], v[1]) for k, v in out.items()}

    def returned_by_reason(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for o in self.orders():
            for r in self.live_requests(o):
                for x in self.return_lines(r):
                    out[x.reason] += x.quantity
        return dict(out)

    def first(self, rma_id: str, statuses: Iterable[str]) -> datetime | None:
        times = [a.at for a in self.t.audit if a.entity == "return" and a.entity_id == rma_id
                 and a.to_status in set(statuses)]
        return min(times) if times else None

    def step(self, r: ReturnRow, step: str) -> tuple[datetime | None, datetime | None, str]:
        if step == "response":
            return r.created_at, self.first(r.rma_id, ("approved", "rejected")), "requested"
        return (self.first(r.rma_id, ("received",)), self.first(r.rma_id, ("refunded",)),
                "received")

    def _step_key(self, by: str, r: ReturnRow, start: datetime) -> str:
        if by == "store":
            return r.marketplace
        return "all" if by == "all" else label(start, by, self.zone)

    def handling(self, step: str, by: str) -> dict[str, tuple[int, int, int | None, int | None]]:
        """key -> (count, total seconds, p50, p90)."""
        groups: dict[str, list[int]] = defaultdict(list)
        for r in self.t.returns:
            start, end, _ = self.step(r, step)
            if start is None or end is None or not self.inside(start) or end >= self.until:
                continue
            key = self._step_key(by, r, start)
            groups[key].append(seconds(end) - seconds(start))
        return {k: (len(v), sum(v), nearest_rank(v, 50), nearest_rank(v, 90))
                for k, v in groups.items()}

    def sla(self, step: str, limit: timedelta, by: str) -> dict[str, tuple[int, int, int]]:
        """key -> (met, breached, pending)."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for r in self.t.returns:
            start, end, waiting = self.step(r, step)
            if start is None or not self.inside(start):
                continue
            key = self._step_key(by, r, start)
            out[key]  # every request in the window has a row
            done = end is not None and end < self.until
            late = done and seconds(end) - seconds(start) > limit.total_seconds()  # type: ignore[arg-type]
            overdue = seconds(start) + int(limit.total_seconds()) <= seconds(self.until)
            if done and not late:
                out[key][0] += 1
            elif late or (not done and r.status == waiting and overdue):
                out[key][1] += 1
            elif not done and r.status == waiting:
                out[key][2] += 1
        return {k: (v[0], v[1], v[2]) for k, v in out.items()}

    # -------------------------------------------------------------- logistics

    def parcels(self) -> list[tuple[ShipmentRow, str | None]]:
        stores = {o.id: o.marketplace for o in self.t.orders}
        return [(s, stores.get(s.order_id) if s.order_id is not None else None)
                for s in self.t.parcels if s.direction == "outbound" and self.inside(s.shipped_at)]

    def had(self, parcel: ShipmentRow, status: str) -> bool:
        return any(e.shipment_id == parcel.id and e.status == status for e in self.t.events)

    def parcel_key(self, by: str) -> Callable[[tuple[ShipmentRow, str | None]], str]:
        if by == "carrier":
            return lambda p: p[0].carrier or "(none)"
        if by == "store":
            return lambda p: p[1] or "(none)"
        return self.keyer(by, lambda p: p[0].shipped_at)

    def transit(self, by: str) -> dict[str, tuple[int, int, int | None, int | None]]:
        groups: dict[str, list[int]] = defaultdict(list)
        key = self.parcel_key(by)
        for p in self.parcels():
            s = p[0]
            if s.delivered_at is not None and s.delivered_at < self.until:
                groups[key(p)].append(seconds(s.delivered_at) - seconds(s.shipped_at))  # type: ignore[arg-type]
        return {k: (len(v), sum(v), nearest_rank(v, 50), nearest_rank(v, 90))
                for k, v in groups.items()}

    def transit_bands(self, edges: tuple[int, ...]) -> dict[str, int]:
        out: Counter[str] = Counter()
        for s, _ in self.parcels():
            if s.delivered_at is None or s.delivered_at >= self.until:
                continue
            hours = (seconds(s.delivered_at) - seconds(s.shipped_at)) / 3600  # type: ignore[arg-type]
            lows = [0, *edges]
            for lo, hi in zip(lows, [*edges, None], strict=True):
                if hi is None or hours < hi:
                    out[f"{lo}-{hi}h" if hi is not None else f"{lo}h+"] += 1
                    break
        return dict(out)

    def exception_rate(self, by: str) -> dict[str, tuple[int, int]]:
        parcels = self.parcels()
        exceptional = [p for p in parcels if p[0].issue is not None or self.had(p[0], "exception")]
        if by == "issue":
            counts = Counter(p[0].issue or "other" for p in exceptional)
            return {k: (n, len(parcels)) for k, n in counts.items()}
        key = self.parcel_key(by)
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for p in parcels:
            out[key(p)][1] += 1
            out[key(p)][0] += p in exceptional
        return {k: (v[0], v[1]) for k, v in out.items()}

    def stuck(self, by: str, after: timedelta = timedelta(days=3)) -> dict[str, int]:
        key = self.parcel_key(by)
        out: Counter[str] = Counter()
        for p in self.parcels():
            last = p[0].last_event_at or p[0].shipped_at
            if not p[0].terminal and last is not None and last <= self.until - after:
                out[key(p)] += 1
        return dict(out)

    def first_attempt(self, by: str) -> dict[str, tuple[int, int]]:
        key = self.parcel_key(by)
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for p in self.parcels():
            if p[0].delivered_at is not None and p[0].delivered_at < self.until:
                out[key(p)][1] += 1
                out[key(p)][0] += not self.had(p[0], "failed_attempt")
        return {k: (v[0], v[1]) for k, v in out.items()}

    # -------------------------------------------------------------- reviews

    def stars(self, by: str) -> dict[str, tuple[int, int, int, int]]:
        key = self.keyer(by, lambda v: v.remote_created_at,
                         (lambda v: v.sku) if by == "sku" else (lambda v: v.marketplace))
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for v in self.t.reviews:
            if self.inside(v.remote_created_at):
                row = out[key(v)]
                row[0] += 1
                row[1] += v.rating
                row[2] += v.rating >= 4
                row[3] += v.rating <= 2
        return {k: (a, b, c, d) for k, (a, b, c, d) in out.items()}

    def topics(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for v in self.t.reviews:
            if self.inside(v.remote_created_at) and v.rating <= 2:
                out.update(v.topics or [])
        return dict(out)

    # -------------------------------------------------------------- follow-ups

    def surveys(self, by: str) -> dict[str, tuple[int, ...]]:
        key = self.keyer(by, lambda u: u.sent_at,
                         (lambda u: u.plan) if by == "plan" else (lambda u: u.marketplace))
        out: dict[str, list[int]] = defaultdict(lambda: [0] * 8)
        for u in self.t.followups:
            if not self.inside(u.sent_at):
                continue
            row = out[key(u)]
            row[0] += 1
            answered = u.responded_at is not None and u.responded_at < self.until
            row[1] += answered
            if answered and u.csat is not None:
                row[2] += 1
                row[3] += u.csat
                row[4] += u.csat >= 4
            if answered and u.nps is not None:
                row[5] += 1
                row[6] += u.nps >= 9
                row[7] += u.nps <= 6
        return {k: tuple(v) for k, v in out.items()}

    # -------------------------------------------------------------- cases

    def case_list(self, since: datetime | None = None,
                  until: datetime | None = None) -> list[CaseRow]:
        lo, hi = since or self.since, until or self.until
        return [c for c in self.t.cases if lo <= c.opened_at < hi]

    def case_key(self, by: str) -> Callable[[CaseRow], str]:
        column = {"kind": lambda c: c.kind, "cause": lambda c: c.root_cause,
                  "store": lambda c: c.store}.get(by)
        return self.keyer(by, lambda c: c.opened_at, column)

    def case_volume(self, by: str, since: datetime | None = None,
                    until: datetime | None = None) -> dict[str, int]:
        return dict(Counter(self.case_key(by)(c) for c in self.case_list(since, until)))

    def case_validity(self) -> dict[str, int]:
        names = {True: "valid", False: "invalid", None: "undetermined"}
        return dict(Counter(names[c.cause_valid] for c in self.case_list()))

    def case_times(self, step: str, by: str) -> dict[str, tuple[int, int, int | None, int | None]]:
        groups: dict[str, list[int]] = defaultdict(list)
        for c in self.case_list():
            end = c.first_response_at if step == "first_response" else c.resolved_at
            if end is not None and end < self.until:
                groups[self.case_key(by)(c)].append(seconds(end) - seconds(c.opened_at))
        return {k: (len(v), sum(v), nearest_rank(v, 50), nearest_rank(v, 90))
                for k, v in groups.items()}

    def case_sla(self) -> dict[str, tuple[int, int, int]]:
        ids = {c.id for c in self.case_list()}
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for s in self.t.case_slas:
            if s.case_id not in ids:
                continue
            if s.breached_at is not None and s.breached_at < self.until:
                out[s.metric][1] += 1
            elif s.met_at is not None and s.met_at < self.until:
                out[s.metric][0] += 1
            else:
                out[s.metric][2] += 1
        return {k: (v[0], v[1], v[2]) for k, v in out.items()}

    def case_escalation(self, by: str) -> dict[str, tuple[int, int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for c in self.case_list():
            out[self.case_key(by)(c)][1] += 1
            out[self.case_key(by)(c)][0] += c.escalation > 0
        return {k: (v[0], v[1]) for k, v in out.items()}

    def case_repeat(self) -> tuple[int, int]:
        per = Counter(c.buyer_id for c in self.case_list())
        return sum(1 for n in per.values() if n >= 2), len(per)

    def case_skus(self) -> dict[str, int]:
        orders = {(o.marketplace, o.external_id): o.id for o in self.t.orders}
        lines: dict[int, set[str]] = defaultdict(set)
        for ln in self.t.lines:
            lines[ln.order_id].add(ln.sku)
        out: Counter[str] = Counter()
        for c in self.case_list():
            oid = orders.get((c.store, c.order_id or ""))
            if oid is not None:
                out.update(lines[oid])
        return dict(out)
