"""Complaint cases at scale: opening from events, and the cost of an SLA tick.

(a) Opening cases from N events (default 100,000): ``review.negative``
    events for N / 5 distinct orders, five each, go through the same hook
    the event bus calls, so each opens a case or appends a fact to the open
    one (one transaction each). Prints events per second, and checks the
    outcome: N / 5 cases with five facts each.
(b) One SLA tick (``run_sla(limit=1000)``) with 1,000 deadlines due among
    10,000 open cases versus among 1,000,000; the median of three ticks
    each (the due rows are put back between ticks). The tick walks the
    ``next_at`` index, so its cost should follow what is due, not what is
    open. Target: within 1.5x. Prints the ratio.

Databases live in /dev/shm when it exists (both sides alike).

    python benchmarks/cases.py [--quick] [--events N] [--open N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, insert, select, update

from aftersales.app import AfterSales
from aftersales.events import Event
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


def bench_open(folder: Path, events: int) -> None:
    app = _app(f"sqlite:///{folder}/open.db")
    orders = max(1, events // 5)
    started = time.perf_counter()
    for n in range(events):
        order = n % orders
        app.cases._on_event(Event("review.negative", {
            "marketplace": "shop", "review_id": n, "order_id": f"o{order}",
            "buyer_id": f"b{order}", "rating": 1, "severity": 2}, key=f"review.negative:{n}"))
    took = time.perf_counter() - started
    with app.store.session() as session:
        cases = session.scalar(select(func.count()).select_from(CaseRow))
        facts = session.scalar(select(func.count()).select_from(CaseFactRow))
    print(f"(a) {events:,} events -> {cases:,} cases, {facts:,} facts in {took:.1f}s "
          f"({events / took:,.0f} events/s, one transaction each)")
    assert cases == orders
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
    args = parser.parse_args()
    events = args.events or (10_000 if args.quick else 100_000)
    big = args.big or (100_000 if args.quick else 1_000_000)
    folder = _folder()
    try:
        bench_open(folder, events)
        bench_tick(folder, big, 10_000, 1_000)
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
