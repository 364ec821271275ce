"""What the page-sync benchmarks share: a prepared database, detached hooks, interleaved runs.

``sync_returns.py`` and ``sync_reviews.py`` time a sync of pre-listed pages
against raw ``sqlite3`` writing the same facts. Both start every run from a
copy of one database that already holds the sandbox's orders, and run the
library and the floor in turn, best of N: other work on a shared machine
only ever slows a run down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from aftersales.app import AfterSales

__all__ = ["database_server", "detach_batch_hooks", "detach_hooks", "high_water_mark", "interleave",
           "page_sync_arguments", "prepare", "reset_high_water_mark", "save_cursor", "sqlite_time",
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
