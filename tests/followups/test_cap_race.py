"""The frequency cap under a race: worker processes claiming at the same instant.

Every buyer has three follow-ups due at once, from three plans over two
channels (the transactional outbox, judged a batch at a time, and a
channel that sends outside the transaction). The default policy allows one
message a day. Three worker processes start on the same instant; however
the rows fall into their batches, each buyer gets exactly one message and
the other two are deferred, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from aftersales.store import Store
from aftersales.store.tables.core import OutboxRow
from aftersales.store.tables.followups import ContactLogRow, FollowUpRow

WORKER = Path(__file__).with_name("cap_worker.py")
BUYERS = 40
NOW = datetime(2024, 6, 3, 4, 0, tzinfo=UTC)


@pytest.mark.slow
def test_three_workers_at_once_keep_one_message_a_day_per_buyer(db_url: str) -> None:
    store = Store(db_url)
    store.create_all()
    serial = "serial" if store.dialect == "postgresql" else "integer"
    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE channel_log (id {serial} PRIMARY KEY, "
                          "buyer text NOT NULL, key text NOT NULL, worker text NOT NULL)"))
        # One buyer's three rows next to each other, and batches of one row:
        # the three workers claim the same buyer's three follow-ups at once.
        conn.execute(insert(FollowUpRow), [
            {"plan": plan, "kind": "follow_up", "channel": "outbox" if plan != "c" else "logging",
             "buyer_id": f"b{n}", "due_at": NOW, "status": "scheduled", "attempts": 0,
             "idempotency_key": f"{plan}:{n}", "context": {}, "version": 1,
             "created_at": NOW, "updated_at": NOW}
            for n in range(BUYERS) for plan in ("a", "b", "c")
        ])
    go_at = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, str(WORKER), db_url, f"w{i}", str(go_at)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        assert out.rstrip().endswith("done"), out
    with store.engine.connect() as conn:
        outbox = dict(conn.execute(
            select(OutboxRow.aggregate_id, func.count()).where(OutboxRow.topic == "message")
            .group_by(OutboxRow.aggregate_id)).all())
        logged = dict(conn.execute(text("SELECT buyer, count(*) FROM channel_log GROUP BY buyer"))
                      .all())
        contacts = dict(conn.execute(select(ContactLogRow.buyer_id, func.count())
                                     .group_by(ContactLogRow.buyer_id)).all())
        by_status = dict(conn.execute(select(FollowUpRow.status, func.count())
                                      .group_by(FollowUpRow.status)).all())
    store.dispose()
    per_buyer = {f"b{n}": outbox.get(f"b{n}", 0) + logged.get(f"b{n}", 0)
                 for n in range(BUYERS)}
    assert per_buyer == {f"b{n}": 1 for n in range(BUYERS)}
    assert contacts == {f"b{n}": 1 for n in range(BUYERS)}
    assert by_status == {"sent": BUYERS, "scheduled": 2 * BUYERS}
