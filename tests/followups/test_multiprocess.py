"""Four worker processes on one database, one of them SIGKILLed mid-batch.

The full-size run is on a real PostgreSQL (10,000 follow-ups); a smaller one
runs on SQLite, whose single writer must give the same guarantee.
"""

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
    _run(pg_url, TOTAL, kill_after=777)


@pytest.mark.slow
def test_four_workers_on_sqlite_send_each_followup_exactly_once(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path}/mp.db", 3_000, kill_after=300)


def _run(url: str, total: int, *, kill_after: int) -> None:
    store = Store(url)
    store.create_all()
    serial = "serial" if store.dialect == "postgresql" else "integer"
    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE channel_log (id {serial} PRIMARY KEY, key text NOT NULL,"
                          " worker text NOT NULL)"))
        now = datetime.now(UTC) - timedelta(minutes=1)
        conn.execute(insert(FollowUpRow), [
            {"plan": "load", "kind": "follow_up", "channel": "counting", "buyer_id": f"b{n}",
             "due_at": now, "status": "scheduled", "attempts": 0,
             "idempotency_key": f"load:{n}", "context": {}, "version": 1,
             "created_at": now, "updated_at": now}
            for n in range(total)
        ])
    store.dispose()
    def start(name: str, pause_at: int) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(WORKER), url, name, str(pause_at)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    # The victim starts alone so it surely reaches its pause inside a batch's
    # transaction; the others start while it holds that batch, then it is killed.
    victim = start("w0", kill_after)
    assert victim.stdout is not None
    for line in victim.stdout:
        if line.strip() == f"sent {kill_after}":
            break
    procs = [victim, *(start(f"w{i}", 0) for i in range(1, 4))]
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=60) == -signal.SIGKILL
    for proc in procs[1:]:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        assert out.rstrip().endswith("done")
    engine = create_engine(url)
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
    assert tuple(deliveries) == (total, total)  # every one delivered, none twice
    assert by_status == {"sent": total}
    assert retaken >= 1  # the killed worker held leased rows; others took them over
    assert 1 <= victim_sent < kill_after  # its open batch was lost, none of its commits
    assert workers >= 2  # the victim and at least one survivor delivered
