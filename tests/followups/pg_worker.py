"""A follow-up worker process for the multi-process test (run as a script).

Usage: python pg_worker.py DATABASE_URL WORKER_NAME [PAUSE_AT]

It dispatches through a *transactional* recording channel that appends one
row per delivered message to ``channel_log`` (no unique constraint), in the
same commit that marks the follow-up sent, and prints ``sent N`` after every
message so the test can kill it mid-batch. It exits when no follow-up is
left scheduled or claimed. With ``PAUSE_AT`` it stops inside the transaction
of message number ``PAUSE_AT`` (waiting on stdin) so the test's SIGKILL
always lands mid-batch, with rows claimed and a transaction open.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from aftersales.app import AfterSales
from aftersales.followups.plans import FollowUpPlan
from aftersales.models import Message, Receipt
from aftersales.store.tables.followups import FollowUpRow


class CountingChannel:
    """Appends every delivered message to ``channel_log`` inside the caller's transaction."""

    name = "counting"
    transactional = True

    def __init__(self, worker: str, pause_at: int = 0) -> None:
        self.worker = worker
        self.count = 0
        self.pause_at = pause_at

    def send_in(self, session: Session, message: Message) -> Receipt:
        session.execute(text("INSERT INTO channel_log (key, worker) VALUES (:k, :w)"),
                        {"k": message.idempotency_key, "w": self.worker})
        self.count += 1
        print(f"sent {self.count}", flush=True)
        if self.count == self.pause_at:
            sys.stdin.readline()  # hold the transaction open until the test kills us
        return Receipt(channel=self.name, message_id=message.idempotency_key,
                       accepted_at=datetime.now(UTC))

    def send(self, message: Message) -> Receipt:  # pragma: no cover - not used
        raise NotImplementedError


def main(url: str, worker: str, pause_at: int = 0) -> None:
    channel = CountingChannel(worker, pause_at)
    app = AfterSales(url, marketplaces=[], carriers=[], channels=[channel],
                     migrate=False, followup_batch=50, followup_lease=3)
    app.followups.register(FollowUpPlan(name="load", channel="counting", body="Hi {buyer.id}"))
    while True:
        report = app.followups.dispatch_due(limit=500)
        if report.claimed:
            continue
        with app.store.session() as session:
            open_rows: Any = session.scalar(
                select(func.count()).select_from(FollowUpRow)
                .where(FollowUpRow.status.in_(["scheduled", "claimed"])))
        if not open_rows:
            break
        time.sleep(0.2)  # rows leased by a dead worker: wait for the lease to run out
    print("done", flush=True)
    app.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
