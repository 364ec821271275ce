"""Follow-ups at scale: scheduling, the cost of a dispatch tick, and dispatch throughput.

(a) Scheduling N follow-ups (default 1,000,000) with ``schedule_many`` (one
    row each) against APScheduler 3 with one ``date`` job per follow-up in
    its ``SQLAlchemyJobStore``, both on SQLite files in the same folder,
    same process, the median of ``--repeat`` (5) interleaved runs.
    APScheduler writes and commits each job on its own (its API has no
    batch form), so its baseline runs at 100,000 jobs and the figure
    compared is the time per follow-up (said in the output). Peak memory is traced
    (``tracemalloc``) in a separate pass of 20,000 for each, so tracing does
    not slow the timed runs.
(b) One dispatch tick (``dispatch_due(limit=1000)``, to the outbox) with
    1,000 due among 10,000 scheduled versus among the 1,000,000 of (a);
    the median of three ticks each. Target: within 1.5x.
(c) Dispatch throughput to the outbox on SQLite and on PostgreSQL with 1, 2
    and 4 worker processes draining the same table. PostgreSQL is a
    throwaway cluster started for the run (skipped, and said, when its
    binaries are absent).

Databases live in /dev/shm when it exists (both sides of every comparison
alike), so the figures measure the libraries rather than the disk's fsync.

    python benchmarks/followups.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from aftersales.app import AfterSales
from aftersales.followups.plans import FollowUpPlan
from aftersales.store.tables.followups import FollowUpRow

PLAN = FollowUpPlan(name="bench", channel="outbox", delay="3d",
                    subject="Order {order.id}", body="Hi {buyer.id}, how was order {order.id}?")
NOW = datetime.now(UTC).replace(microsecond=0)


def _noop(n: int) -> None:
    """The job function APScheduler stores a reference to."""


def _app(url: str) -> AfterSales:
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"], migrate=False,
                     followup_batch=200)
    app.followups.register(PLAN)
    return app


def _items(count: int, start: int = 0, due: datetime | None = None) -> Iterator[dict[str, Any]]:
    for n in range(start, start + count):
        item: dict[str, Any] = {"buyer_id": f"b{n}", "order_id": f"O{n}", "marketplace": "shop",
                                "at": NOW}
        if due is not None:
            item["due_at"] = due
        yield item


def _fresh(folder: Path, name: str) -> str:
    path = folder / name
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- (a)


def ours(url: str, count: int) -> AfterSales:
    app = _app(url)
    app.store.create_all()
    app.followups.schedule_many(PLAN, _items(count), chunk=1000)
    return app


def apscheduler_jobs(url: str, count: int) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)},
                                    timezone=UTC)
    scheduler.start(paused=True)  # jobs go straight to the store; nothing runs
    try:
        due = NOW + timedelta(days=3)
        for n in range(count):
            scheduler.add_job(_noop, "date", run_date=due, id=f"fu-{n}", args=(n,))
    finally:
        scheduler.shutdown(wait=False)


def bench_scheduling(folder: Path, count: int, baseline: int, repeat: int) -> AfterSales:
    ours_runs: list[float] = []
    aps_runs: list[float] = []
    app: AfterSales | None = None
    for i in range(repeat):  # interleaved; the median of each
        if app is not None:
            app.close()
        start = time.perf_counter()
        app = ours(_fresh(folder, "a_ours.db"), count)
        ours_runs.append(time.perf_counter() - start)
        aps_runs.append(_timed(lambda: apscheduler_jobs(_fresh(folder, "a_aps.db"),
                                                        baseline))[0])
        if i == 0:
            with app.store.session() as s:
                assert s.scalar(select(func.count()).select_from(FollowUpRow)) == count
    assert app is not None
    ours_s, aps_s = statistics.median(ours_runs), statistics.median(aps_runs)
    probe = min(20_000, count)
    ours_peak = _peak(lambda: ours(_fresh(folder, "a_ours_mem.db"), probe).close())
    aps_peak = _peak(lambda: apscheduler_jobs(_fresh(folder, "a_aps_mem.db"), probe))
    per_ours, per_aps = ours_s / count, aps_s / baseline
    print(f"(a) scheduling, median of {repeat} interleaved runs (load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; runs: aftersales "
          f"{', '.join(f'{x:.2f}' for x in ours_runs)} s, APScheduler "
          f"{', '.join(f'{x:.2f}' for x in aps_runs)} s)")
    print(f"    aftersales {count:,} follow-ups in {ours_s:.2f} s "
          f"({per_ours * 1e6:.1f} us each); APScheduler 3 SQLAlchemyJobStore {baseline:,} jobs "
          f"in {aps_s:.1f} s ({per_aps * 1e6:.1f} us each)")
    if baseline < count:
        full = per_aps * count
        span = f"{full / 60:.0f} min" if full >= 120 else f"{full:.0f} s"
        print(f"    APScheduler baseline ran at {baseline:,} jobs, not {count:,}: one insert and "
              f"commit per job (about {span} at full size)")
    print(f"    time per follow-up: APScheduler / aftersales = {per_aps / per_ours:.1f}x "
          "(target >= 10x)")
    print(f"    peak traced memory scheduling {probe:,}: aftersales {ours_peak / 2**20:.1f} MiB, "
          f"APScheduler {aps_peak / 2**20:.1f} MiB, ratio {aps_peak / ours_peak:.2f}x")
    return app


# ---------------------------------------------------------------- (b)


def _tick_times(app: AfterSales, due: int, rounds: int = 3) -> list[float]:
    with app.store.session() as s:
        total = int(s.scalar(select(func.count()).select_from(FollowUpRow)) or 0)
    step = max(total // (due * rounds), 1)
    times: list[float] = []
    for r in range(rounds):
        ids = [1 + r + i * step * rounds for i in range(due)]
        with app.store.session() as s:
            s.execute(update(FollowUpRow).where(FollowUpRow.id.in_(ids))
                      .values(due_at=NOW - timedelta(minutes=1))
                      .execution_options(synchronize_session=False))
        seconds, report = _timed(lambda: app.followups.dispatch_due(now=NOW, limit=due))
        assert report.sent == due, report
        times.append(seconds)
    return times


def bench_tick(folder: Path, big: AfterSales, small_count: int, due: int) -> None:
    small = ours(_fresh(folder, "b_small.db"), small_count)
    with big.store.session() as s:
        big_count = int(s.scalar(select(func.count()).select_from(FollowUpRow)) or 0)
    small_t = statistics.median(_tick_times(small, due))
    big_t = statistics.median(_tick_times(big, due))
    small.close()
    print(f"(b) dispatch tick, {due:,} due: among {small_count:,} scheduled {small_t * 1000:.0f} "
          f"ms, among {big_count:,} {big_t * 1000:.0f} ms; ratio {big_t / small_t:.2f}x "
          f"(target <= 1.5x)")


# ---------------------------------------------------------------- (c)


def _worker(url: str, go: Any, done: Any) -> None:
    app = _app(url)
    done.put("ready")
    go.wait()
    while app.followups.dispatch_due(now=NOW, limit=1000).claimed:
        pass
    app.close()
    done.put(os.getpid())


def _throughput(url: str, workers: int, count: int) -> float:
    app = _app(url)
    app.store.create_all()
    app.followups.schedule_many(PLAN, _items(count, due=NOW - timedelta(minutes=1)))
    app.close()
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, go, done)) for _ in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:  # every process imported and connected before the clock starts
        done.get(timeout=120)
    start = time.perf_counter()
    go.set()
    for _ in procs:
        done.get(timeout=600)
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    check = _app(url)
    with check.store.session() as s:
        states = dict(s.execute(select(FollowUpRow.status, func.count())
                                .group_by(FollowUpRow.status)).all())
        errors = set(s.scalars(select(FollowUpRow.last_error)
                               .where(FollowUpRow.status != "sent").limit(5)))
    check.close()
    assert states == {"sent": count}, (url.split("/")[-1], workers, states, errors)
    return count / elapsed


def _start_postgres() -> tuple[str, Callable[[], None]] | None:
    bins = [Path(f"/usr/lib/postgresql/{v}/bin") for v in (17, 16, 15)]
    found = next((b for b in bins if (b / "initdb").exists()), None)
    initdb = str(found / "initdb") if found else shutil.which("initdb")
    pg_ctl = str(found / "pg_ctl") if found else shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        return None
    root = os.geteuid() == 0

    def as_pg(cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if root else cmd

    tmp = tempfile.mkdtemp(prefix="aftersales-bench-pg-")
    if root:
        shutil.chown(tmp, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(as_pg([initdb, "-D", f"{tmp}/data", "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    opts = f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(as_pg([pg_ctl, "-D", f"{tmp}/data", "-l", f"{tmp}/log", "-w", "-o", opts,
                          "start"]), check=True, capture_output=True)

    def stop() -> None:
        subprocess.run(as_pg([pg_ctl, "-D", f"{tmp}/data", "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}", stop


def _pg_database(server: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


def bench_throughput(folder: Path, count: int) -> None:
    results: dict[tuple[str, int], float] = {}
    for workers in (1, 2, 4):
        results[("sqlite", workers)] = _throughput(_fresh(folder, f"c_{workers}.db"), workers,
                                                   count)
    pg = _start_postgres()
    if pg is None:
        print("(c) PostgreSQL binaries not found: PostgreSQL runs skipped")
    else:
        server, stop = pg
        try:
            for workers in (1, 2, 4):
                url = _pg_database(server, f"bench_{workers}")
                results[("postgresql", workers)] = _throughput(url, workers, count)
        finally:
            stop()
    base = results[("sqlite", 1)]
    print(f"(c) dispatch throughput to the outbox, {count:,} due follow-ups "
          f"(baseline: SQLite, 1 worker = {base:,.0f}/s; {os.cpu_count()} cores)")
    for (backend, workers), rate in results.items():
        print(f"    {backend:<10} {workers} worker(s): {rate:>8,.0f} follow-ups/s  "
              f"{rate / base:.2f}x")


def main() -> None:
    """Run (a), (b) and (c) and print each figure as a ratio to its baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--count", type=int, default=None, help="follow-ups in (a) and (b)")
    parser.add_argument("--baseline", type=int, default=None,
                        help="APScheduler jobs in (a) (default: 100,000; --quick 5,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of (a); the median")
    parser.add_argument("--only-scheduling", action="store_true", help="run (a) only")
    args = parser.parse_args()
    count = args.count or (20_000 if args.quick else 1_000_000)
    baseline = min(count, args.baseline or (5_000 if args.quick else 100_000))
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="aftersales-bench-",
                                   dir=shm if shm.is_dir() else None))
    try:
        big = bench_scheduling(folder, count, baseline, args.repeat)
        if args.only_scheduling:
            big.close()
            return
        bench_tick(folder, big, 10_000, 1_000)
        big.close()
        bench_throughput(folder, 4_000 if args.quick else 20_000)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
