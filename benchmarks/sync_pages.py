"""What the page-sync benchmarks share: a prepared database, detached hooks, interleaved runs.

``sync_returns.py`` and ``sync_reviews.py`` time a sync of pre-listed pages
against raw ``sqlite3`` writing the same facts. Both start every run from a
copy of one database that already holds the sandbox's orders, and run the
library and the floor in turn, best of N: other work on a shared machine
only ever slows a run down.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aftersales.app import AfterSales
from aftersales.models import Order, Page
from aftersales.store.tables.core import tracking_key

__all__ = ["compare_prepared", "database_server", "detach_batch_hooks", "detach_hooks",
           "high_water_mark", "interleave", "page_sync_arguments", "prepare",
           "reset_high_water_mark", "save_cursor", "sqlite_time", "store_orders_fast",
           "timing_header"]

T = TypeVar("T")


@contextmanager
def database_server(args: argparse.Namespace, prefix: str) -> Iterator[tuple[Path, str | None]]:
    """(a scratch folder, the PostgreSQL server URL or None) for ``--db`` and ``--dsn``.

    SQLite runs get a temporary folder of their own; PostgreSQL runs use the
    server ``--dsn`` names, or start a throwaway cluster and stop it afterwards.
    """
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory(prefix=prefix) as d:
            yield Path(d), None
        return
    if args.dsn:
        yield (Path(tempfile.gettempdir()),
               args.dsn.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0])
        return
    from followups import _start_postgres

    started = _start_postgres()
    if started is None:
        raise SystemExit("no PostgreSQL binaries (initdb, pg_ctl) here: pass --dsn")
    server, stop = started
    try:
        yield Path(tempfile.gettempdir()), server
    finally:
        stop()



def prepare(tmp: Path, make_app: Callable[[str], AfterSales], store: str) -> Path:
    """A database with the store's orders synced: every run starts from a copy."""
    db = tmp / "template.db"
    app = make_app(f"sqlite:///{db}")
    app.store.create_all()
    app.sync_orders(store)
    app.close()
    return db


def detach_hooks(app: AfterSales) -> None:
    """Take the other areas' after-commit hooks off the bus (cases, follow-ups).

    Their work is timed by their own benchmarks (``benchmarks/cases.py``);
    the outbox still records every event.
    """
    for name, listeners in list(app.events._hooks.items()):
        for hook in list(listeners):
            app.events.off(name, hook)


def detach_batch_hooks(app: AfterSales) -> None:
    """Take the other areas' batch hooks off the bus too (``EventBus.on_many``: the cases
    area opens a page's cases from one list of its events); :func:`detach_hooks` leaves them.
    """
    app.events._batch_hooks.clear()


def sqlite_time(value: datetime | None) -> str | None:
    """A time as the text the store's SQLite columns hold (UTC, microseconds)."""
    return None if value is None else value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def interleave(tmp: Path, template: Path, repeat: int,
               runs: Mapping[str, Callable[[Path], T]],
               first_only: Mapping[str, Callable[[Path], T]] | None = None,
               ) -> dict[str, list[T]]:
    """Each run ``repeat`` times in turn, each on a fresh copy of ``template``.

    ``first_only`` runs join the first round only (a slow reference path).
    Returns every result by run name, in order.
    """
    results: dict[str, list[T]] = {name: [] for name in [*runs, *(first_only or {})]}
    for i in range(repeat):
        chosen = {**runs, **(first_only or {})} if i == 0 else dict(runs)
        for name, run in chosen.items():
            db = tmp / f"{name}{i}.db"
            shutil.copy(template, db)
            results[name].append(run(db))
        for path in tmp.glob(f"*{i}.db*"):
            path.unlink()
    return results


def timing_header(area: str, n: int, noun: str, page: int, repeat: int, hooks: bool,
                  db: str = "SQLite") -> str:
    """The first line of a page-sync benchmark's figures."""
    return (f"{area} sync on {db}, {n:,} {noun} in pages of {page} "
            f"(best of {repeat}; the machine may be shared, so absolute times vary)"
            + ("" if hooks else "; other areas' after-commit hooks detached"))


def page_sync_arguments(doc: str | None, noun: str, env: str,
                        extra: Callable[[argparse.ArgumentParser], None] | None = None,
                        ) -> argparse.Namespace:
    """The page-sync benchmarks' command line: the count (``--<noun>``, or ``env``), page size,
    repeats, and whether to run the per-row path and the other areas' hooks.

    ``extra`` adds a benchmark's own options to the parser."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(f"--{noun}", dest="count", type=int,
                        default=int(os.environ.get(env, "10000")))
    parser.add_argument("--page", type=int, default=250, help=f"{noun} per listed page")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-before", action="store_true", help="skip the per-row path")
    parser.add_argument("--hooks", action="store_true",
                        help="keep the other areas' after-commit hooks in the timing")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def save_cursor(con: sqlite3.Connection, store: str, stream: str, cursor: str | None,
                now: str | None) -> None:
    """The floor's cursor write, as the library's sync commits it with each page."""
    con.execute(
        "INSERT INTO sync_cursors (source, stream, cursor, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (source, stream)"
        " DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        (store, stream, cursor, now))


def reset_high_water_mark() -> bool:
    """Reset the process's peak resident size (Linux: ``clear_refs`` 5); whether it could."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return high_water_mark() is not None


def high_water_mark() -> float | None:
    """The peak resident size since the last reset (``VmHWM``), MiB; ``None`` off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


Rows = list[tuple[Any, ...]]


def _order_rows(page: Page[Order], ids: list[int], now: Any,
                ts: Callable[[datetime | None], Any]) -> tuple[Rows, Rows, Rows, Rows]:
    """One page's rows as ``app.sync_orders`` stores them (``ids``: the last order, line and
    parcel ids, moved on; ``ts`` writes a time as the database's driver takes it)."""
    orders: Rows = []
    lines: Rows = []
    ships: Rows = []
    events: Rows = []
    for o in page.items:
        ids[0] += 1
        order_id = ids[0]
        orders.append((order_id, o.marketplace, o.external_id, o.buyer.external_id,
                       json.dumps(o.buyer.model_dump(mode="json")), o.currency,
                       str(o.shipping.amount), str(o.discount.amount), str(o.total.amount),
                       o.raw_status, ts(o.placed_at), ts(o.updated_at),
                       ts(o.delivered_at), o.taxes_included, now, now))
        for ln in o.lines:
            ids[1] += 1
            lines.append((ids[1], order_id, ln.external_id, ln.sku, ln.title, ln.category,
                          ln.quantity, str(ln.unit_price.amount),
                          str(ln.discount.amount) if ln.discount else "0"))
        for sh in o.shipments:
            ids[2] += 1
            ships.append((ids[2], order_id, o.marketplace, sh.direction.value,
                          sh.tracking_number, tracking_key(sh.tracking_number), sh.carrier,
                          ts(sh.shipped_at), now, now))
        if o.delivered_at is not None:
            payload = {"marketplace": o.marketplace, "order_id": o.external_id,
                       "buyer_id": o.buyer.external_id,
                       "delivered_at": o.delivered_at.isoformat()}
            events.append((f"order.delivered:{o.marketplace}:{o.external_id}",
                           json.dumps(payload), o.external_id, o.marketplace, now))
    return orders, lines, ships, events


#: The PostgreSQL copy's columns: ``_order_rows``' own, then what every row of a table shares.
_ORDER_COPIES = (
    ("orders", "id, marketplace, external_id, buyer_id, buyer, currency, shipping, discount,"
               " total, raw_status, placed_at, remote_updated_at, delivered_at,"
               " taxes_included, created_at, updated_at, shipping_taxes, platform_refunds,"
               " version", ("[]", "[]", 1)),
    ("order_lines", "id, order_id, external_id, sku, title, category, quantity, unit_price,"
                    " discount, taxes", ("[]",)),
    ("shipments", "id, order_id, store, direction, tracking_number, tracking_key, carrier,"
                  " shipped_at,"
                  " created_at, updated_at, version, status, terminal", (1, "pending", False)),
    ("outbox", "key, payload, aggregate_id, store, created_at, topic, event_type,"
               " aggregate_type", ("event", "order.delivered", "order")),
)
#: Pages copied at a time on PostgreSQL (one ``COPY`` per table each time).
_COPY_PAGES = 40


def store_orders_fast(url: str, listed: Iterable[Page[Order]], store: str) -> None:
    """Orders into an empty database with the schema, without the library: the rows
    ``app.sync_orders`` stores (orders, lines, outbound parcels, one ``order.delivered``
    event per delivered order, the orders cursor), as :func:`compare_prepared` checks.

    SQLite: ``sqlite3`` ``executemany``, one transaction per page. PostgreSQL: one
    ``COPY`` per table in one transaction, then the columns every row shares and the id
    sequences set as the library's inserts would have left them.
    """
    if url.startswith("sqlite:"):
        _store_orders_sqlite(Path(url.removeprefix("sqlite:///")), listed, store)
    else:
        _store_orders_pg(url.replace("postgresql+psycopg://", "postgresql://"), listed, store)


def _store_orders_sqlite(db: Path, listed: Iterable[Page[Order]], store: str) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    ids = [0, 0, 0]
    for page in listed:
        now = sqlite_time(datetime.now(UTC))
        orders, lines, ships, events = _order_rows(page, ids, now, sqlite_time)
        with con:
            con.executemany(
                "INSERT INTO orders (id, marketplace, external_id, buyer_id, buyer, currency,"
                " shipping, discount, total, raw_status, placed_at, remote_updated_at,"
                " delivered_at, taxes_included, shipping_taxes, shop_currency, shop_total,"
                " platform_refunds, version, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,'[]',NULL,NULL,'[]',1,?,?)", orders)
            con.executemany(
                "INSERT INTO order_lines (id, order_id, external_id, sku, title, category,"
                " quantity, unit_price, discount, taxes) VALUES (?,?,?,?,?,?,?,?,?,'[]')", lines)
            con.executemany(
                "INSERT INTO shipments (id, order_id, store, direction, tracking_number,"
                " tracking_key, carrier, shipped_at, version, created_at, updated_at, status,"
                " terminal) VALUES (?,?,?,?,?,?,?,?,1,?,?,'pending',0)", ships)
            con.executemany(
                "INSERT INTO outbox (key, topic, event_type, aggregate_type, payload,"
                " aggregate_id, store, created_at) VALUES (?,'event','order.delivered','order',"
                " ?,?,?,?)", events)
            save_cursor(con, store, "orders", page.cursor, now)
    con.close()


def _store_orders_pg(dsn: str, listed: Iterable[Page[Order]], store: str) -> None:
    import psycopg

    ids = [0, 0, 0]
    cursor: str | None = None
    with psycopg.connect(dsn) as con, con.transaction(), con.cursor() as cur:

        def copy(chunk: list[Page[Order]]) -> None:
            now = datetime.now(UTC)
            tables: list[Rows] = [[], [], [], []]
            for page in chunk:
                for rows, page_rows in zip(tables, _order_rows(page, ids, now, lambda v: v),
                                           strict=True):
                    rows.extend(page_rows)
            for (table, columns, shared), rows in zip(_ORDER_COPIES, tables, strict=True):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as out:
                    for row in rows:
                        out.write_row(row + shared)

        chunk: list[Page[Order]] = []
        for page in listed:
            chunk.append(page)
            cursor = page.cursor if page.cursor is not None else cursor
            if len(chunk) == _COPY_PAGES:
                copy(chunk)
                chunk = []
        copy(chunk)
        for table in ("orders", "order_lines", "shipments"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" coalesce(max(id), 1), max(id) IS NOT NULL) FROM {table}")
        if cursor is not None:
            cur.execute("INSERT INTO sync_cursors (source, stream, cursor, updated_at)"
                        " VALUES (%s, 'orders', %s, %s)", (store, cursor, datetime.now(UTC)))
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("ANALYZE")  # as autovacuum would have after the library's inserts


#: Wall-clock times each write path stamps for itself: left out of the comparison.
_WRITTEN_AT = {"created_at", "updated_at"}


def check_prepare(k: int, size: int, tmp: Path, server: str | None) -> int:
    """Store K factory orders (``sync.py``'s) by :func:`store_orders_fast` and by
    ``app.sync_orders`` into two empty databases (SQLite files in ``tmp``, or databases on
    ``server``); compare them with :func:`compare_prepared`. Returns the exit status."""
    from sync import START, pages

    from aftersales.sandbox import SandboxMarketplace

    def empty(name: str) -> str:
        if server is None:
            url = f"sqlite:///{tmp / name}.db"
        else:
            _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                      f'CREATE DATABASE "{name}"')
            url = f"{server}/{name}"
        app = AfterSales(url, marketplaces=[SandboxMarketplace(seed=1, orders=30)],
                         carriers=[], channels=[], migrate=False, clock=lambda: START)
        app.store.create_all()
        app.close()
        return url

    fast, lib = empty("check_fast"), empty("check_lib")
    try:
        store_orders_fast(fast, pages(k, size), "sandbox")
        app = AfterSales(lib, marketplaces=[SandboxMarketplace(seed=1, orders=30)],
                         carriers=[], channels=[], migrate=False, clock=lambda: START)
        app.marketplace("sandbox").list_orders = (  # type: ignore[method-assign]
            lambda cursor=None: pages(k, size))
        app.sync_orders("sandbox")
        app.close()
        bad = compare_prepared(fast, lib)
    finally:
        if server is not None:
            _pg_admin(server, 'DROP DATABASE IF EXISTS "check_fast" WITH (FORCE)',
                      'DROP DATABASE IF EXISTS "check_lib" WITH (FORCE)')
    print("the fast preparation stores the same facts" if not bad else f"{bad} tables differ")
    return 1 if bad else 0


def _pg_admin(server: str, *statements: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for sql in statements:
            conn.execute(text(sql))
    admin.dispose()


def compare_prepared(fast: str, lib: str) -> int:
    """Compare every table of two databases (SQLAlchemy URLs, both SQLite or both
    PostgreSQL) column by column, all but the write times (``created_at``, ``updated_at``),
    and on PostgreSQL the id sequences too; print each table's verdict. Returns how many
    differ."""
    def dump(url: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        if url.startswith("sqlite:"):
            con = sqlite3.connect(url.removeprefix("sqlite:///"))
            for (table,) in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall():
                cols = [c[1] for c in con.execute(f"PRAGMA table_info({table})")
                        if c[1] not in _WRITTEN_AT]
                sel = ", ".join(f'"{c}"' for c in cols)
                out[table] = (cols, con.execute(
                    f"SELECT {sel} FROM {table} ORDER BY 1, 2, 3").fetchall())
            con.close()
            return out
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
            columns: dict[str, list[str]] = {}
            for table, column in pg.execute(
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"):
                if column not in _WRITTEN_AT:
                    columns.setdefault(table, []).append(column)
            for table, cols in columns.items():
                # as text: what is stored, not how the driver reads it back
                sel = ", ".join(f'"{c}"::text' for c in cols)
                out[table] = (cols, pg.execute(
                    f'SELECT {sel} FROM "{table}" ORDER BY 1, 2, 3').fetchall())
            out["(sequences)"] = (["sequence", "last_value"], pg.execute(
                "SELECT sequencename::text, last_value::text FROM pg_sequences"
                " WHERE schemaname = 'public' ORDER BY 1").fetchall())
        return out

    mine, theirs = dump(fast), dump(lib)
    bad = 0
    for table in sorted(set(mine) | set(theirs)):
        cols, a = mine.get(table, ([], []))
        _, b = theirs.get(table, ([], []))
        if a != b:
            bad += 1
            at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                      min(len(a), len(b)))
            print(f"{table}: {len(a)} rows by the fast path, {len(b)} by app.sync_orders;"
                  f" first difference at row {at}: {a[at:at + 1]} against {b[at:at + 1]}")
        elif a:
            print(f"{table}: {len(a)} rows, the same ({', '.join(cols)})")
    return bad
