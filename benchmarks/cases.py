"""Complaint cases at scale: opening from events, and the cost of an SLA tick.

(a) Opening cases from N events (default 100,000): ``review.negative``
    events for N / 5 buyers, five each, are written to the outbox, then read
    back in pages of 1,000 and handed to ``app.cases.open_from_events`` (the
    cases' batch hook), which opens a case or appends a fact to the open one,
    one transaction a page. Prints events per second against the per-event
    path (one transaction an opening) on the first 2,000 events, and checks
    the outcome: N / 5 cases with five facts each.
(b) One SLA tick (``run_sla(limit=1000)``) with 1,000 deadlines due among
    10,000 open cases versus among 1,000,000; the median of three ticks
    each (the due rows are put back between ticks). The tick walks the
    ``next_at`` index, so its cost should follow what is due, not what is
    open. Target: within 1.5x. Prints the ratio.

Databases live in /dev/shm when it exists (both sides alike).

    python benchmarks/cases.py [--quick] [--events N] [--open N] [--only open|tick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, insert, select, update

from aftersales.app import AfterSales
from aftersales.cases.triggers import opening_for
from aftersales.events import Event
from aftersales.outbox import event_fields
from aftersales.store.keys import stored_key
from aftersales.store.tables.cases import CaseFactRow, CaseRow, CaseSlaRow
from aftersales.store.tables.core import OutboxRow

NOW = datetime.now(UTC).replace(microsecond=0)
PAST = NOW - timedelta(minutes=5)


def _folder() -> Path:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return Path(tempfile.mkdtemp(prefix="cases-bench-", dir=base))


def _app(url: str) -> AfterSales:
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"], migrate=False,
                     clock=lambda: NOW, cases={"batch": 1000})
    app.store.create_all()
    return app


def _fill_outbox(app: AfterSales, events: int) -> None:
    """``review.negative`` events for events / 5 buyers, five each, written to the outbox."""
    buyers = max(1, events // 5)
    chunk = 10_000
    with app.store.engine.begin() as conn:
        for start in range(0, events, chunk):
            rows = []
            for n in range(start, min(events, start + chunk)):
                payload = {"marketplace": "shop", "review_id": n, "buyer_id": f"b{n % buyers}",
                           "rating": 1, "severity": 2}
                key = f"review.negative:{n}"
                rows.append({"key": key, "payload": payload, "created_at": NOW,
                             **event_fields("review.negative", payload, key)})
            conn.execute(insert(OutboxRow), rows)


def _outbox_pages(app: AfterSales, size: int) -> Iterator[list[Event]]:
    """The outbox's trigger events, page by page, as an outbox reader hands them over."""
    last = 0
    while True:
        with app.store.session() as session:
            rows = session.execute(select(OutboxRow.id, OutboxRow.event_type, OutboxRow.payload,
                                          OutboxRow.key)
                                   .where(OutboxRow.id > last,
                                          OutboxRow.event_type == "review.negative")
                                   .order_by(OutboxRow.id).limit(size)).all()
        if not rows:
            return
        last = rows[-1].id
        yield [Event(r.event_type, r.payload, r.key) for r in rows]


def _one_at_a_time(app: AfterSales, events: list[Event]) -> None:
    """The per-event path: each event's opening in its own transaction (the baseline)."""
    for e in events:
        opening = opening_for(e.name, e.payload, stored_key(e.key), app.cases.policy,
                              app.cases._lookup)
        if opening is not None:
            app.cases._open_quiet(opening, actor=f"rule:{e.name}")


def _counts(app: AfterSales) -> tuple[int, int]:
    with app.store.session() as session:
        cases = session.scalar(select(func.count()).select_from(CaseRow)) or 0
        facts = session.scalar(select(func.count()).select_from(CaseFactRow)) or 0
    return cases, facts


def bench_open(folder: Path, events: int, baseline: int) -> None:
    base = _app(f"sqlite:///{folder}/open-one.db")
    _fill_outbox(base, baseline)
    batch = [e for page in _outbox_pages(base, 1000) for e in page]
    started = time.perf_counter()
    _one_at_a_time(base, batch)
    one = baseline / (time.perf_counter() - started)
    assert _counts(base) == (max(1, baseline // 5), baseline)
    base.close()

    app = _app(f"sqlite:///{folder}/open.db")
    _fill_outbox(app, events)
    started = time.perf_counter()
    for page in _outbox_pages(app, 1000):
        app.cases.open_from_events(page)
    took = time.perf_counter() - started
    cases, facts = _counts(app)
    print(f"(a) one event at a time: {baseline:,} events at {one:,.0f} events/s (baseline)")
    print(f"    batches of 1,000 outbox events: {events:,} events -> {cases:,} cases, "
          f"{facts:,} facts in {took:.1f}s ({events / took:,.0f} events/s, "
          f"{events / took / one:.1f}x the baseline)")
    assert cases == max(1, events // 5)
    assert facts == events
    app.close()


def _fill(app: AfterSales, total: int, due: int) -> list[int]:
    later = NOW + timedelta(days=30)
    past = PAST
    chunk = 20_000
    with app.store.engine.begin() as conn:
        for start in range(0, total, chunk):
            rows = range(start, min(total, start + chunk))
            conn.execute(insert(CaseRow), [
                {"id": n + 1, "store": "shop", "kind": "complaint", "channel": "phone",
                 "buyer_id": f"b{n}", "order_id": f"o{n}", "priority": "normal",
                 "status": "investigating", "open_key": f"shop|b{n}|o{n}|complaint",
                 "subject": "", "escalation": 0, "reopened": 0, "opened_at": NOW,
                 "created_at": NOW, "updated_at": NOW, "version": 1} for n in rows])
            conn.execute(insert(CaseSlaRow), [
                {"case_id": n + 1, "metric": "resolution", "clock": "calendar", "round": 1,
                 "target_seconds": 3e6, "warn_seconds": 2e6, "elapsed_seconds": 0.0,
                 "running_since": NOW, "status": "running",
                 "warn_at": past if n < due else later, "due_at": later,
                 "next_at": past if n < due else later} for n in rows])
    return list(range(1, due + 1))


def _plan(app: AfterSales) -> str:
    """The database's plan for the tick's claim of due deadlines (it must use the index)."""
    stmt = (select(CaseSlaRow.id).where(CaseSlaRow.next_at <= NOW)
            .order_by(CaseSlaRow.next_at).limit(1000))
    compiled = stmt.compile(dialect=app.store.engine.dialect)
    with app.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                    (NOW.isoformat(), 1000, 0)).all()
    return "; ".join(str(r[-1]) for r in rows)


def _tick(app: AfterSales, due_ids: list[int]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        report = app.cases.run_sla(now=NOW, limit=len(due_ids))
        times.append(time.perf_counter() - started)
        assert report.warned == len(due_ids), report
        with app.store.engine.begin() as conn:  # put the due rows back for the next tick
            conn.execute(update(CaseSlaRow).where(CaseSlaRow.case_id.in_(due_ids))
                         .values(warned_at=None, warn_at=PAST, next_at=PAST))
            conn.execute(delete(OutboxRow))
    return statistics.median(times)


def bench_tick(folder: Path, big: int, small: int, due: int) -> None:
    results = {}
    for total in (small, big):
        app = _app(f"sqlite:///{folder}/tick{total}.db")
        started = time.perf_counter()
        ids = _fill(app, total, due)
        print(f"    filled {total:,} open cases in {time.perf_counter() - started:.0f}s")
        print(f"    plan of the claim among {total:,}: {_plan(app)}")
        results[total] = _tick(app, ids)
        app.close()
    ratio = results[big] / results[small]
    print(f"(b) SLA tick, {due:,} due: among {small:,} open {results[small] * 1000:.0f} ms, "
          f"among {big:,} open {results[big] * 1000:.0f} ms; ratio {ratio:.2f}x "
          f"(target within 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 events; 100,000 open")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--open", dest="big", type=int, default=None)
    parser.add_argument("--only", choices=("open", "tick"), default=None,
                        help="run one of the two parts")
    args = parser.parse_args()
    events = args.events or (10_000 if args.quick else 100_000)
    big = args.big or (100_000 if args.quick else 1_000_000)
    folder = _folder()
    try:
        if args.only != "tick":
            bench_open(folder, events, min(events, 2_000))
        if args.only != "open":
            bench_tick(folder, big, 10_000, 1_000)
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
