"""The followups part of ``aftersales demo``.

Schedules a satisfaction follow-up two days after each delivered sandbox
order (quiet hours 21:00–09:00 on the buyer's clock), dispatches the due ones
to the outbox, lets some buyers answer with scores derived from their order
ids (deterministic, like the sandbox), and prints the plan's metrics.
"""

from __future__ import annotations

import hashlib
from datetime import time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from aftersales.cli_support import table
from aftersales.followups.plans import FollowUpPlan
from aftersales.followups.quiet_hours import QuietHours
from aftersales.store.tables.core import OrderRow

if TYPE_CHECKING:
    from rich.console import Console

    from aftersales.app import AfterSales

__all__ = ["DEMO_PLAN", "run"]

DEMO_PLAN = FollowUpPlan(
    name="demo-satisfaction",
    delay=timedelta(days=2),
    channel="outbox",
    subject="How is order {order.id}?",
    body="Hi {buyer.id}, your order {order.id} arrived two days ago. How satisfied are you?",
    quiet_hours=QuietHours(start=time(21), end=time(9)),
)


def _score(order_id: str) -> int | None:
    """A deterministic answer: about half the buyers reply, with a CSAT of 1 to 5."""
    digest = hashlib.sha256(order_id.encode()).digest()
    return None if digest[0] % 2 else 1 + digest[1] % 5


def run(app: AfterSales, console: Console) -> None:
    """Schedule post-delivery follow-ups, dispatch the due ones, show the metrics."""
    followups = app.followups
    followups.register(DEMO_PLAN)
    with app.store.session() as session:
        delivered = list(session.execute(
            select(OrderRow.marketplace, OrderRow.external_id, OrderRow.buyer_id,
                   OrderRow.delivered_at).where(OrderRow.delivered_at.is_not(None))
            .order_by(OrderRow.delivered_at)))
    for market, order_id, buyer_id, delivered_at in delivered:
        followups.schedule(DEMO_PLAN, buyer_id=buyer_id, order_id=order_id,
                           marketplace=market, at=delivered_at)
    report = followups.dispatch_due(limit=10_000)
    console.print(
        f"Follow-ups: {len(delivered)} scheduled for delivered orders; a dispatch tick at "
        f"{app.now():%H:%M} UTC claimed {report.claimed}, sent {report.sent} to the outbox, "
        f"deferred {report.deferred} (quiet hours on the buyer's clock, or the contact cap)."
    )
    later = followups.dispatch_due(now=app.now() + timedelta(hours=2), limit=10_000)
    console.print(
        f"Two hours later the next tick claimed {later.claimed} and sent {later.sent}; "
        f"{later.deferred} still wait (the buyer's daily contact cap, or quiet hours)."
    )
    for fu in followups.list(status="sent", plan=DEMO_PLAN.name, limit=10_000):
        score = _score(fu.order_id or "")
        if score is not None and fu.id is not None:
            followups.record_outcome(fu.id, csat=score)
    rows = followups.metrics(plan=DEMO_PLAN.name)
    console.print(table(
        "Follow-up metrics", ["plan", "scheduled", "sent", "responded", "response rate",
                              "CSAT", "satisfied (4-5)"],
        [(m.plan, m.scheduled, m.sent, m.responded,
          "" if m.response_rate is None else f"{100 * m.response_rate:.0f}%",
          "" if m.csat is None else f"{m.csat:.2f}",
          "" if m.csat_satisfied is None else f"{100 * m.csat_satisfied:.0f}%") for m in rows],
    ))
