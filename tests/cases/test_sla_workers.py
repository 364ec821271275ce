"""Four SLA workers on PostgreSQL, one SIGKILLed mid-batch: each breach event exactly once.

The issue asks for 10,000 cases; the default here is 2,000 so the suite stays
quick on a small machine. ``CASES_SLA_WORKERS_TOTAL=10000`` runs the full size (not
an ``AFTERSALES_*`` name: the settings would read that as a key of ``[cases]``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from aftersales.store import Store
from aftersales.store.tables.cases import CaseRow, CaseSlaRow
from aftersales.store.tables.core import AuditRow, OutboxRow

TOTAL = int(os.environ.get("CASES_SLA_WORKERS_TOTAL", "2000"))
WORKER = Path(__file__).with_name("sla_worker.py")


@pytest.mark.postgres
@pytest.mark.slow
def test_four_workers_emit_each_breach_exactly_once_despite_sigkill(pg_url: str) -> None:
    _run(pg_url, TOTAL, kill_after=150)


@pytest.mark.slow
def test_four_workers_on_sqlite_emit_each_breach_exactly_once(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path}/mp.db", 300, kill_after=30)


def _run(url: str, total: int, *, kill_after: int) -> None:
    store = Store(url)
    store.create_all()
    serial = "serial" if store.dialect == "postgresql" else "integer"
    past = datetime.now(UTC) - timedelta(hours=1)
    with store.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE breach_log (id {serial} PRIMARY KEY, key text NOT NULL,"
                          " worker text NOT NULL)"))
        conn.execute(insert(CaseRow), [
            {"id": n + 1, "store": "shop", "kind": "complaint", "channel": "phone",
             "buyer_id": f"b{n}", "order_id": f"o{n}", "priority": "normal",
             "status": "investigating", "open_key": f"shop|b{n}|o{n}|complaint",
             "subject": "", "escalation": 0, "reopened": 0, "opened_at": past,
             "created_at": past, "updated_at": past, "version": 1}
            for n in range(total)])
        conn.execute(insert(CaseSlaRow), [
            {"case_id": n + 1, "metric": "resolution", "clock": "calendar", "round": 1,
             "target_seconds": 60.0, "warn_seconds": 30.0, "elapsed_seconds": 0.0,
             "running_since": past, "status": "running", "warn_at": past, "due_at": past,
             "warned_at": past, "next_at": past}
            for n in range(total)])
    store.dispose()

    def start(name: str, pause_at: int) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, str(WORKER), url, name, str(pause_at)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    victim = start("w0", kill_after)
    assert victim.stdout is not None
    for line in victim.stdout:
        if line.strip() == f"breached {kill_after}":
            break
    procs = [victim, *(start(f"w{i}", 0) for i in range(1, 4))]
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=60) == -signal.SIGKILL, (victim.stderr.read()[-2000:]
                                                         if victim.stderr else "")
    for proc in procs[1:]:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        assert out.rstrip().endswith("done")
    engine = create_engine(url)
    with engine.connect() as conn:
        logged = conn.execute(text("SELECT count(*), count(DISTINCT key) FROM breach_log")).one()
        events = conn.scalar(select(func.count()).select_from(OutboxRow)
                             .where(OutboxRow.event_type == "case.sla_breached"))
        audits = conn.scalar(select(func.count()).select_from(AuditRow)
                             .where(AuditRow.reason == "SLA breached"))
        escalated = conn.scalar(select(func.count()).select_from(CaseRow)
                                .where(CaseRow.escalation == 1))
        left = conn.scalar(select(func.count()).select_from(CaseSlaRow)
                           .where(CaseSlaRow.next_at.is_not(None)))
        victim_logged = conn.scalar(text("SELECT count(*) FROM breach_log WHERE worker='w0'"))
    engine.dispose()
    assert tuple(logged) == (total, total)  # every breach handled, none twice
    assert events == audits == escalated == total
    assert left == 0
    # the victim's open batch was rolled back and handled again by the survivors
    assert victim_logged is not None
    assert victim_logged < kill_after
