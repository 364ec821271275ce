"""write_open(): true exactly while this thread holds a transaction that wrote or locked."""

from __future__ import annotations

import threading

from sqlalchemy import select, text

from aftersales.store import Store
from aftersales.store.guard import write_open
from aftersales.store.tables.core import OrderRow


def test_write_open_follows_writes_and_locks(db_url: str) -> None:
    store = Store(db_url)
    store.create_all()
    try:
        with store.session() as session:
            session.execute(select(OrderRow.id)).all()
            assert not write_open()  # reads alone hold nothing
            session.execute(select(OrderRow.id).with_for_update()).all()
            assert write_open() == (store.dialect == "postgresql")  # SQLite drops FOR UPDATE
            session.execute(text("UPDATE outbox SET id = id WHERE 1 = 0"))
            assert write_open()
            seen: list[bool] = []
            other = threading.Thread(target=lambda: seen.append(write_open()))
            other.start()
            other.join()
            assert seen == [False]  # another thread's calls are not this transaction's
        assert not write_open()  # committed
        try:
            with store.session() as session:
                session.execute(text("UPDATE outbox SET id = id WHERE 1 = 0"))
                raise RuntimeError
        except RuntimeError:
            pass
        assert not write_open()  # rolled back
    finally:
        store.dispose()
