"""Migration 0005 seeds channel_health from the kept queues, trusting only the library's own texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import column, inspect, table, text

from aftersales.store import Store
from aftersales.store.types import JSONType, UTCDateTime

NOW = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)


def _kept(channel: str, count: int | str) -> str:
    return (f"channel {channel} unavailable ({count} in a row), follow-ups kept until "
            "2024-06-03 02:30 UTC: AuthenticationError: SMTP 535")


def test_the_backfill_keeps_the_counts_the_library_wrote(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade("0004")
    follow_ups = table("follow_ups", *(column(n) for n in (
        "plan", "kind", "channel", "buyer_id", "marketplace", "status", "attempts",
        "idempotency_key", "last_error", "version")),
        column("context", JSONType()), column("due_at", UTCDateTime()),
        column("created_at", UTCDateTime()), column("updated_at", UTCDateTime()))
    rows = [
        ("smtp", None, "scheduled", _kept("smtp", 2), 30),
        ("smtp", None, "scheduled", _kept("smtp", 3), 20),  # the largest count, the latest time
        ("smtp", None, "scheduled", _kept("smtp", 3), 40),
        ("smtp", None, "failed", _kept("smtp", 9), 50),  # not a kept queue any more
        # a marketplace's channel is named after its adapter
        ("marketplace", "tb", "scheduled", _kept("marketplace:taobao", 999999), 10),
        # texts the library did not write, or about another channel
        ("webhook", None, "scheduled", _kept("smtp", 7), 10),
        ("webhook", None, "scheduled", "Channel webhook unavailable (5 in a row)", 10),
        ("webhook", None, "scheduled", "channel webhook unavailable (0 in a row), follow-ups "
                                       "kept until x", 10),
        ("outbox", None, "scheduled", "channel outbox unavailable (1234567 in a row), "
                                      "follow-ups kept until x", 10),
        ("outbox", None, "scheduled", None, 10),
    ]
    with store.engine.begin() as conn:
        conn.execute(follow_ups.insert(), [
            {"plan": "ask", "kind": "follow_up", "channel": ch, "buyer_id": f"b{i}",
             "marketplace": market, "status": status, "attempts": 0,
             "idempotency_key": f"k{i}", "last_error": error, "version": 1, "context": {},
             "due_at": NOW + timedelta(minutes=minutes), "created_at": NOW, "updated_at": NOW}
            for i, (ch, market, status, error, minutes) in enumerate(rows)])
    store.upgrade()
    with store.engine.connect() as conn:
        found = conn.execute(text(
            "SELECT channel, failures FROM channel_health ORDER BY channel")).all()
        kept = conn.execute(text("SELECT last_error FROM follow_ups ORDER BY id")).all()
    assert [tuple(r) for r in found] == [("marketplace:taobao", 20), ("smtp", 3)]
    assert [r[0] for r in kept] == [r[3] for r in rows]  # the follow-ups are untouched
    store.dispose()

    back = Store(db_url)
    with back.engine.connect() as conn:
        retry = conn.execute(table("channel_health", column("channel"),
                                   column("retry_at", UTCDateTime())).select()).all()
    assert {r[0]: r[1] for r in retry}["smtp"] == NOW + timedelta(minutes=40)
    command.downgrade(back.alembic_config(), "0004")
    assert "channel_health" not in inspect(back.engine).get_table_names()
    back.upgrade()
    back.dispose()
