"""Order sync: the library against raw ``executemany`` of the same facts, and memory.

    python benchmarks/sync.py                      # 5,000 orders, memory at 2,000 vs 20,000
    AFTERSALES_BENCH_ORDERS=100000 python benchmarks/sync.py
    AFTERSALES_BENCH_MEMORY=100000,1000000 python benchmarks/sync.py
    python benchmarks/sync.py --db postgresql      # starts its own throwaway PostgreSQL
    python benchmarks/sync.py --db postgresql --dsn postgresql://user@host:5432/postgres

On SQLite the floor is ``sqlite3`` ``executemany``; on PostgreSQL it is
``psycopg`` ``executemany`` (pipelined by psycopg), one transaction per page,
in the same process. Without ``--dsn`` the PostgreSQL runs start a cluster
of their own from the machine's binaries (as the ``postgres`` user when run
as root) and remove it afterwards; each run gets a fresh database.

Figures, each measured in this process against a baseline run in this process:

* ``app.sync_orders`` over N orders listed in pages (orders, their lines,
  their outbound parcels, one ``order.delivered`` event per delivered order,
  the cursor with each page). The pages are generated before the clock starts
  and replayed by the marketplace, so generating them is not timed;
* the same pages written with the per-order path the library used before
  (ORM upsert per order, a parcel query per order, an outbox lookup per
  event), for the before/after figure;
* raw ``sqlite3`` ``executemany`` of the same facts, one transaction per page
  (converting each order to rows is inside the timing, as it is for the
  library): the floor. Target: the library within 5x of it.

The listed pages (some 30 Python objects per order, millions in all at
100,000) are frozen out of the cyclic garbage collector (``gc.freeze()``)
before the runs, unless ``--no-freeze``. A real sync streams its pages and
holds none of this; left in the collector's view, every full collection
walks it again, a cost that grows with N and that both sides pay in
proportion to how much they allocate, not to their own work. At 100,000
orders it was about half the library's time (103 s against 55 s frozen, at
load 2.5).

Then peak memory: a fresh process syncs N and then 10·N orders generated page
by page as they are listed (nothing kept), tracemalloc's peak over the sync.
Target: the larger run's peak at most 1.3x the smaller's.

The orders are built like the sandbox's (1-3 lines, a parcel for four orders
in five, three in five delivered) but by a small factory here: the sandbox
plans its whole world up front, which would make it, not the sync, the
memory being measured, and it lists about 1,200 orders a second.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sync_pages import database_server

from aftersales.app import AfterSales
from aftersales.models import Buyer, Order, OrderLine, Page, Shipment
from aftersales.money import Money
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.cursors import set_cursor
from aftersales.store.orders import upsert_orders

START = datetime(2026, 1, 5, tzinfo=UTC)
STORE = "sandbox"


def make_order(i: int) -> Order:
    """Order number ``i``: deterministic, shaped like a sandbox order."""
    lines = [OrderLine(external_id=f"L{i}-{n}", sku=f"SKU-{(i + n) % 500}", title="Mug",
                       quantity=1 + n, unit_price=Money(Decimal("12.50"), "CNY"))
             for n in range(1 + i % 3)]
    total = sum((ln.unit_price.amount * ln.quantity for ln in lines), Decimal(0)) + 5
    placed = START + timedelta(minutes=i)
    shipped = i % 5 != 0
    return Order(
        marketplace=STORE, external_id=f"O{i:08d}",
        buyer=Buyer(external_id=f"B{i % 9973}", name="Buyer", email=f"b{i % 9973}@example.com"),
        currency="CNY", lines=lines, shipping=Money(Decimal(5), "CNY"),
        discount=Money(Decimal(0), "CNY"), total=Money(total, "CNY"),
        raw_status="delivered" if i % 5 in (1, 2, 3) else "paid",
        placed_at=placed, updated_at=placed + timedelta(hours=1),
        delivered_at=placed + timedelta(days=2) if i % 5 in (1, 2, 3) else None,
        shipments=[Shipment(tracking_number=f"SF{i:012d}", carrier="sf",
                            shipped_at=placed + timedelta(hours=3))] if shipped else [],
    )


def pages(n: int, size: int) -> Iterator[Page[Order]]:
    """N orders in pages of ``size``, generated as they are listed."""
    for start in range(0, n, size):
        items = [make_order(i) for i in range(start, min(n, start + size))]
        yield Page[Order](items=items, cursor=f"c{start}")


def make_app(url: str) -> AfterSales:
    app = AfterSales(url, marketplaces=[SandboxMarketplace(seed=1, orders=30)],
                     clock=lambda: START, migrate=False)
    app.store.create_all()
    return app


def run_library(url: str, listed: list[Page[Order]]) -> tuple[float, int]:
    app = make_app(url)
    app.marketplace(STORE).list_orders = lambda cursor=None: iter(listed)  # type: ignore[method-assign]
    t = time.perf_counter()
    changed = app.sync_orders(STORE)
    elapsed = time.perf_counter() - t
    app.close()
    return elapsed, changed


def run_per_order(url: str, listed: list[Page[Order]]) -> tuple[float, int]:
    """The per-order path the library used before set-based pages (for before/after)."""
    app = make_app(url)
    t = time.perf_counter()
    changed = 0
    for page in listed:
        with app.store.session() as session:
            for row, did_change, delivered in upsert_orders(session, page.items):
                changed += did_change
                if delivered:
                    app.events.emit(session, "order.delivered", {
                        "marketplace": STORE, "order_id": row.external_id,
                        "buyer_id": row.buyer_id,
                        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
                    }, key=f"order.delivered:{STORE}:{row.external_id}")
            if page.cursor is not None:
                set_cursor(session, STORE, "orders", page.cursor)
    elapsed = time.perf_counter() - t
    app.close()
    return elapsed, changed


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def run_raw(db: Path, listed: list[Page[Order]]) -> float:
    """The floor: the same rows with sqlite3 executemany, one transaction per page."""
    t = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    order_id = line_id = ship_id = 0
    for page in listed:
        now = _ts(datetime.now(UTC))
        orders, lines, ships, events = [], [], [], []
        for o in page.items:
            order_id += 1
            orders.append((order_id, o.marketplace, o.external_id, o.buyer.external_id,
                           json.dumps(o.buyer.model_dump(mode="json")), o.currency,
                           str(o.shipping.amount), str(o.discount.amount), str(o.total.amount),
                           o.raw_status, _ts(o.placed_at), _ts(o.updated_at),
                           _ts(o.delivered_at), o.taxes_included, "[]", 1, now, now))
            for ln in o.lines:
                line_id += 1
                lines.append((line_id, order_id, ln.external_id, ln.sku, ln.title, ln.category,
                              ln.quantity, str(ln.unit_price.amount), "0", "[]"))
            for s in o.shipments:
                ship_id += 1
                ships.append((ship_id, order_id, o.marketplace, s.direction.value,
                              s.tracking_number, s.carrier, _ts(s.shipped_at), 1, now, now))
            if o.delivered_at is not None:
                payload = {"marketplace": STORE, "order_id": o.external_id,
                           "buyer_id": o.buyer.external_id,
                           "delivered_at": o.delivered_at.isoformat()}
                events.append((f"order.delivered:{STORE}:{o.external_id}", json.dumps(payload),
                               o.external_id, STORE, now))
        with con:
            con.executemany(
                "INSERT INTO orders (id, marketplace, external_id, buyer_id, buyer, currency,"
                " shipping, discount, total, raw_status, placed_at, remote_updated_at,"
                " delivered_at, taxes_included, shipping_taxes, platform_refunds, version,"
                " created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'[]',?,?,?)", orders)
            con.executemany(
                "INSERT INTO order_lines (id, order_id, external_id, sku, title, category,"
                " quantity, unit_price, discount, taxes) VALUES (?,?,?,?,?,?,?,?,?,?)", lines)
            con.executemany(
                "INSERT INTO shipments (id, order_id, store, direction, tracking_number,"
                " carrier, shipped_at, version, created_at, updated_at, status, terminal)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,'pending',0)", ships)
            con.executemany(
                "INSERT INTO outbox (key, topic, event_type, aggregate_type, payload,"
                " aggregate_id, store, created_at) VALUES (?,'event','order.delivered','order',"
                " ?,?,?,?) ON CONFLICT (key) DO NOTHING", events)
            con.execute(
                "INSERT INTO sync_cursors (source, stream, cursor, updated_at)"
                " VALUES (?, 'orders', ?, ?) ON CONFLICT (source, stream)"
                " DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                (STORE, page.cursor, now))
    con.close()
    return time.perf_counter() - t


Rows = list[tuple[object, ...]]


def _page_rows(page: Page[Order], ids: list[int], now: datetime) -> tuple[Rows, Rows, Rows, Rows]:
    """The rows of one page for the PostgreSQL floor (``ids``: the next order/line/parcel id)."""
    orders, lines, ships, events = [], [], [], []
    for o in page.items:
        ids[0] += 1
        order_id = ids[0]
        orders.append((order_id, o.marketplace, o.external_id, o.buyer.external_id,
                       json.dumps(o.buyer.model_dump(mode="json")), o.currency,
                       str(o.shipping.amount), str(o.discount.amount), str(o.total.amount),
                       o.raw_status, o.placed_at, o.updated_at, o.delivered_at,
                       o.taxes_included, "[]", 1, now, now))
        for ln in o.lines:
            ids[1] += 1
            lines.append((ids[1], order_id, ln.external_id, ln.sku, ln.title, ln.category,
                          ln.quantity, str(ln.unit_price.amount), "0", "[]"))
        for s in o.shipments:
            ids[2] += 1
            ships.append((ids[2], order_id, o.marketplace, s.direction.value, s.tracking_number,
                          s.carrier, s.shipped_at, 1, now, now))
        if o.delivered_at is not None:
            payload = {"marketplace": STORE, "order_id": o.external_id,
                       "buyer_id": o.buyer.external_id,
                       "delivered_at": o.delivered_at.isoformat()}
            events.append((f"order.delivered:{STORE}:{o.external_id}", json.dumps(payload),
                           o.external_id, STORE, now))
    return orders, lines, ships, events


def run_raw_pg(url: str, listed: list[Page[Order]]) -> float:
    """The PostgreSQL floor: the same rows with psycopg executemany, one transaction per page."""
    import psycopg

    t = time.perf_counter()
    ids = [0, 0, 0]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        for page in listed:
            orders, lines, ships, events = _page_rows(page, ids, datetime.now(UTC))
            with con.transaction(), con.cursor() as cur:
                cur.executemany(
                    "INSERT INTO orders (id, marketplace, external_id, buyer_id, buyer, currency,"
                    " shipping, discount, total, raw_status, placed_at, remote_updated_at,"
                    " delivered_at, taxes_included, shipping_taxes, platform_refunds, version,"
                    " created_at, updated_at)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'[]',%s,%s,%s)",
                    orders)
                cur.executemany(
                    "INSERT INTO order_lines (id, order_id, external_id, sku, title, category,"
                    " quantity, unit_price, discount, taxes)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", lines)
                cur.executemany(
                    "INSERT INTO shipments (id, order_id, store, direction, tracking_number,"
                    " carrier, shipped_at, version, created_at, updated_at, status, terminal)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'pending',false)", ships)
                cur.executemany(
                    "INSERT INTO outbox (key, topic, event_type, aggregate_type, payload,"
                    " aggregate_id, store, created_at) VALUES (%s,'event','order.delivered',"
                    "'order',%s,%s,%s,%s) ON CONFLICT (key) DO NOTHING", events)
                cur.execute(
                    "INSERT INTO sync_cursors (source, stream, cursor, updated_at)"
                    " VALUES (%s, 'orders', %s, %s) ON CONFLICT (source, stream)"
                    " DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                    (STORE, page.cursor, datetime.now(UTC)))
    return time.perf_counter() - t


class Backend:
    """Where the runs write: SQLite files in a folder, or databases on one PostgreSQL server."""

    def __init__(self, tmp: Path, server: str | None) -> None:
        self.tmp, self.server = tmp, server
        self.name = "PostgreSQL" if server else "SQLite"
        self.floor = "psycopg executemany" if server else "raw sqlite3 executemany"

    def fresh(self, name: str) -> str:
        """A new empty database with the schema; its SQLAlchemy URL."""
        if self.server:
            from followups import _pg_database  # the benchmarks' shared throwaway-server helper

            url: str = _pg_database(self.server, name)
        else:
            url = f"sqlite:///{self.tmp / name}.db"
        make_app(url).close()
        return url

    def raw(self, url: str, listed: list[Page[Order]]) -> float:
        if self.server:
            return run_raw_pg(url, listed)
        return run_raw(Path(url.removeprefix("sqlite:///")), listed)

    def drop(self, name: str) -> None:
        if self.server:
            from sqlalchemy import create_engine, text

            admin = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        else:
            for p in self.tmp.glob(f"{name}.db*"):
                p.unlink()


def child_memory(url: str, n: int, size: int, probe: str) -> None:
    """Inside a fresh process: sync N orders generated page by page; print the peak.

    ``probe``: ``tracemalloc`` (the peak of Python's own allocations during the
    sync; slows the run down about twice) or ``rss`` (the process's peak
    resident size, ``ru_maxrss``, interpreter and libraries included, and its
    growth over the size just before the sync; no slowdown).
    """
    import resource

    app = make_app(url)
    app.marketplace(STORE).list_orders = lambda cursor=None: pages(n, size)  # type: ignore[method-assign]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if probe == "tracemalloc":
        tracemalloc.start()
    t = time.perf_counter()
    changed = app.sync_orders(STORE)
    elapsed = time.perf_counter() - t
    if probe == "tracemalloc":
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_mib = peak / 2**20
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    app.close()
    print(json.dumps({"peak_mib": peak_mib, "before_mib": before, "seconds": elapsed,
                      "changed": changed}))


def memory(backend: Backend, n: int, size: int, probe: str) -> dict[str, float]:
    url = backend.fresh(f"mem{n}")
    out = subprocess.run([sys.executable, __file__, "--child", "--url", url, "--orders", str(n),
                          "--page", str(size), "--probe", probe],
                         capture_output=True, text=True, check=True)
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["changed"] == n, data
    backend.drop(f"mem{n}")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int,
                        default=int(os.environ.get("AFTERSALES_BENCH_ORDERS", "5000")))
    parser.add_argument("--page", type=int, default=250, help="orders per listed page")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", default=os.environ.get("AFTERSALES_BENCH_MEMORY",
                                                           "2000,20000"),
                        help="two order counts for the memory runs (comma-separated)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-speed", action="store_true", help="only the memory runs")
    parser.add_argument("--probe", choices=["tracemalloc", "rss"],
                        default=os.environ.get("AFTERSALES_BENCH_MEMORY_PROBE", "tracemalloc"),
                        help="how the memory runs measure their peak")
    parser.add_argument("--no-before", action="store_true", help="skip the per-order path")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the listed pages in the garbage collector's view")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--dsn", help="a PostgreSQL server to use instead of starting one"
                                      " (its databases are created and dropped here)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_memory(args.url, args.orders, args.page, args.probe)
        return
    with database_server(args, "bench-sync-") as (tmp, server):
        bench(args, Backend(tmp, server))


def bench(args: argparse.Namespace, backend: Backend) -> None:
    """The speed runs, then the memory runs."""
    if not args.no_speed:
        speed(args, backend)
    if not args.no_memory:
        small, large = (int(x) for x in args.memory.split(","))
        a = memory(backend, small, args.page, args.probe)
        b = memory(backend, large, args.page, args.probe)
        what = ("tracemalloc peak during the sync" if args.probe == "tracemalloc"
                else "peak RSS (ru_maxrss) of the process")
        print(f"  memory on {backend.name}, {what}: {a['peak_mib']:.1f} MiB at {small:,} "
              f"(sync {a['seconds']:.0f} s), {b['peak_mib']:.1f} MiB at {large:,} "
              f"(sync {b['seconds']:.0f} s) -> {b['peak_mib'] / a['peak_mib']:.2f}x"
              f" (target <= 1.3x)")
        if args.probe == "rss":
            grow_a, grow_b = a["peak_mib"] - a["before_mib"], b["peak_mib"] - b["before_mib"]
            print(f"    growth over the size before the sync: {grow_a:.1f} MiB at {small:,}, "
                  f"{grow_b:.1f} MiB at {large:,}")


def speed(args: argparse.Namespace, backend: Backend) -> None:
    """Time the library, the floor and (once) the per-order path on the same pages."""
    n = args.orders
    t0 = time.perf_counter()
    listed = list(pages(n, args.page))  # generated before any clock starts
    generated = time.perf_counter() - t0
    if not args.no_freeze:
        gc.collect()
        gc.freeze()  # the listed pages: see the module's docstring
    # Interleaved, best of --repeat: other work on the machine only ever slows a run down.
    ours_runs, raw_runs, before_runs = [], [], []
    for i in range(args.repeat):
        url = backend.fresh(f"ours{i}")
        elapsed, changed = run_library(url, listed)
        assert changed == n, changed
        ours_runs.append(elapsed)
        backend.drop(f"ours{i}")
        url = backend.fresh(f"raw{i}")
        raw_runs.append(backend.raw(url, listed))
        backend.drop(f"raw{i}")
        if not args.no_before and i == 0:
            url = backend.fresh(f"before{i}")
            elapsed, changed = run_per_order(url, listed)
            assert changed == n, changed
            before_runs.append(elapsed)
            backend.drop(f"before{i}")
    ours, raw = min(ours_runs), min(raw_runs)
    print(f"order sync on {backend.name}, {n:,} orders in pages of {args.page} "
          f"(best of {args.repeat}; generated beforehand in {generated:.1f} s; the machine may"
          f" be shared, so absolute times vary"
          f"{'; listed pages left to the collector' if args.no_freeze else ''})")
    print(f"  aftersales sync_orders : {ours:7.2f} s  {n / ours:9,.0f} orders/s"
          f"   -> {ours / raw:.2f}x the floor (target <= 5x)")
    if before_runs:
        before = before_runs[0]
        print(f"  per-order path (before): {before:7.2f} s  {n / before:9,.0f} orders/s"
              f"   -> {before / raw:.2f}x the floor (one run)")
    print(f"  floor, {backend.floor:<22}: {raw:7.2f} s  {n / raw:9,.0f} orders/s")


if __name__ == "__main__":
    main()
