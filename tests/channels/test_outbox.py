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


def test_a_follow_up_key_of_any_allowed_length_is_written_once(db_url: str) -> None:
    # A follow-up key may be 200 characters; the outbox row's key is
    # "message:" + it, which PostgreSQL refused past 200 (StorageError every
    # tick, and the follow-up, first in the queue, blocked those behind it).
    # Such a key is stored by its digest; the payload keeps the key itself.
    from datetime import UTC, datetime

    from aftersales.app import AfterSales
    from aftersales.followups.plans import FollowUpPlan
    from aftersales.models import FollowUpStatus

    now = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
    app = AfterSales(db_url, marketplaces=[], carriers=[], channels=["outbox"],
                     migrate=False, clock=lambda: now, timezone="UTC")
    try:
        app.store.create_all()
        app.followups.register(FollowUpPlan(name="p", channel="outbox", body="Hi"))
        keys = ["k" * 200, "k" * 199 + "j", "k" * 192, "short"]
        ids = [app.followups.schedule("p", buyer_id=f"b{i}", key=key, due_at=now).id
               for i, key in enumerate(keys)]
        report = app.followups.dispatch_due()
        assert (report.sent, report.failed) == (4, 0)
        assert {app.followups.get(i).status for i in ids} == {FollowUpStatus.SENT}
        channel = OutboxChannel(app.store)
        again = channel.send(Message(to="b0", subject="", body="Hi", idempotency_key=keys[0],
                                     buyer_id="b0"))
        with app.store.session() as s:
            rows = {r.payload["idempotency_key"]: r for r in s.scalars(select(OutboxRow))}
        assert sorted(rows) == sorted(keys)
        assert again.message_id == f"outbox:{rows[keys[0]].id}"  # the same row, once
        assert rows["k" * 192].key == "message:" + "k" * 192  # as before, up to 200
        assert rows[keys[0]].key != rows[keys[1]].key
        assert all(len(r.key) <= 200 for r in rows.values())
    finally:
        app.close()
