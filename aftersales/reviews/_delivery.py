"""Delivering stored review alerts through the configured channels.

Alerts are written with the review in the sync's transaction; delivery runs
after, so a channel that is down never blocks a sync. Each alert remembers
which channels already have it: a retry only visits the others, and each
message carries the same idempotency key on every attempt, so a channel that
can tell (the outbox, a webhook receiver) drops a repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aftersales.errors import AfterSalesError
from aftersales.models import Message
from aftersales.redact import redact_text
from aftersales.reviews.classify import Severity
from aftersales.store.tables.reviews import ReviewAlertRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aftersales.app import AfterSales

__all__ = ["alert_message", "deliver_alerts"]

_BATCH = 200


def alert_message(alert: ReviewAlertRow, to: str) -> Message:
    """The message announcing ``alert`` to the shop's staff at ``to``."""
    severity = Severity(alert.severity).name
    return Message(
        to=to,
        subject=f"[{severity}] review alert: {alert.rule}",
        body=alert.message,
        idempotency_key=f"review-alert:{alert.rule}:{alert.subject}",
        metadata={
            "kind": "review_alert",
            "alert_id": alert.id,
            "rule": alert.rule,
            "severity": alert.severity,
            "marketplace": alert.marketplace,
            "review_id": alert.review_id,
            "sku": alert.sku,
            "data": alert.data or {},
        },
    )


def _address(to: str | Mapping[str, str], channel: str) -> str:
    if isinstance(to, str):
        return to
    return to.get(channel) or to.get("*") or "shop"


def _mark(session: Session, alert_id: int, channel: str, wanted: Sequence[str], now: Any) -> None:
    row = session.get(ReviewAlertRow, alert_id)
    if row is None:
        return
    done = [*row.delivered_to, channel] if channel not in row.delivered_to else row.delivered_to
    row.delivered_to = done
    if set(wanted) <= set(done):
        row.delivered_at = now


def deliver_alerts(
    app: AfterSales, *, channels: Sequence[str], to: str | Mapping[str, str]
) -> int:
    """Send every undelivered alert to every channel in ``channels``.

    Returns:
        How many alerts became fully delivered. A channel failure is recorded
        on the alert (``attempts``, ``last_error``) and retried next time.
    """
    delivered = 0
    last_id = 0
    while True:
        with app.store.session() as session:
            batch = list(
                session.scalars(
                    select(ReviewAlertRow)
                    .where(ReviewAlertRow.delivered_at.is_(None), ReviewAlertRow.id > last_id)
                    .order_by(ReviewAlertRow.id)
                    .limit(_BATCH)
                )
            )
        if not batch:
            return delivered
        for alert in batch:
            last_id = alert.id
            delivered += _deliver_one(app, alert, channels, to)


def _deliver_one(
    app: AfterSales, alert: ReviewAlertRow, channels: Sequence[str], to: str | Mapping[str, str]
) -> int:
    for name in channels:
        if name in alert.delivered_to:
            continue
        message = alert_message(alert, _address(to, name))
        try:
            channel: Any = app.channel(name)
            if getattr(channel, "transactional", False) and hasattr(channel, "send_in"):
                with app.store.session() as session:
                    channel.send_in(session, message)
                    _mark(session, alert.id, name, channels, app.now())
            else:
                channel.send(message)
                with app.store.session() as session:
                    _mark(session, alert.id, name, channels, app.now())
        except AfterSalesError as exc:
            with app.store.session() as session:
                row = session.get(ReviewAlertRow, alert.id)
                if row is not None:
                    row.attempts += 1
                    row.last_error = f"{name}: {redact_text(str(exc))}"[:300]
            return 0
        alert.delivered_to = [*alert.delivered_to, name]
    return 1
