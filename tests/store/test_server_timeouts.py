"""A PostgreSQL server that never answers fails the caller in seconds, not never.

libpq waits for ever by default: a server that accepts the TCP connection
and then says nothing (a hung proxy, a paused VM behind a live balancer)
held a worker's tick, or ``aftersales`` at start, for as long as it stayed
silent. The store sets libpq's timeouts unless the URL gives them.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from sqlalchemy import text

from aftersales.errors import StorageError
from aftersales.store import Store
from aftersales.store.database import SERVER_TIMEOUTS, server_timeouts


def test_a_server_that_accepts_and_never_answers_is_a_one_line_failure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SERVER_TIMEOUTS, "connect_timeout", 2)  # the default, made short
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
    port = silent.getsockname()[1]
    store = Store(f"postgresql+psycopg://app:pw@127.0.0.1:{port}/shop")
    outcome: list[Any] = []

    def use() -> None:
        try:
            with store.session() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # the outcome is what the test looks at
            outcome.append(exc)

    worker = threading.Thread(target=use, daemon=True)
    worker.start()
    worker.join(timeout=30)  # a bound on a hang, not a speed check
    try:
        assert not worker.is_alive(), "the caller was held by a silent server"
        assert len(outcome) == 1
        assert isinstance(outcome[0], StorageError)
        assert "\n" not in str(outcome[0])
        assert "pw" not in str(outcome[0]).split("@")[0].split(":")[-1]
    finally:
        silent.close()
        store.dispose()


def test_the_urls_own_settings_win_and_the_rest_are_set() -> None:
    url = "postgresql+psycopg://app@db/shop?connect_timeout=3&keepalives_idle=5"
    args = server_timeouts(url, {"tcp_user_timeout": 1000})
    assert "connect_timeout" not in args  # the URL's 3 is libpq's
    assert "keepalives_idle" not in args
    assert args["tcp_user_timeout"] == 1000  # connect_args given win
    assert args["keepalives_count"] == SERVER_TIMEOUTS["keepalives_count"]


def test_sqlite_is_given_no_libpq_settings() -> None:
    """sqlite3.connect() refuses keywords it does not know: the first use would fail."""
    store = Store("sqlite://")
    try:
        with store.session() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        store.dispose()
