"""Catching up: a trigger committed by a process killed before its hooks still opens its case."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.cases import catch_up as catching
from aftersales.store.tables.cases import CaseFactRow, CaseRow
from aftersales.store.tables.core import OutboxRow
from tests.cases.conftest import Clock, an_order, emit, make_app

SCRIPT = Path(__file__).with_name("crash_trigger.py")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=300, check=False)


def _count(app: AfterSales, table: type, *where: object) -> int:
    with app.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def _crash(app: AfterSales, url: str, orders: list[tuple[str, str]]) -> None:
    """A child commits a negative review per order and is killed before its hooks run."""
    done = _run("crash", url, *(f"sandbox:{o}:{b}" for o, b in orders))
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "the hooks ran" not in done.stdout
    assert _count(app, OutboxRow, OutboxRow.event_type == "review.negative") == len(orders)
    assert _count(app, CaseRow) == 0  # the crash window: committed, no case


def _tick(url: str) -> dict[str, object]:
    done = _run("tick", url)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return report


def test_a_trigger_whose_process_was_killed_before_its_hook_opens_one_case_on_the_next_tick(
        app: AfterSales, db_url: str) -> None:
    order, buyer = an_order(app)
    _crash(app, db_url, [(order, buyer)])
    report = _tick(db_url)
    assert report["failed"] == 0, report
    assert _count(app, CaseRow) == 1
    [case] = app.cases.list(buyer_id=buyer)
    assert (case.order_id, case.kind.value) == (order, "negative_review")
    assert len(app.cases.get(case.id).facts) == 1
    assert _count(app, OutboxRow, OutboxRow.event_type == "case.opened") == 1
    _tick(db_url)  # the second tick hands the event over again (young): adds nothing
    assert _count(app, CaseRow) == 1
    assert _count(app, CaseFactRow) == 1
    assert _count(app, OutboxRow, OutboxRow.event_type == "case.opened") == 1


def test_two_workers_catching_up_at_once_open_each_case_once(
        app: AfterSales, db_url: str, tmp_path: Path) -> None:
    orders = [an_order(app, i) for i in range(12)]
    orders += orders[:4]  # four orders get a second review: a fact on the same case
    _crash(app, db_url, orders)
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    go = tmp_path / "go"
    workers = [subprocess.Popen([sys.executable, str(SCRIPT), "tick", db_url, str(r), str(go)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for r in ready]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.write_text("1")  # both built: they catch up at the same moment
    for worker in workers:
        _out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    assert _count(app, CaseRow) == 12
    assert _count(app, CaseFactRow) == 16
    assert _count(app, OutboxRow, OutboxRow.event_type == "case.opened") == 12
    assert _count(app, OutboxRow, OutboxRow.event_type == "case.fact_added") == 4


def test_catch_up_counts_and_a_second_run_adds_nothing(app: AfterSales) -> None:
    order, buyer = an_order(app)
    emit(app, "review.negative", {"marketplace": "sandbox", "review_id": "r1",
                                  "order_id": order, "buyer_id": buyer, "rating": 1},
         key="review.negative:sandbox:r1")
    # the hook ran and opened it; the catch-up finds its fact and adds nothing
    assert _count(app, CaseRow) == 1
    report = app.cases.catch_up()
    assert (report.done, report.added, report.failed) == (1, 0, 0)
    tick = app.cases.tick()
    assert (tick.replayed, tick.added, tick.failed) == (1, 0, 0)


def test_the_position_passes_settled_rows_only_and_never_moves_back(app: AfterSales) -> None:
    order, buyer = an_order(app)
    emit(app, "review.negative", {"marketplace": "sandbox", "review_id": "r1",
                                  "order_id": order, "buyer_id": buyer, "rating": 1},
         key="review.negative:sandbox:r1")
    with app.store.session() as session:
        tip = int(session.scalar(select(func.max(OutboxRow.id))) or 0)
    # every row is younger than the window: handed over, but the position waits
    assert catching.catch_up(app.cases).position == 0
    settled = catching.catch_up(app.cases, settle=timedelta(0))
    assert (settled.done, settled.added, settled.position) == (1, 0, tip)
    assert catching.catch_up(app.cases, settle=timedelta(0)).done == 0  # nothing after it
    assert catching.save_position(app.cases, tip - 5) == tip  # a slower worker's older one
    assert catching.position(app.cases) == tip


def test_a_limit_stops_the_run_and_the_next_one_goes_on(app: AfterSales) -> None:
    app.cases.batch = 2
    with app.store.session() as session:  # five triggers, outbox only (no hook queued)
        for n in range(5):
            order, buyer = an_order(app, n)
            session.add(OutboxRow(key=f"review.negative:sandbox:r{n}", topic="event",
                                  event_type="review.negative", aggregate_type="review",
                                  aggregate_id=f"r{n}", store="sandbox",
                                  payload={"marketplace": "sandbox", "review_id": f"r{n}",
                                           "order_id": order, "buyer_id": buyer,
                                           "rating": 1}))
    first = catching.catch_up(app.cases, limit=3, settle=timedelta(0))
    assert (first.done, first.added) == (3, 3)
    rest = catching.catch_up(app.cases, settle=timedelta(0))
    assert (rest.done, rest.added) == (2, 2)
    assert _count(app, CaseRow) == 5


@pytest.mark.parametrize("text", ["", "not a number"])
def test_an_unreadable_position_starts_at_the_beginning(app: AfterSales, text: str) -> None:
    from aftersales.store.cursors import set_cursor

    with app.store.session() as session:
        set_cursor(session, *catching.CURSOR, text)
    assert catching.position(app.cases) == 0


def test_the_tick_summary_counts_deadlines_checked_and_triggers_caught_up() -> None:
    from aftersales.cases.service import CasesTickReport
    from aftersales.worker_summary import summarize

    line = summarize("cases", CasesTickReport(checked=2, warned=1, replayed=3, added=1,
                                              failed=1), 0.01).line()
    assert line.startswith("tick.cases failed done=5 skipped=0 failed=1 ")
    assert "replayed=3 added=1" in line


def _trigger(n: int, order: str, buyer: str) -> OutboxRow:
    """A review.negative row written straight to the outbox (no hook queued)."""
    return OutboxRow(key=f"review.negative:sandbox:late{n}", topic="event",
                     event_type="review.negative", aggregate_type="review",
                     aggregate_id=f"late{n}", store="sandbox",
                     payload={"marketplace": "sandbox", "review_id": f"late{n}",
                              "order_id": order, "buyer_id": buyer, "rating": 1})


@pytest.mark.postgres
def test_a_row_committed_after_a_higher_id_is_still_caught_up(pg_url: str,
                                                              clock: Clock) -> None:
    """PostgreSQL takes an id at insert: id N can commit after N+1 is read."""
    app = make_app(pg_url, clock)
    try:
        (slow_order, slow_buyer), (fast_order, fast_buyer) = an_order(app, 0), an_order(app, 1)
        with app.store.session() as slow:
            slow.add(_trigger(0, slow_order, slow_buyer))
            slow.flush()  # holds id N, not committed yet
            with app.store.session() as fast:
                fast.add(_trigger(1, fast_order, fast_buyer))  # id N+1, committed
            first = app.cases.catch_up()
            assert first.added == 1
            assert [c.order_id for c in app.cases.list()] == [fast_order]
        second = app.cases.catch_up()  # the slow row is visible now
        assert second.added == 1
        assert sorted(c.order_id or "" for c in app.cases.list()) == sorted(
            [slow_order, fast_order])
    finally:
        app.close()
