"""Opening cases from a batch of events writes exactly what one event at a time wrote.

The per-event path (one transaction an opening: ``_open_quiet``) is the
reference. Both paths run the same events against two fresh databases with
the same clock; every row of cases, facts, links, deadlines, contact holds,
case audit and outbox must come out the same.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.cases.triggers import opening_for
from aftersales.events import Event
from aftersales.followups.service import HOLD_EVENTS
from aftersales.store.keys import stored_key
from aftersales.store.tables.cases import CaseFactRow, CaseLinkRow, CaseRow, CaseSlaRow
from aftersales.store.tables.core import AuditRow, OrderRow, OutboxRow
from aftersales.store.tables.followups import ContactHoldRow
from tests.cases.conftest import START, Clock, make_app

# ---------------------------------------------------------------- events


def _orders(app: AfterSales) -> list[tuple[int, str, str]]:
    with app.store.session() as session:
        return [(r.id, r.external_id, r.buyer_id) for r in
                session.scalars(select(OrderRow).order_by(OrderRow.id).limit(4))]


def _event(kind: int, order: tuple[int, str, str], n: int, variant: int) -> Event:
    """One trigger event of ``kind`` (0-6) about ``order``; ``n`` picks its key (retries)."""
    internal, external, buyer = order
    base = {"marketplace": "sandbox", "order_id": external, "buyer_id": buyer}
    if kind == 0:
        return Event("review.negative", {**base, "review_id": n, "rating": 1,
                                         "severity": variant % 4}, f"review.negative:{n}")
    if kind == 1:
        return Event("review.counterfeit", {**base, "review_id": n, "rating": 1,
                                            "topics": ["safety"] if variant % 2 else []},
                     f"review.counterfeit:{n}")
    if kind == 2:
        issue = ("lost", "damaged", "refused", "delayed")[variant % 4]
        return Event("parcel.exception", {"shipment_id": n % 3, "order_id": internal,
                                          "issue": issue}, f"parcel.exception:{n}")
    if kind == 3:
        return Event("followup.responded", {**base, "csat": 1 + variant % 5,
                                            "follow_up_id": n}, f"followup.responded:{n}")
    if kind == 4:
        dispute = None if variant % 3 == 0 else {"status": str(variant), "open": True}
        return Event("return.dispute_changed", {**base, "rma_id": f"RMA-{n % 2}",
                                                "dispute": dispute, "status": "requested"},
                     f"return.dispute_changed:{n}")
    if kind == 5:
        return Event("return.disputed", {**base, "rma_id": f"RMA-{n % 2}"},
                     f"return.disputed:{n}")
    text = ("我要投诉，东西是坏的", "when will it ship?", "this is a complaint")[variant % 3]
    payload: dict[str, Any] = {"store": "sandbox", "buyer_id": buyer, "text": text}
    if variant % 2:
        payload["order_id"] = external
    return Event("message.received", payload, f"message.received:{n}")


def one_at_a_time(app: AfterSales, events: list[Event]) -> None:
    """The reference: each event's opening in its own transaction."""
    for e in events:
        opening = opening_for(e.name, e.payload, stored_key(e.key), app.cases.policy,
                              app.cases._lookup)
        if opening is not None:
            app.cases._open_quiet(opening, actor=f"rule:{e.name}")


# ---------------------------------------------------------------- snapshot


def snapshot(app: AfterSales) -> dict[str, Any]:
    """Every row the opening paths write, without the columns only storage order decides."""
    def rows(query: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        with app.store.engine.connect() as conn:
            return [{k: v for k, v in r._mapping.items() if k not in drop}
                    for r in conn.execute(query)]

    audit = rows(select(AuditRow.__table__).where(AuditRow.entity == "case")
                 .order_by(AuditRow.id), drop=("id",))
    audit.sort(key=lambda r: int(r["entity_id"]))  # stable: each case's rows keep their order
    outbox = rows(select(OutboxRow.__table__), drop=("id", "created_at"))
    cases = rows(select(CaseRow.__table__).order_by(CaseRow.id))
    for case in cases:
        # a second flush at the same instant (closing, escalating) stamps updated_at by the
        # wall clock (the column's onupdate), on either path alike
        if case["updated_at"] > START + timedelta(days=1):
            case["updated_at"] = "wall clock"
    return {
        "cases": cases,
        "facts": rows(select(CaseFactRow.__table__).order_by(CaseFactRow.id)),
        "links": rows(select(CaseLinkRow.__table__).order_by(CaseLinkRow.id)),
        "slas": rows(select(CaseSlaRow.__table__).order_by(CaseSlaRow.id)),
        "holds": sorted((r["buyer_id"], r["kind"], r["ref"], r["opened_at"], r["resolved_at"])
                        for r in rows(select(ContactHoldRow.__table__))),
        "audit": audit,
        "outbox": sorted(outbox, key=lambda r: r["key"]),
    }


def side_by_side(url_a: str, url_b: str, prefix: list[tuple[int, int, int, int]],
                 rest: list[tuple[int, int, int, int]], batch: int) -> None:
    """Both paths over the same events; a prefix (one at a time) makes open cases first."""
    snaps = []
    for url, batched in ((url_a, False), (url_b, True)):
        clock = Clock(START)
        app = make_app(url, clock)
        try:
            orders = _orders(app)
            first = [_event(k, orders[o], n, v) for k, o, n, v in prefix]
            later = [_event(k, orders[o], n, v) for k, o, n, v in rest]
            one_at_a_time(app, first)
            open_cases = app.cases.list(open_only=True, limit=10_000)
            if open_cases:
                app.cases.close(open_cases[-1].id)  # a closed case: its key is free again
            clock.advance(hours=1)
            if batched:
                app.cases.batch = batch

                def no_fallback(*args: Any, **kwargs: Any) -> None:
                    raise AssertionError("the batch fell back to one at a time")

                app.cases._open_quiet = no_fallback  # type: ignore[assignment,method-assign]
                app.cases.open_from_events(later)
            else:
                one_at_a_time(app, later)
            snaps.append(snapshot(app))
        finally:
            app.close()
    a, b = snaps
    for table in a:
        if a[table] != b[table]:
            diff = [(x, y) for x, y in zip(a[table], b[table], strict=False) if x != y][:1]
            raise AssertionError(f"{table}: {len(a[table])} vs {len(b[table])} rows; "
                                 f"first difference {diff}")


_EVENTS = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(0, 12),
                             st.integers(0, 11)), max_size=30)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(prefix=_EVENTS, rest=_EVENTS, batch=st.integers(1, 50))
def test_the_batch_path_writes_what_one_event_at_a_time_wrote(
        prefix: list[tuple[int, int, int, int]], rest: list[tuple[int, int, int, int]],
        batch: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        side_by_side(f"sqlite:///{folder}/a.db", f"sqlite:///{folder}/b.db", prefix, rest,
                     batch)


_FIXED_PREFIX = [(0, 0, 1, 2), (2, 1, 2, 0), (4, 2, 3, 1), (6, 3, 4, 0)]
_FIXED_REST = [(0, 0, 5, 3), (0, 0, 1, 2), (1, 0, 6, 1), (2, 1, 7, 1), (2, 1, 2, 0),
               (3, 2, 8, 0), (3, 2, 9, 4), (4, 2, 10, 2), (5, 2, 11, 0), (6, 3, 12, 2),
               (6, 3, 4, 0), (0, 3, 0, 3), (1, 3, 3, 0), (6, 0, 8, 0)]


@pytest.fixture
def other_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second fresh database of the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/other.db"
        return
    server = db_url.rsplit("/", 1)[0]
    name = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("batch", [1, 4, 500])
def test_side_by_side_on_each_database(db_url: str, other_url: str, batch: int) -> None:
    side_by_side(db_url, other_url, _FIXED_PREFIX, _FIXED_REST, batch)


# ---------------------------------------------------------------- set-based, and safe


def _count_statements(app: AfterSales) -> list[str]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa_event.listen(app.store.engine, "before_cursor_execute", count)
    return seen


def test_a_page_of_events_reaches_the_cases_as_one_batch_of_few_statements(
        db_url: str, clock: Clock) -> None:
    app = make_app(db_url, clock)
    try:
        orders = _orders(app)
        page = [("review.negative", {"marketplace": "sandbox", "review_id": n,
                                     "order_id": orders[n % 4][1], "buyer_id": f"p{n}",
                                     "rating": 1}, f"review.negative:page:{n}")
                for n in range(200)]
        # the follow-ups area's own hold hooks run per event; only the cases' are counted
        for name in HOLD_EVENTS:
            app.events.off(name, app.followups._on_hold_event)
        seen = _count_statements(app)
        with app.store.session() as session:
            app.events.emit_many(session, page)
        assert len([s for s in seen if "INSERT INTO cases" in s]) == 1
        # 200 events: emit, order read, lock, reads, inserts, events; not 200 x 15
        assert len(seen) < 30, len(seen)
        assert len(app.cases.list(limit=1000)) == 200
        with app.store.session() as session:
            assert session.scalar(select(func.count()).select_from(CaseFactRow)) == 200
            assert session.scalar(select(func.count()).select_from(ContactHoldRow).where(
                ContactHoldRow.resolved_at.is_(None))) == 200
    finally:
        app.close()


def test_one_unreadable_event_in_a_batch_skips_only_itself(lite: AfterSales) -> None:
    orders = _orders(lite)
    good = _event(0, orders[0], 1, 2)
    bad = Event("review.negative", {"marketplace": "sandbox", "order_id": orders[1][1],
                                    "buyer_id": orders[1][2], "severity": "very"}, "bad")
    later = _event(6, orders[2], 2, 0)
    assert lite.cases.open_from_events([good, bad, later]) == 2
    assert {c.kind.value for c in lite.cases.list()} == {"negative_review", "complaint"}


def test_the_hold_is_written_in_the_batch_transaction(lite: AfterSales) -> None:
    orders = _orders(lite)
    lite.events.off("complaint.opened", lite.followups._on_hold_event)
    lite.cases.open_from_events([_event(0, orders[0], 1, 0), _event(6, orders[1], 2, 0)])
    with lite.store.session() as session:
        refs = set(session.scalars(select(ContactHoldRow.ref)))
    assert refs == {f"case:{c.id}" for c in lite.cases.list()}


def test_racing_batches_and_single_openings_make_one_case_per_key(
        app: AfterSales, at_once: Any) -> None:
    orders = _orders(app)
    events = [_event(k, orders[o], n, 0) for n, (k, o) in
              enumerate([(0, 0), (0, 1), (6, 2), (0, 0), (6, 3), (0, 1)] * 3)]

    def batch(part: list[Event]) -> Any:
        return lambda: app.cases.open_from_events(part)

    def single(n: int) -> Any:
        return lambda: app.cases.open(store="sandbox", buyer_id=orders[0][2],
                                      order_id=orders[0][1], kind="negative_review",
                                      key=f"phone-{n}")

    fallbacks: list[str] = []
    checked = app.cases._fact_exists

    def fact_exists(key: str) -> bool:  # only a batch that hit a conflict asks this
        fallbacks.append(key)
        return checked(key)

    app.cases._fact_exists = fact_exists  # type: ignore[method-assign]
    calls = [batch(events[0:12]), batch(events[6:18]), batch(events[::-1]), single(1),
             single(2)]
    _, errors = at_once(calls)
    assert errors == []
    assert fallbacks == []  # the keys' locks kept the batches apart: no conflict to retry
    cases = app.cases.list(limit=100)
    keys = [(c.store, c.buyer_id, c.order_id, c.kind.value) for c in cases]
    assert len(keys) == len(set(keys))
    with app.store.session() as session:
        facts = session.scalar(select(func.count()).select_from(CaseFactRow))
        opened = session.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.event_type == "case.opened"))
        added = session.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.event_type == "case.fact_added"))
    assert facts == len({e.key for e in events}) + 2  # every trigger once, and two calls
    assert opened == len(cases)
    assert opened + added == facts


def test_a_retried_batch_adds_nothing(lite: AfterSales, clock: Clock) -> None:
    orders = _orders(lite)
    events = [_event(0, orders[n % 2], n, 1) for n in range(6)]
    assert lite.cases.open_from_events(events) == 6
    clock.advance(minutes=5)
    with lite.store.session() as session:
        before = session.scalar(select(func.count()).select_from(OutboxRow))
    assert lite.cases.open_from_events(events) == 0
    with lite.store.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == before
    assert sum(len(lite.cases.get(c.id).facts) for c in lite.cases.list()) == 6
