"""Every report figure equals a plain-Python count over the same stored rows.

On SQLite and PostgreSQL (the ``dataset`` fixture), for a window that crosses
the start of daylight saving time in the shop's zone (2026-03-08 in New York)
and a month boundary, and for a window that starts and ends mid-period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aftersales.reports import cases, followups, logistics, returns, reviews
from aftersales.reports.periods import Scope
from tests.reports.conftest import ZONE, Dataset
from tests.reports.oracle import Oracle, label, load

NY = ZoneInfo(ZONE)
WINDOWS = {
    "feb-to-now": (datetime(2026, 2, 1, tzinfo=NY), None),
    "mid-period": (datetime(2026, 3, 4, 13, tzinfo=NY), datetime(2026, 3, 17, 9, tzinfo=NY)),
}
GRAINS = ("day", "week", "month")


@pytest.fixture(scope="module", params=list(WINDOWS))
def case(request: pytest.FixtureRequest, dataset: Dataset) -> tuple[Any, Scope, Oracle]:
    since, until = WINDOWS[request.param]
    until = until or dataset.app.now()
    scope = Scope(since, until, NY)
    with dataset.app.store.session() as session:
        tables = load(session)
        session.expunge_all()
    return dataset, scope, Oracle(tables, scope.since, scope.until, NY)


def _run(dataset: Dataset, call: Any, *args: Any) -> Any:
    with dataset.app.store.session() as session:
        return call(session, *args)


def _rates(rows: list[Any]) -> dict[str, tuple[int, int]]:
    return {r.key: (r.numerator, r.denominator) for r in rows if r.denominator}


def _durations(rows: list[Any]) -> dict[str, tuple[Any, ...]]:
    return {r.key: (r.count, r.total_seconds, r.p50_seconds, r.p90_seconds)
            for r in rows if r.count}


def test_the_data_crosses_dst_and_a_month(case: tuple[Any, Scope, Oracle]) -> None:
    """The check below means something: times whose local day differs under a fixed offset."""
    _, scope, oracle = case
    fixed = timezone(timedelta(hours=-5))  # New York's winter offset all year
    placed = [o.placed_at for o in oracle.orders()]
    moved = [t for t in placed if t.astimezone(fixed).date() != t.astimezone(NY).date()]
    assert moved, "no order placed in the hour that DST moves"
    months = {label(t, "month", NY) for t in placed}
    assert len(months) >= 2 or scope.until - scope.since < timedelta(days=20)
    assert scope.since < datetime(2026, 3, 8, 7, tzinfo=UTC) < scope.until


@pytest.mark.parametrize("by", [*GRAINS, "all", "store", "sku", "category", "reason"])
def test_return_rate(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    got = _rates(_run(dataset, returns.return_rate, scope, by))
    assert got == {k: v for k, v in oracle.return_rate(by).items() if v[1]}
    assert any(n for n, _ in got.values())


@pytest.mark.parametrize("by", ["week", "month", "store", "all"])
def test_revenue_refunds_and_retained(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, returns.revenue, scope, by)
    got = {(r.key, r.currency): (r.revenue, r.refunded, r.retained) for r in rows}
    assert got == oracle.revenue(by)
    if by == "all" and scope.until == dataset.app.now():
        assert rows[0].refunded > 0
        assert rows[0].retained > 0


@pytest.mark.parametrize("by", ["week", "store", "all"])
def test_refunded_tax_as_the_returns_area_recorded_it(case: tuple[Any, Scope, Oracle],
                                                      by: str) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, returns.revenue, scope, by)
    got = {(r.key, r.currency): r.refunded_tax for r in rows}
    assert got == oracle.refunded_tax(by)
    assert all(r.refunded_tax <= r.refunded for r in rows)


@pytest.mark.parametrize("by", ["day", "week", "store"])
def test_exchange_share(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    got = _rates(_run(dataset, returns.exchange_share, scope, by))
    assert got == {k: v for k, v in oracle.exchange_share(by).items() if v[1]}


def test_returned_quantity_by_reason(case: tuple[Any, Scope, Oracle]) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, returns.returned_by_reason, scope)
    assert {r.key: r.count for r in rows} == oracle.returned_by_reason()
    assert [r.count for r in rows] == sorted((r.count for r in rows), reverse=True)


@pytest.mark.parametrize("step", ["response", "refund"])
@pytest.mark.parametrize("by", ["day", "week", "store"])
def test_handling_time_percentiles(case: tuple[Any, Scope, Oracle], step: str, by: str) -> None:
    dataset, scope, oracle = case
    got = _durations(_run(dataset, returns.handling_times, scope, step, by))
    assert got == oracle.handling(step, by)
    if scope.until == dataset.app.now():
        assert got


@pytest.mark.parametrize("step", ["response", "refund"])
@pytest.mark.parametrize("hours", [1, 48, 24 * 14])
def test_sla_met_and_breached(case: tuple[Any, Scope, Oracle], step: str, hours: int) -> None:
    dataset, scope, oracle = case
    limit = timedelta(hours=hours)
    rows = _run(dataset, returns.sla, scope, limit, step, "week")
    got = {r.key: (r.met, r.breached, r.pending) for r in rows if r.met + r.breached + r.pending}
    assert got == {k: v for k, v in oracle.sla(step, limit, "week").items() if any(v)}


@pytest.mark.parametrize("by", ["carrier", "store", "day", "week"])
def test_transit_times(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    got = _durations(_run(dataset, logistics.transit_times, scope, by))
    assert got == oracle.transit(by)
    assert got


def test_transit_distribution(case: tuple[Any, Scope, Oracle]) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, logistics.transit_histogram, scope, (36, 48, 60, 72))
    assert {r.key: r.count for r in rows if r.count} == oracle.transit_bands((36, 48, 60, 72))
    assert sum(1 for r in rows if r.count) >= 2


@pytest.mark.parametrize("by", ["carrier", "issue", "week"])
def test_exception_rate(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    got = _rates(_run(dataset, logistics.exception_rate, scope, by))
    assert got == {k: v for k, v in oracle.exception_rate(by).items() if v[1]}
    assert any(n for n, _ in got.values())


@pytest.mark.parametrize("by", ["carrier", "week"])
def test_stuck_parcels(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, logistics.stuck_parcels, scope, by)
    assert {r.key: r.count for r in rows if r.count} == oracle.stuck(by)


@pytest.mark.parametrize("by", ["carrier", "day", "store"])
def test_first_attempt_rate(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    got = _rates(_run(dataset, logistics.first_attempt_rate, scope, by))
    assert got == {k: v for k, v in oracle.first_attempt(by).items() if v[1]}


@pytest.mark.parametrize("by", ["day", "week", "month", "sku", "store"])
def test_stars_positive_and_negative(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, reviews.stars, scope, by)
    got = {r.key: (r.reviews, r.stars, r.positive, r.negative) for r in rows if r.reviews}
    assert got == oracle.stars(by)
    assert got


def test_complaint_topics(case: tuple[Any, Scope, Oracle]) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, reviews.complaint_topics, scope, 100)
    assert {r.key: r.count for r in rows} == oracle.topics()


@pytest.mark.parametrize("by", ["plan", "day", "week", "store"])
def test_response_rate_csat_nps(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, followups.surveys, scope, by)
    got = {r.key: (r.sent, r.responded, r.csat_count, r.csat_sum, r.satisfied, r.nps_count,
                   r.promoters, r.detractors) for r in rows if r.sent}
    assert got == oracle.surveys(by)
    if scope.until == dataset.app.now():
        assert sum(v[5] for v in got.values()) > 20  # NPS answers were counted


@pytest.mark.parametrize("by", ["kind", "cause", "store", "day", "week"])
def test_case_volume_escalation_and_times(case: tuple[Any, Scope, Oracle], by: str) -> None:
    dataset, scope, oracle = case
    rows = _run(dataset, cases.volume, scope, by)
    assert {r.key: r.count for r in rows if r.count} == oracle.case_volume(by)
    got = _rates(_run(dataset, cases.escalation_rate, scope, by))
    assert got == {k: v for k, v in oracle.case_escalation(by).items() if v[1]}
    for step in ("first_response", "resolution"):
        assert _durations(_run(dataset, cases.handling_times, scope, step, by)) == \
            oracle.case_times(step, by)
    if by == "kind" and scope.until == dataset.app.now():
        assert oracle.case_times("resolution", by)
        assert sum(v[0] for v in got.values())


def test_case_validity_sla_repeat_skus_and_change(case: tuple[Any, Scope, Oracle]) -> None:
    dataset, scope, oracle = case
    assert {r.key: r.count for r in _run(dataset, cases.validity, scope)} == \
        oracle.case_validity()
    assert {r.key: (r.met, r.breached, r.pending) for r in _run(dataset, cases.sla, scope)} \
        == oracle.case_sla()
    repeat = _run(dataset, cases.repeat_complainants, scope)[0]
    assert (repeat.numerator, repeat.denominator) == oracle.case_repeat()
    top = _run(dataset, cases.skus, scope, 1000)
    assert {r.key: r.count for r in top} == oracle.case_skus()
    previous = scope.previous()
    got = {r.key: (r.current, r.previous) for r in _run(dataset, cases.change, scope, "kind")}
    now = oracle.case_volume("kind")
    before = oracle.case_volume("kind", previous.since, previous.until)
    assert got == {k: (now.get(k, 0), before.get(k, 0)) for k in set(now) | set(before)}
