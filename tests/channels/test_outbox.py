"""The outbox channel: a row per message, idempotent on the message's key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from aftersales.channels.outbox import OutboxChannel
from aftersales.errors import ConfigurationError
from aftersales.models import Message
from aftersales.store import Store
from aftersales.store.tables.core import OutboxRow


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path}/o.db")
    store.create_all()
    return store


def test_writes_one_row_per_key(tmp_path: Path) -> None:
    store = _store(tmp_path)
    channel = OutboxChannel(store)
    message = Message(to="b1", subject="s", body="How was it?", idempotency_key="fu-1",
                      buyer_id="b1", order_id="A-1", metadata={"plan": "p"})
    first = channel.send(message)
    second = channel.send(message.model_copy(update={"body": "changed"}))
    assert first.message_id == second.message_id
    with store.session() as s:
        rows = list(s.scalars(select(OutboxRow)))
    assert len(rows) == 1
    assert rows[0].key == "message:fu-1"
    assert rows[0].topic == "message"
    assert rows[0].payload["body"] == "How was it?"
    assert rows[0].delivered_at is None


def test_send_in_joins_the_callers_transaction(tmp_path: Path) -> None:
    store = _store(tmp_path)
    channel = OutboxChannel(store)
    with pytest.raises(RuntimeError), store.session() as s:
        channel.send_in(s, Message(to="b1", body="x", idempotency_key="k"))
        raise RuntimeError("the caller's work failed")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 0


def test_needs_a_store() -> None:
    with pytest.raises(ConfigurationError, match="store"):
        OutboxChannel().send(Message(to="b1", body="x", idempotency_key="k"))


def test_database_failure_is_transient(tmp_path: Path) -> None:
    from aftersales.errors import TransientError

    store = Store(f"sqlite:///{tmp_path}/empty.db")  # no tables: every write fails
    with pytest.raises(TransientError, match="outbox write failed") as info:
        OutboxChannel(store).send(Message(to="b1", body="x", idempotency_key="k"))
    assert info.value.retryable
