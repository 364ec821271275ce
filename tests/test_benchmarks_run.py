"""The page-sync and bulk benchmarks still run against today's schema.

The README's figures come from these scripts, and their floors write the
store's tables with raw SQL: a column added to the schema breaks a floor
without any library test noticing (``orders.platform_refunds`` once did).
Each script runs here at a size too small to mean anything as a figure, on
SQLite and, where it has one, against the suite's PostgreSQL server; what is
checked is only that it finishes and prints its ratio. No timing is asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

RATIO = re.compile(r"\d\.\d+x")  # a figure printed as a ratio, e.g. "3.17x"
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

SQLITE_RUNS = {
    "sync": ["--orders", "300", "--repeat", "1", "--no-memory", "--no-before"],
    "sync_returns": ["--returns", "200", "--repeat", "1", "--no-memory", "--no-before"],
    "sync_returns_factory": ["--returns", "200", "--repeat", "1", "--no-memory", "--no-before",
                             "--source", "factory"],
    "sync_reviews": ["--reviews", "200", "--repeat", "1", "--no-memory", "--no-before"],
    "sync_reviews_factory": ["--reviews", "200", "--repeat", "1", "--no-memory", "--no-before",
                             "--source", "factory"],
    "bulk_returns": ["--rows", "300", "--batch", "100", "--repeat", "1", "--naive-rows", "20",
                     "--no-memory"],
}
POSTGRES_RUNS = {
    "pool_pre_ping": ["--checkouts", "50", "--repeat", "1"],
    "sync": ["--orders", "300", "--repeat", "1", "--no-memory", "--no-before"],
    "sync_returns": ["--returns", "200", "--repeat", "1", "--no-memory", "--no-before"],
    "sync_returns_factory": ["--returns", "200", "--repeat", "1", "--no-memory", "--no-before",
                             "--source", "factory"],
    "sync_reviews": ["--reviews", "200", "--repeat", "1", "--no-memory", "--no-before"],
    "sync_reviews_factory": ["--reviews", "200", "--repeat", "1", "--no-memory", "--no-before",
                             "--source", "factory"],
}


def _run(script: str, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent)}
    done = subprocess.run([sys.executable, str(BENCHMARKS / f"{script}.py"), *args],
                          capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, f"{script} {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("name", sorted(SQLITE_RUNS))
def test_a_benchmark_runs_on_sqlite(name: str) -> None:
    out = _run(name.removesuffix("_factory"), SQLITE_RUNS[name])
    assert RATIO.search(out), out


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(POSTGRES_RUNS))
def test_a_benchmark_runs_on_postgresql(name: str, pg_server: str) -> None:
    dsn = pg_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    out = _run(name.removesuffix("_factory"),
               [*POSTGRES_RUNS[name], "--db", "postgresql", "--dsn", dsn])
    assert RATIO.search(out), out


def test_the_fast_preparation_stores_what_the_library_stores_on_sqlite() -> None:
    """The factory's orders, stored without the library before timing, are the rows
    ``app.sync_orders`` stores (``--check-prepare`` exits non-zero on any difference)."""
    out = _run("sync_returns", ["--check-prepare", "300", "--page", "100"])
    assert "the fast preparation stores the same facts" in out, out


@pytest.mark.postgres
def test_the_fast_preparation_stores_what_the_library_stores_on_postgresql(
        pg_server: str) -> None:
    """On PostgreSQL the orders go by ``COPY``: the same rows, and the id sequences where
    the library's inserts leave them."""
    dsn = pg_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    out = _run("sync_reviews", ["--check-prepare", "300", "--page", "100", "--db", "postgresql",
                                "--dsn", dsn])
    assert "the fast preparation stores the same facts" in out, out
