"""One engine outlives a PostgreSQL restart: no operation fails on a stale pooled connection.

A restarted server has closed every connection the pool holds. Without a
check at checkout, the first use of each one fails (a worker tick, a CLI
call) before the pool notices; the store tests each connection as it is
taken (``pool_pre_ping``) and replaces a dead one, so the operation after
the restart succeeds. The cluster is the test's own (``pg_cluster``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from aftersales.app import AfterSales
from aftersales.scheduler import failures, run_once
from aftersales.store import Store

pytestmark = pytest.mark.postgres


def _hold(store: Store, connections: int) -> None:
    """Check ``connections`` connections out at once, so the pool keeps that many."""
    ready = threading.Barrier(connections)

    def use() -> None:
        with store.session() as session:
            session.execute(text("SELECT 1"))
            ready.wait(timeout=30)

    threads = [threading.Thread(target=use) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_every_operation_after_a_server_restart_succeeds(
        pg_cluster: tuple[str, Callable[[str], None]]) -> None:
    url, ctl = pg_cluster
    store = Store(url)
    try:
        _hold(store, 3)
        assert store.engine.pool.checkedin() == 3  # type: ignore[attr-defined]
        ctl("stop")
        ctl("start")
        # each pooled connection is dead now; each operation takes one in turn
        for _ in range(4):
            with store.session() as session:
                assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        store.dispose()


def test_a_worker_tick_after_a_server_restart_does_not_fail(
        pg_cluster: tuple[str, Callable[[str], None]]) -> None:
    url, ctl = pg_cluster
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox"])
    try:
        assert failures(run_once(app, ["cases", "refunds"])) == {}
        ctl("stop")
        ctl("start")
        assert failures(run_once(app, ["cases", "refunds"])) == {}
    finally:
        app.close()
