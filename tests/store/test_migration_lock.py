"""Building AfterSales in several processes at once on an empty database: all come up.

Each process imports everything first and then waits for one signal, so the
four migrations start within milliseconds of each other.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aftersales.errors import ConfigurationError
from aftersales.store import Store

#: The newest revision: every revision file is named after its id.
HEAD = max(p.name.split("_")[0] for p in (
    Path(__file__).resolve().parents[2] / "aftersales/store/migrations/versions").glob("0*.py"))

STARTER = """
import sys, time
from pathlib import Path
from aftersales.app import AfterSales
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
app = AfterSales(sys.argv[1], marketplaces=[], carriers=[], channels=["outbox"])
print(len(app.store.table_names()))
app.close()
"""


def _start_together(url: str, tmp_path: Path, count: int = 4) -> list[subprocess.CompletedProcess[str]]:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, url, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    time.sleep(3)  # every process is importing or already waiting on the signal
    go.touch()
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def _head(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_four_processes_start_at_once_on_an_empty_postgresql(pg_url: str, tmp_path: Path) -> None:
    results = _start_together(pg_url, tmp_path)
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr[-800:] for r in results]
    assert len({r.stdout for r in results}) == 1
    assert _head(pg_url) == HEAD


@pytest.mark.slow
def test_four_processes_start_at_once_on_an_empty_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/start.db"
    results = _start_together(url, tmp_path)
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr[-800:] for r in results]
    assert _head(url) == HEAD


def test_an_unknown_revision_is_a_configuration_error(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    with pytest.raises(ConfigurationError, match="unknown revision 'nope'"):
        store.upgrade("nope")
    assert "alembic_version" not in store.table_names() or _head(sqlite_url) == HEAD


def test_the_migration_lock_is_released_after_an_upgrade(db_url: str) -> None:
    first = Store(db_url)
    first.upgrade()
    second = Store(db_url)
    second.upgrade()  # would wait for ever if the first still held the lock
    assert _head(db_url) == HEAD
    first.dispose()
    second.dispose()


def test_a_current_schema_starts_while_another_process_holds_the_write_lock(
        tmp_path: Path) -> None:
    # Rule: a command that only reads works while another process writes.
    # Before: every start took SQLite's write lock for the migration check
    # even with the schema current, so `returns list` (any command) waited
    # the 30 s busy timeout behind another process's write transaction and
    # failed as "migration failed: database is locked".
    import sqlite3

    from click.testing import CliRunner

    from aftersales.cli import main

    path = tmp_path / "a.db"
    url = f"sqlite:///{path}"
    Store(url).upgrade()
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process's write transaction
        started = time.monotonic()
        result = CliRunner().invoke(main, ["--database-url", url, "--json", "returns",
                                           "list"], env={"AFTERSALES_MARKETPLACES": ""})
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "[]"
        assert time.monotonic() - started < 25  # not the busy timeout
    finally:
        writer.rollback()
        writer.close()
