"""Returns sync on SQLite: the library against raw ``sqlite3`` executemany of the same facts.

    python benchmarks/sync_returns.py                    # 10,000 return requests
    AFTERSALES_BENCH_RETURNS=100000 python benchmarks/sync_returns.py --source factory
    python benchmarks/sync_returns.py --memory 100000,1000000 --no-speed   # peak RSS
    python benchmarks/sync_returns.py --check-prepare 3000   # the fast preparation's rows
    python benchmarks/sync_returns.py --db postgresql    # starts its own throwaway PostgreSQL
    python benchmarks/sync_returns.py --db postgresql --dsn postgresql://user@host:5432/postgres

Figures, each measured in this process against a baseline run in this process:

* ``app.returns.sync`` over N return requests listed in pages, generated
  before the clock starts and replayed by the marketplace, so generating
  them is not timed; their orders are stored first (not timed: every run
  starts from a copy of one prepared database), as after an order sync.
  ``--source sandbox`` (the default) lists the requests of
  :class:`~aftersales.sandbox.SandboxMarketplace`, which plans its whole
  world up front (4 orders per request) and stores its orders with
  ``app.sync_orders``: 100,000 requests took over half an hour to generate
  and an hour and a half to prepare on a loaded machine. ``--source
  factory`` streams requests of the same shape, fast enough for 100,000
  and more (see *The factory* below);
* a re-sync of the same pages (every copy already stored: nothing written);
* the same pages merged by the per-request sync returns used before
  (``tests/returns/per_row_sync_reference.py``), when run from a checkout;
* raw ``sqlite3`` ``executemany`` of the same facts, one transaction per
  page: per page one SELECT of the orders named, then INSERTs of the
  requests, their lines, their first audit row, their ``return.<status>``
  event (``ON CONFLICT (key) DO NOTHING``), their SLA deadline row, their
  platform deadline where the marketplace gave one, and the cursor.
  Converting requests to rows is inside the timing, as it is for the
  library. Target: the library within 5x of it.

On PostgreSQL the floor is ``psycopg`` ``executemany`` of the same rows
(pipelined by psycopg), one transaction per page; every run starts from a
database created from a prepared template (``CREATE DATABASE … TEMPLATE``).
Without ``--dsn`` a cluster of its own is started from the machine's
binaries and removed afterwards, as ``benchmarks/sync.py`` does.

Each figure is the median of ``--repeat`` interleaved runs (the library,
then the floor, each on a fresh copy), with each round's own ratio beside
it. On SQLite the process's CPU time is printed too: everything either side
does runs in this process, and on a shared machine CPU time moves less than
wall time. On PostgreSQL the server's work is in another process, so only
wall time compares.

The prepared data (the sandbox's world and the listed pages: some 50
Python objects per request, hundreds of thousands in all) is frozen out of
the cyclic garbage collector (``gc.freeze()``) before the runs, unless
``--no-freeze``. A real sync streams its pages and holds none of this; left
in the collector's view, every full collection walks it again, a cost both
sides would pay in proportion to how much they allocate, not to their own
work (``--no-freeze`` shows it).

The factory. Request ``i`` is the sandbox's own plan and replay
(``plan_return`` and ``replay`` of :mod:`aftersales.sandbox._returns`: the
same kinds, reasons, lines and amounts asked back, notes, evidence, buyer
cancellations, revisions and console approvals, return parcels), made on a
delivered order of ``benchmarks/sync.py``'s order factory (three orders in
five are delivered, so 5/3 orders per request rather than the sandbox's 4;
1-3 lines, one buyer in 9,973) and replayed at a clock ten days after the
last order's delivery, so every request has been asked. What is shortcut:
the orders are stored without the library (``sync_pages.store_orders_fast``:
the orders, their lines, their parcels, one ``order.delivered`` event per
delivered order and the orders cursor; on SQLite by ``sqlite3``
``executemany``, one transaction per page, on PostgreSQL by one ``COPY`` per
table, the id sequences then set where the library's inserts leave them)
instead of ``app.sync_orders``; ``--check-prepare K`` (with ``--db`` either
backend) stores K factory orders both ways and compares every stored column
but the wall-clock times written (``created_at``, ``updated_at`` of the rows,
events and cursor), and on PostgreSQL the sequences, and fails if anything
else differs. At 100,000 requests on a loaded machine: generated in 61 s,
their 166,667 orders stored in 122 s on PostgreSQL (through
``app.sync_orders`` it had taken longer than a session) and 303 s on SQLite.

Peak memory (``--memory N,M``, unless ``--no-memory``; nothing unless asked
for): for each size a database is prepared with that size's factory orders
(by the fast path above, not measured), then a fresh process syncs the N
factory requests generated page by page as they are listed (nothing kept)
and prints its peak resident size during the sync alone (``VmHWM``, reset
through ``/proc/self/clear_refs`` when the sync starts; interpreter and
libraries included) and its peak over the whole process (``ru_maxrss``).
Target: the larger run's peak at most 1.3x the smaller's.

What the floor leaves out and the library does: the eligibility verdict of
each new request (the buyer's recent orders and returns, the units other
requests hold: queries of their own), the policy's automatic decisions and
the page lock. Other areas' after-commit hooks (cases, follow-ups) are
detached unless ``--hooks``: they are their areas' work, timed by their own
benchmarks; the outbox still records every event.

Where the library's time goes (cProfile in CPU time, 5,000 sandbox requests;
the profiler inflates Python calls against the driver's C): reading each
page's orders, its buyers' history and the units other requests hold, 31%
(building the orders as models 13% of it: stored columns that validation
would keep are set without running it); converting and inserting the page's
rows, 15%; the eligibility validators, 13%; the page's events in one
statement, 8%. The policy's refund total is worked out only when an
auto-approve rule could read it (the default policy has none; it was 17% of
the profile when it always was), and then on the Decimals of the order's
Money. The same profile took 9.6 s of CPU before these changes and 5.7 s
after.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aftersales.app import AfterSales
from aftersales.models import Page, ReturnKind, ReturnLine, ReturnRequest
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.repository import new_rma_id
from aftersales.returns.sla import plan_deadline
from aftersales.sandbox import SandboxMarketplace
from aftersales.sandbox._orders import LineSpec, LinesSpec
from aftersales.sandbox._returns import plan_return, replay

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync import START, make_order
from sync import pages as order_pages
from sync_pages import (
    check_prepare,
    database_server,
    detach_hooks,
    high_water_mark,
    page_sync_arguments,
    prepare,
    reset_high_water_mark,
    save_cursor,
    sqlite_time,
    store_orders_fast,
)

STORE = "sandbox"
#: One timed run: (wall seconds, CPU seconds, requests changed, re-sync wall seconds).
Run = tuple[float, float, int, float]


def generate(n: int, size: int) -> tuple[SandboxMarketplace, list[Page[ReturnRequest]]]:
    """N sandbox requests in pages of ``size`` (each listed once, in listing order)."""
    shop = SandboxMarketplace(seed=1, orders=4 * n, returns=2 * n, page_size=size)
    items = [r for page in shop.list_returns() for r in page.items]
    if len(items) < n:
        sys.exit(f"the sandbox listed only {len(items)} requests")
    items = items[:n]
    return shop, [Page[ReturnRequest](items=items[i : i + size], cursor=f"c{i}")
                  for i in range(0, n, size)]


def factory_order(i: int) -> int:
    """The factory order request ``i`` is made on: the ``i``-th delivered one."""
    return 5 * (i // 3) + 1 + i % 3  # sync.make_order delivers orders i % 5 in (1, 2, 3)


def factory_orders(n: int) -> int:
    """How many factory orders N requests need (delivered or not, in order)."""
    return factory_order(n - 1) + 1 if n else 0


def factory_clock(n: int) -> datetime:
    """The clock of N factory requests: ten days after the last order's delivery, so
    every request (asked two hours to seven days after delivery) has been asked."""
    return START + timedelta(minutes=factory_orders(n), days=2 + 10)


def make_request(i: int, now: datetime) -> ReturnRequest:
    """Factory request ``i`` at ``now``: the sandbox's plan and replay on a factory order."""
    j = factory_order(i)
    order = make_order(j)
    assert order.delivered_at is not None
    spec = LinesSpec(lines=tuple(LineSpec(ln.external_id, ln.sku, ln.title, ln.category or "",
                                          ln.quantity, ln.unit_price.amount, None)
                                 for ln in order.lines),
                     shipping=order.shipping.amount, discount=order.discount.amount)
    plan = plan_return(1, i, j, order.delivered_at, i % 4 == 0, spec, serial=j + i)
    state = replay(plan, [], now)
    assert state is not None
    return ReturnRequest(
        marketplace=STORE, order_id=order.external_id, kind=plan.kind,
        lines=[ReturnLine(order_line_id=ln.order_line_id, sku=ln.sku, quantity=ln.quantity,
                          reason=plan.reason, reason_text=plan.reason_text,
                          replacement_sku=ln.replacement_sku) for ln in plan.lines],
        status=state.status, raw_status=state.raw_status, external_id=plan.external_id,
        requested_amount=plan.requested_amount, buyer_note=state.note or None,
        evidence=list(plan.evidence), return_tracking_number=state.return_tracking_number,
        return_carrier=state.return_carrier, created_at=plan.created_at,
        updated_at=state.updated_at,
    )


def factory_pages(n: int, size: int) -> Iterator[Page[ReturnRequest]]:
    """N factory requests in pages of ``size``, generated as they are listed."""
    now = factory_clock(n)
    for start in range(0, n, size):
        items = [make_request(i, now) for i in range(start, min(n, start + size))]
        yield Page[ReturnRequest](items=items, cursor=f"c{start}")


def store_factory_orders(url: str, n: int, size: int) -> None:
    """The factory orders of N requests, into an empty database, without the library
    (the shortcut: see the module's docstring)."""
    app = make_app(url, SandboxMarketplace(seed=1, orders=30), factory_clock(n))
    app.store.create_all()
    app.close()
    store_orders_fast(url, order_pages(factory_orders(n), size), STORE)


class Source:
    """Where the requests come from, the shop they belong to and its clock."""

    def __init__(self, kind: str, n: int, size: int) -> None:
        self.kind, self.n, self.size = kind, n, size
        if kind == "sandbox":
            self.shop, self.listed = generate(n, size)
            self.clock = self.shop.now
        else:
            self.shop = SandboxMarketplace(seed=1, orders=30)
            self.listed = list(factory_pages(n, size))
            self.clock = factory_clock(n)

    def app(self, url: str) -> AfterSales:
        return make_app(url, self.shop, self.clock)

    def store_orders(self, url: str) -> None:
        """The orders the requests belong to, into an empty database."""
        if self.kind == "factory":
            store_factory_orders(url, self.n, self.size)
            return
        app = self.app(url)
        app.store.create_all()
        app.sync_orders(STORE)
        app.close()


def make_app(url: str, shop: SandboxMarketplace, clock: datetime | None = None) -> AfterSales:
    now = clock
    return AfterSales(url, marketplaces=[shop], carriers=[], channels=[], migrate=False,
                      clock=(lambda: now) if now is not None else (lambda: shop.now))


def run_library(url: str, source: Source, listed: list[Page[ReturnRequest]], *,
                before: bool = False, hooks: bool = False, again: bool = False) -> Run:
    """Sync the pages; with ``again`` also time a re-sync of the same pages."""
    app = source.app(url)
    if not hooks:
        detach_hooks(app)
    app.marketplace(STORE).list_returns = lambda cursor=None: iter(listed)  # type: ignore[method-assign]
    patch: AbstractContextManager[Any] = nullcontext()
    if before:
        from unittest import mock

        import aftersales.returns.service as service
        from tests.returns.per_row_sync_reference import PerRowReturnsSync

        patch = mock.patch.object(service, "ReturnsSync", PerRowReturnsSync)
    with patch:
        _ = app.returns
    t, c = time.perf_counter(), time.process_time()
    changed = app.returns.sync(STORE)[STORE]
    elapsed, cpu = time.perf_counter() - t, time.process_time() - c
    resync = 0.0
    if again:
        t = time.perf_counter()
        assert app.returns.sync(STORE)[STORE] == 0
        resync = time.perf_counter() - t
    app.close()
    return elapsed, cpu, changed, resync


Rows = list[tuple[Any, ...]]


def page_rows(page: Page[ReturnRequest], orders: dict[str, tuple[Any, Any, Any]],
              policy: ReturnPolicy, now_at: datetime, now: datetime,
              ts: Callable[[datetime | None], Any]) -> tuple[Rows, Rows, Rows, Rows, Rows, Rows]:
    """The floor's rows of one page: requests, lines, audit rows, events, deadlines and
    platform deadlines (``ts`` writes a time as the database's driver takes it)."""
    reqs, lines, audits, events, deadlines, platform = [], [], [], [], [], []
    at = ts(now_at)
    actor = f"marketplace:{STORE}"
    for r in page.items:
        rma = new_rma_id()
        order = orders.get(r.order_id)
        reqs.append((rma, STORE, r.external_id, order[0] if order else None, r.order_id,
                     order[1] if order else None, r.kind.value, r.status.value,
                     r.raw_status, order[2] if order else None,
                     str(r.requested_amount.amount) if r.requested_amount else None,
                     r.buyer_note, json.dumps(list(r.evidence)),
                     r.return_tracking_number, r.return_carrier, ts(r.updated_at),
                     r.stage.value if r.stage else None,
                     json.dumps(r.risk.model_dump(mode="json")) if r.risk else None,
                     json.dumps(r.dispute.model_dump(mode="json")) if r.dispute else None,
                     ts(r.created_at) or at, at))
        for ln in r.lines:
            lines.append((rma, ln.order_line_id, ln.sku, ln.quantity, ln.reason.value,
                          ln.reason_text, ln.replacement_sku))
        audits.append((rma, actor, at, r.status.value, json.dumps({"raw_status": r.raw_status})))
        payload = {"rma_id": rma, "marketplace": STORE, "order_id": r.order_id,
                   "external_id": r.external_id, "kind": r.kind.value,
                   "status": r.status.value, "actor": actor, "version": 1, "from": None}
        events.append((f"return.{r.status.value}:{rma}:1", f"return.{r.status.value}",
                       json.dumps(payload), rma, ts(now)))
        plan = plan_deadline(ReturnKind(r.kind), r.status, now_at, policy)
        deadlines.append((rma, plan.name if plan else None,
                          plan.status.value if plan else None,
                          plan.action.value if plan else None,
                          ts(plan.due_at) if plan else None,
                          ts(plan.alert_at) if plan else None))
        if r.platform_deadline is not None:
            d = r.platform_deadline
            platform.append((rma, STORE, d.status.value, d.raw_status, ts(d.due_at),
                             d.extendable, d.extensions, at))
    return reqs, lines, audits, events, deadlines, platform


_INSERTS = (
    "INSERT INTO return_requests (rma_id, marketplace, external_id, order_id,"
    " order_external_id, buyer_id, kind, status, raw_status, currency,"
    " requested_amount, buyer_note, evidence, return_tracking_number,"
    " return_carrier, remote_updated_at, stage, risk, dispute, created_at,"
    " updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
    "INSERT INTO return_lines (rma_id, order_line_external_id, sku, quantity,"
    " reason, reason_text, replacement_sku) VALUES (?,?,?,?,?,?,?)",
    "INSERT INTO audit_log (entity, entity_id, actor, at, from_status, to_status,"
    " reason, data) VALUES ('return',?,?,?,NULL,?,'request opened',?)",
    "INSERT INTO outbox (key, topic, event_type, aggregate_type, payload,"
    " aggregate_id, store, created_at) VALUES (?,'event',?,'return',?,?,"
    f"'{STORE}',?) ON CONFLICT (key) DO NOTHING",
    "INSERT INTO return_deadlines (rma_id, name, status, action, due_at, alert_at)"
    " VALUES (?,?,?,?,?,?)",
    "INSERT INTO return_platform_deadlines (rma_id, store, status, raw_status,"
    " due_at, extendable, extensions, synced_at) VALUES (?,?,?,?,?,?,?,?)",
)


def run_raw(url: str, listed: list[Page[ReturnRequest]], now_at: datetime) -> Run:
    """The floor: the same facts with sqlite3 executemany, one transaction per page."""
    policy = ReturnPolicy()
    t, c = time.perf_counter(), time.process_time()
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for page in listed:
        now = datetime.now(UTC)
        with con:
            wanted = sorted({r.order_id for r in page.items})
            marks = ",".join("?" * len(wanted))
            orders = {ext: (oid, buyer, cur) for oid, ext, buyer, cur in con.execute(
                f"SELECT id, external_id, buyer_id, currency FROM orders WHERE marketplace = ?"
                f" AND external_id IN ({marks})", [STORE, *wanted])}
            rows = page_rows(page, orders, policy, now_at, now, sqlite_time)
            for sql, values in zip(_INSERTS, rows, strict=True):
                con.executemany(sql, values)
            save_cursor(con, STORE, "returns", page.cursor, sqlite_time(now))
    con.close()
    return time.perf_counter() - t, time.process_time() - c, sum(len(p.items) for p in listed), 0.0


def run_raw_pg(url: str, listed: list[Page[ReturnRequest]], now_at: datetime) -> Run:
    """The PostgreSQL floor: the same rows with psycopg executemany, one transaction a page."""
    import psycopg

    policy = ReturnPolicy()
    inserts = [sql.replace("?", "%s") for sql in _INSERTS]
    t, c = time.perf_counter(), time.process_time()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        for page in listed:
            now = datetime.now(UTC)
            with con.transaction(), con.cursor() as cur:
                wanted = sorted({r.order_id for r in page.items})
                cur.execute("SELECT id, external_id, buyer_id, currency FROM orders"
                            " WHERE marketplace = %s AND external_id = ANY(%s)", (STORE, wanted))
                orders = {ext: (oid, buyer, cy) for oid, ext, buyer, cy in cur.fetchall()}
                rows = page_rows(page, orders, policy, now_at, now, lambda v: v)
                for sql, values in zip(inserts, rows, strict=True):
                    if values:
                        cur.executemany(sql, values)
                cur.execute(
                    "INSERT INTO sync_cursors (source, stream, cursor, updated_at)"
                    " VALUES (%s, 'returns', %s, %s) ON CONFLICT (source, stream)"
                    " DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                    (STORE, page.cursor, now))
    return time.perf_counter() - t, time.process_time() - c, sum(len(p.items) for p in listed), 0.0


class Backend:
    """Where the runs write: copies of a prepared SQLite file, or PostgreSQL databases
    created from a prepared template database."""

    def __init__(self, tmp: Path, server: str | None) -> None:
        self.tmp, self.server = tmp, server
        self.name = "PostgreSQL" if server else "SQLite"
        self.floor = "psycopg executemany" if server else "raw sqlite3 executemany"
        self.template = ""

    def prepare(self, source: Source) -> None:
        """The template: the schema and the requests' orders, as after an order sync."""
        if not self.server:
            if source.kind == "sandbox":
                self.template = str(prepare(self.tmp, source.app, STORE))
            else:
                self.template = str(self.tmp / "template.db")
                source.store_orders(f"sqlite:///{self.template}")
            return
        self.template = "sync_returns_template"
        url = self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)',
                          f'CREATE DATABASE "{self.template}"')
        source.store_orders(f"{url}/{self.template}")

    def _admin(self, *statements: str) -> str:
        from sqlalchemy import create_engine, text

        assert self.server
        admin = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
        admin.dispose()
        return self.server

    @contextmanager
    def fresh(self, name: str) -> Iterator[str]:
        """A copy of the template for one run; its URL (removed afterwards)."""
        if self.server:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                        f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            try:
                yield f"{self.server}/{name}"
            finally:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        db = self.tmp / f"{name}.db"
        shutil.copy(self.template, db)
        try:
            yield f"sqlite:///{db}"
        finally:
            for path in self.tmp.glob(f"{name}.db*"):
                path.unlink()

    def drop_template(self) -> None:
        if self.server:
            self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        else:
            for path in self.tmp.glob("template.db*"):
                path.unlink()

    def raw(self, url: str, listed: list[Page[ReturnRequest]], now_at: datetime) -> Run:
        return (run_raw_pg if self.server else run_raw)(url, listed, now_at)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--dsn", help="a PostgreSQL server to use instead of starting one"
                                      " (its databases are created and dropped here)")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the prepared data in the garbage collector's view")
    parser.add_argument("--source", choices=["sandbox", "factory"],
                        default=os.environ.get("AFTERSALES_BENCH_RETURN_SOURCE", "sandbox"),
                        help="where the timed requests come from")
    parser.add_argument("--memory", default=os.environ.get("AFTERSALES_BENCH_MEMORY"),
                        help="two request counts for the peak-memory runs (N,M; factory)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-speed", action="store_true", help="only the memory runs")
    parser.add_argument("--check-prepare", type=int, metavar="K",
                        help="compare K factory orders stored by the fast path and by"
                             " app.sync_orders, then exit")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)


def arguments() -> argparse.Namespace:
    return page_sync_arguments(__doc__, "returns", "AFTERSALES_BENCH_RETURNS", _options)


def main() -> None:
    args = arguments()
    if args.child:
        child_memory(args.url, args.count, args.page)
        return
    with database_server(args, "bench-sync-returns-") as (tmp, server):
        if args.check_prepare:
            sys.exit(check_prepare(args.check_prepare, args.page, tmp, server))
        bench(args, Backend(tmp, server))


def bench(args: argparse.Namespace, backend: Backend) -> None:
    if not args.no_speed:
        speed(args, backend)
    if args.memory and not args.no_memory:
        memory_runs(args, backend)


def speed(args: argparse.Namespace, backend: Backend) -> None:
    n = args.count
    t = time.perf_counter()
    source = Source(args.source, n, args.page)  # generated before any clock starts
    listed = source.listed
    print(f"generated {n:,} {args.source} return requests in {time.perf_counter() - t:.1f} s"
          " (not timed)")
    t = time.perf_counter()
    backend.prepare(source)
    print(f"stored their {'factory' if args.source == 'factory' else 'sandbox'} orders in"
          f" {time.perf_counter() - t:.1f} s (not timed)")
    if not args.no_freeze:
        gc.collect()
        gc.freeze()  # the prepared data: see the module's docstring
    ours: list[Run] = []
    raw: list[Run] = []
    before: list[Run] = []
    for i in range(args.repeat):
        with backend.fresh(f"ours{i}") as url:
            ours.append(run_library(url, source, listed, hooks=args.hooks, again=True))
        with backend.fresh(f"raw{i}") as url:
            raw.append(backend.raw(url, listed, source.clock))
        if i == 0 and not args.no_before and Path("tests/returns").is_dir():
            with backend.fresh("before") as url:
                before.append(run_library(url, source, listed, before=True, hooks=args.hooks))
    for run in ours + before:
        assert run[2] == n, run
    report(args, backend, n, ours, raw, before)
    backend.drop_template()


def report(args: argparse.Namespace, backend: Backend, n: int, ours: list[Run], raw: list[Run],
           before: list[Run]) -> None:
    def median(runs: list[Run], at: int) -> float:
        return statistics.median(r[at] for r in runs)

    wall, raw_wall = median(ours, 0), median(raw, 0)
    rounds = sorted(o[0] / r[0] for o, r in zip(ours, raw, strict=True))
    print(f"returns sync on {backend.name}, {n:,} {args.source} requests in pages of"
          f" {args.page} (median of {args.repeat} interleaved runs; the machine may be shared,"
          " so absolute times vary)"
          + ("" if args.hooks else "; other areas' after-commit hooks detached")
          + ("; prepared data left to the collector" if args.no_freeze else ""))
    print(f"  aftersales returns.sync  : {wall:7.2f} s  {n / wall:9,.0f} requests/s"
          f"   -> {wall / raw_wall:.2f}x the floor (target <= 5x; rounds"
          f" {rounds[0]:.2f}-{rounds[-1]:.2f}x)")
    if not backend.server:
        cpu, raw_cpu = median(ours, 1), median(raw, 1)
        print(f"    in CPU time of this process: {cpu:.2f} s against {raw_cpu:.2f} s"
              f" -> {cpu / raw_cpu:.2f}x")
    resync = median(ours, 3)
    print(f"  re-sync, nothing changed : {resync:7.2f} s  {n / resync:9,.0f} requests/s")
    if before:
        b = before[0][0]
        print(f"  per-request path (before): {b:7.2f} s  {n / b:9,.0f} requests/s"
              f"   -> {b / raw_wall:.2f}x the floor (one run)")
    print(f"  floor, {backend.floor:<18}: {raw_wall:7.2f} s  {n / raw_wall:9,.0f} requests/s")


def child_memory(url: str, n: int, size: int) -> None:
    """Inside a fresh process: sync N factory requests generated page by page; print peaks."""
    import resource

    app = make_app(url, SandboxMarketplace(seed=1, orders=30), factory_clock(n))
    _ = app.returns
    detach_hooks(app)
    app.marketplace(STORE).list_returns = (  # type: ignore[method-assign]
        lambda cursor=None: factory_pages(n, size))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reset = reset_high_water_mark()
    t = time.perf_counter()
    changed = app.returns.sync(STORE)[STORE]
    elapsed = time.perf_counter() - t
    during = high_water_mark() if reset else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    app.close()
    print(json.dumps({"peak_mib": peak, "before_mib": before, "during_mib": during,
                      "seconds": elapsed, "changed": changed}))


def memory(backend: Backend, n: int, size: int) -> dict[str, Any]:
    """One memory run: its orders prepared here, the sync in a fresh process."""
    if backend.server:
        raise SystemExit("the memory runs prepare their orders on SQLite only")
    db = backend.tmp / f"mem{n}.db"
    t = time.perf_counter()
    store_factory_orders(f"sqlite:///{db}", n, size)
    prepared = time.perf_counter() - t
    out = subprocess.run([sys.executable, __file__, "--child", "--url", f"sqlite:///{db}",
                          "--returns", str(n), "--page", str(size)],
                         capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["changed"] == n, data
    data["prepared"] = prepared
    for path in backend.tmp.glob(f"mem{n}.db*"):
        path.unlink()
    return data


def memory_runs(args: argparse.Namespace, backend: Backend) -> None:
    small, large = (int(x) for x in args.memory.split(","))
    a = memory(backend, small, args.page)
    b = memory(backend, large, args.page)
    print(f"returns sync peak memory on {backend.name}, factory requests streamed page by page,"
          f" each size in a fresh process (orders prepared in {a['prepared']:.0f} s and"
          f" {b['prepared']:.0f} s, not measured)")
    if a["during_mib"] and b["during_mib"]:
        print(f"  peak RSS during the sync (VmHWM reset when it starts): {a['during_mib']:.1f} MiB"
              f" at {small:,} (sync {a['seconds']:.0f} s), {b['during_mib']:.1f} MiB at"
              f" {large:,} (sync {b['seconds']:.0f} s) -> {b['during_mib'] / a['during_mib']:.2f}x"
              f" (target <= 1.3x)")
    print(f"  peak RSS of the process (ru_maxrss): {a['peak_mib']:.1f} MiB at {small:,},"
          f" {b['peak_mib']:.1f} MiB at {large:,} -> {b['peak_mib'] / a['peak_mib']:.2f}x;"
          f" before the sync {a['before_mib']:.1f} and {b['before_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
