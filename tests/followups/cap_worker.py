"""A follow-up worker for the frequency-cap race test (run as a script).

Usage: python cap_worker.py DATABASE_URL WORKER_NAME GO_AT

It waits until the Unix time ``GO_AT`` so every worker claims at the same
instant, then runs one ``dispatch_due`` round at a fixed clock. Plans
``a`` and ``b`` go through the outbox (transactional, judged a batch at a
time); plan ``c`` through a channel that sends outside any transaction and
appends one ``channel_log`` row per delivered message on its own connection.
It prints the dispatch report's counts, then ``done``.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from aftersales.app import AfterSales
from aftersales.followups.plans import FollowUpPlan
from aftersales.models import Message, Receipt

NOW = datetime(2024, 6, 3, 4, 0, tzinfo=UTC)


class LoggingChannel:
    """Delivers by appending a row to ``channel_log`` in a transaction of its own."""

    name = "logging"

    def __init__(self, url: str, worker: str) -> None:
        self.engine = create_engine(url)
        self.worker = worker

    def send(self, message: Message) -> Receipt:
        with self.engine.begin() as conn:
            conn.execute(text("INSERT INTO channel_log (buyer, key, worker) VALUES (:b, :k, :w)"),
                         {"b": message.buyer_id, "k": message.idempotency_key, "w": self.worker})
        return Receipt(channel=self.name, message_id=message.idempotency_key,
                       accepted_at=datetime.now(UTC))


def main(url: str, worker: str, go_at: float) -> None:
    channel = LoggingChannel(url, worker)
    app = AfterSales(url, marketplaces=[], carriers=[], channels=["outbox", channel],
                     migrate=False, followup_batch=1, clock=lambda: NOW)
    app.followups.register(FollowUpPlan(name="a", channel="outbox", body="A {buyer.id}"),
                           FollowUpPlan(name="b", channel="outbox", body="B {buyer.id}"),
                           FollowUpPlan(name="c", channel="logging", body="C {buyer.id}"))
    time.sleep(max(0.0, go_at - time.time()))
    report = app.followups.dispatch_due()
    print(f"claimed={report.claimed} sent={report.sent} deferred={report.deferred}", flush=True)
    print("done", flush=True)
    app.close()
    channel.engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
