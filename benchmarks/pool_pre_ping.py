"""What testing each pooled PostgreSQL connection at checkout costs (``pool_pre_ping``).

The store pings a connection as the pool hands it out, so a server restart
costs no failed operation (tests/store/test_server_restart.py). The ping is
one round trip per checkout; this times the smallest unit of store work (a
session running one one-row read, so one checkout) with the ping and
without it, in the same process, interleaved, and prints the median of each
and their ratio, in wall time and in this process's CPU time.

    python benchmarks/pool_pre_ping.py                 # starts its own throwaway PostgreSQL
    python benchmarks/pool_pre_ping.py --dsn postgresql://user@host:5432/postgres

SQLite is not timed: its file connections never go stale, and the store
pings only on a server database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from sqlalchemy import text

from aftersales.store import Store


def timed(store: Store, checkouts: int) -> tuple[float, float]:
    """(wall, CPU) seconds per checkout for ``checkouts`` sessions of one read each."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(checkouts):
        with store.session() as session:
            session.execute(text("SELECT 1")).scalar()
    return ((time.perf_counter() - wall) / checkouts, (time.process_time() - cpu) / checkouts)


def compare(url: str, checkouts: int, repeat: int) -> None:
    """Time both engines in turn, ``repeat`` rounds, and print medians and ratios."""
    pinged, plain = Store(url), Store(url, pool_pre_ping=False)
    if not getattr(pinged.engine.pool, "_pre_ping", False) \
            or getattr(plain.engine.pool, "_pre_ping", True):
        raise SystemExit("the store's engine does not ping at checkout: nothing to compare")
    runs: dict[str, list[tuple[float, float]]] = {"pre-ping": [], "no pre-ping": []}
    try:
        timed(pinged, 20)  # warm both pools and the server's caches
        timed(plain, 20)
        for _ in range(repeat):
            runs["pre-ping"].append(timed(pinged, checkouts))
            runs["no pre-ping"].append(timed(plain, checkouts))
    finally:
        pinged.dispose()
        plain.dispose()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"one session with one read (one pool checkout) on PostgreSQL, {checkouts:,} a run, "
          f"median of {repeat} interleaved runs; load average {load}")
    med: dict[str, tuple[float, float]] = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in runs.items()}
    for name, (wall, cpu) in med.items():
        print(f"  {name:<12} {wall * 1e6:8.1f} us wall  {cpu * 1e6:8.1f} us CPU per checkout")
    (pw, pc), (nw, nc) = med["pre-ping"], med["no pre-ping"]
    print(f"  pre-ping costs {(pw - nw) * 1e6:.1f} us wall a checkout: "
          f"{pw / nw:.2f}x wall, {pc / nc:.2f}x CPU")


def _server(dsn: str | None) -> tuple[str, Callable[[], None]]:
    if dsn:
        return dsn.replace("postgresql://", "postgresql+psycopg://", 1), lambda: None
    from followups import _start_postgres

    started = _start_postgres()
    if started is None:
        raise SystemExit("no PostgreSQL binaries (initdb, pg_ctl) here: pass --dsn")
    server, stop = started
    return f"{server}/postgres", stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", type=int, default=2000, help="sessions a run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", choices=["postgresql"], default="postgresql")
    parser.add_argument("--dsn", help="a PostgreSQL server to use instead of starting one")
    args = parser.parse_args()
    url, stop = _server(args.dsn)
    try:
        compare(url, args.checkouts, args.repeat)
    finally:
        stop()


if __name__ == "__main__":
    main()
