"""Four worker processes on a real PostgreSQL, one of them SIGKILLed mid-batch."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from aftersales.store import Store
from aftersales.store.tables.followups import FollowUpRow

TOTAL = 10_000
WORKER = Path(__file__).with_name("pg_worker.py")


@pytest.mark.postgres
@pytest.mark.slow
def test_four_workers_send_each_followup_exactly_once_despite_sigkill(pg_url: str) -> None:
    store = Store(pg_url)
    store.create_all()
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE channel_log (id serial PRIMARY KEY, key text NOT NULL,"
                          " worker text NOT NULL)"))
        now = datetime.now(UTC) - timedelta(minutes=1)
        conn.execute(insert(FollowUpRow), [
            {"plan": "load", "kind": "follow_up", "channel": "counting", "buyer_id": f"b{n}",
             "due_at": now, "status": "scheduled", "attempts": 0,
             "idempotency_key": f"load:{n}", "context": {}, "version": 1,
             "created_at": now, "updated_at": now}
            for n in range(TOTAL)
        ])
    store.dispose()
    procs = [subprocess.Popen([sys.executable, str(WORKER), pg_url, f"w{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    victim = procs[0]
    assert victim.stdout is not None
    for line in victim.stdout:  # let it send some, then kill it in the middle of a batch
        if line.strip() == "sent 777":
            victim.send_signal(signal.SIGKILL)
            break
    assert victim.wait(timeout=60) == -signal.SIGKILL
    for proc in procs[1:]:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        assert out.rstrip().endswith("done")
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        deliveries = conn.execute(text("SELECT count(*), count(DISTINCT key) FROM channel_log"
                                       )).one()
        by_status = dict(conn.execute(select(FollowUpRow.status, func.count())
                                      .group_by(FollowUpRow.status)).all())
        retaken = int(conn.scalar(select(func.count()).select_from(FollowUpRow)
                                  .where(FollowUpRow.attempts > 1)) or 0)
        victim_sent = int(conn.scalar(text("SELECT count(*) FROM channel_log WHERE worker='w0'"))
                          or 0)
        workers = conn.scalar(text("SELECT count(DISTINCT worker) FROM channel_log"))
    engine.dispose()
    assert tuple(deliveries) == (TOTAL, TOTAL)  # every one delivered, none twice
    assert by_status == {"sent": TOTAL}
    assert retaken >= 1  # the killed worker held leased rows; others took them over
    assert 1 <= victim_sent <= 777  # what it committed before dying stayed delivered
    assert workers == 4
