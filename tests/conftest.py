"""Fixtures shared by the whole suite.

* ``pg_url``: a throwaway PostgreSQL cluster started from the machine's
  binaries as the ``postgres`` user (the server refuses to run as root).
  Without the binaries the PostgreSQL tests skip with the reason, unless
  ``AFTERSALES_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes that a failure.
* ``pg_cluster``: a PostgreSQL cluster of the test's own, with a ``ctl`` to
  stop and start its server (outage and restart tests).
* ``db_url``: parametrized over SQLite and PostgreSQL, for tests that must
  hold on both backends.
* ``app``: an :class:`AfterSales` on a fresh SQLite file with the sandbox.
* ``http``: a ``responses`` mock that fails the test on any unregistered or
  unfired request, so no test reaches the network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import responses

PG_BIN_DIRS = [f"/usr/lib/postgresql/{v}/bin" for v in (17, 16, 15)]


def _pg_bin(name: str) -> str | None:
    for d in PG_BIN_DIRS:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The base URL of a throwaway PostgreSQL cluster (database ``postgres``)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("AFTERSALES_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL binaries not found but AFTERSALES_REQUIRE_POSTGRES=1")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    tmp = tempfile.mkdtemp(prefix="aftersales-pg-")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data = f"{tmp}/data"
    port = _free_port()
    subprocess.run(
        _as_postgres([initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    opts = f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_postgres([pg_ctl, "-D", data, "-l", f"{tmp}/log", "-w", "-o", opts, "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", data, "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_cluster() -> Iterator[tuple[str, Callable[[str], None]]]:
    """A PostgreSQL cluster of the test's own: its URL and ``ctl("stop" | "start")``.

    For tests that stop and start the server, which the session's shared one
    must not be.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    tmp = tempfile.mkdtemp(prefix="aftersales-pg-outage-")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data, port = f"{tmp}/data", _free_port()
    subprocess.run(_as_postgres([initdb, "-D", data, "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    opts = f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"

    def ctl(action: str) -> None:
        extra = ["-m", "immediate"] if action == "stop" else ["-o", opts, "-l", f"{tmp}/log"]
        subprocess.run(_as_postgres([pg_ctl, "-D", data, "-w", *extra, action]),
                       check=True, capture_output=True)

    ctl("start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", ctl
    finally:
        subprocess.run(_as_postgres([pg_ctl, "-D", data, "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg_server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path}/aftersales.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/aftersales.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    """Mocked HTTP: every request must be registered, and every registered one fired."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sandbox() -> Any:
    """A small deterministic sandbox shop."""
    from aftersales.sandbox import SandboxMarketplace

    return SandboxMarketplace(seed=0, orders=40)


@pytest.fixture
def app(sqlite_url: str, sandbox: Any) -> Iterator[Any]:
    """An AfterSales on a fresh SQLite file, wired to the sandbox shop and carrier."""
    from aftersales.app import AfterSales
    from aftersales.sandbox import SandboxCarrier

    instance = AfterSales(
        sqlite_url,
        marketplaces=[sandbox],
        carriers=[SandboxCarrier(seed=0)],
        clock=lambda: sandbox.now,
        migrate=False,
    )
    # The schema comes from the tables here; tests/store checks the migrations match them.
    instance.store.create_all()
    yield instance
    instance.close()


AtOnce = Callable[[Sequence[Callable[[], Any]]], tuple[list[Any], list[BaseException]]]


@pytest.fixture
def at_once() -> AtOnce:
    """Run each callable in its own thread, all released together.

    Returns what they returned and what they raised (in completion order),
    so a test of racing workers can assert both.
    """

    def run(calls: Sequence[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
        gate = threading.Barrier(len(calls))
        results: list[Any] = []
        errors: list[BaseException] = []

        def one(call: Callable[[], Any]) -> None:
            gate.wait()
            try:
                results.append(call())
            except BaseException as exc:  # handed to the test
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(c,)) for c in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results, errors

    return run


# ---------------------------------------------------------------- no call inside a write


@pytest.fixture
def no_call_inside_a_write() -> Any:
    """Fail any marketplace call made while this thread holds an open write transaction.

    Every outgoing call (``ApiClient`` and the sandbox's simulated calls) runs
    the send hooks; this one checks :func:`aftersales.store.guard.write_open`.
    The hook raises so the call never happens, and the test fails at teardown
    even if the code under test swallowed the error.
    """
    from aftersales.http import add_send_hook
    from aftersales.store.guard import write_open

    seen: list[str] = []

    def check(adapter: str, method: str, target: str) -> None:
        if write_open():
            seen.append(f"{adapter} {method} {target}")
            raise AssertionError(f"{adapter} {method} {target} called inside a write transaction")

    remove = add_send_hook(check)
    yield seen
    remove()
    assert seen == [], f"calls made inside a write transaction: {seen}"
