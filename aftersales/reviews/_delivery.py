"""Delivering stored review alerts through the configured channels.

Alerts are written with the review in the sync's transaction; delivery runs
after, so a channel that is down never blocks a sync. Each alert remembers
which channels already have it: a retry only visits the others, and each
message carries the same idempotency key on every attempt, so a channel that
can tell (the outbox, a webhook receiver) drops a repeat.

Two deliveries at once (two syncs, a sync and the worker) do not both send
an alert: each claims its batch's alerts for a lease (``lease_until``) in a
transaction of its own before any channel is called, reads them again as
claimed, and gives the lease back with the marks. A delivery killed in
between leaves the lease to run out (:data:`LEASE`); the next one retries.
The lease's time is the claim's token: before each alert goes to a channel
that is called alert by alert, the lease is renewed only if it still holds
that time, so a slow channel that outlasts a batch's lease loses the alerts
another delivery took over instead of sending them a second time, and its
release frees only the leases still its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update

from aftersales.models import Message
from aftersales.redact import redact_text
from aftersales.reviews.classify import Severity
from aftersales.store.tables.reviews import ReviewAlertRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aftersales.runtime import Runtime

__all__ = ["LEASE", "alert_message", "deliver_alerts"]

_BATCH = 200
#: How long a delivery holds the alerts it claimed (a killed one's come back after it).
LEASE = timedelta(minutes=5)


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
    runtime: Runtime, *, channels: Sequence[str], to: str | Mapping[str, str]
) -> int:
    """Send every undelivered alert to every channel in ``channels``.

    A transactional channel (the outbox) takes a whole batch in one
    transaction together with the delivery marks; any other channel is
    called alert by alert, each mark written right after its send.

    Returns:
        How many alerts became fully delivered. A channel failure (a library
        error, or any other exception: the channel's own bug) is recorded on
        the alert (``attempts``, ``last_error``, masked) and retried next time.
    """
    delivered = 0
    last_id = 0
    while True:
        now = runtime.now()
        with runtime.unit_of_work() as session:
            ids = list(
                session.scalars(
                    select(ReviewAlertRow.id)
                    .where(ReviewAlertRow.delivered_at.is_(None), ReviewAlertRow.id > last_id,
                           _free(now))
                    .order_by(ReviewAlertRow.id)
                    .limit(_BATCH)
                )
            )
        if not ids:
            return delivered
        last_id = ids[-1]
        batch = _claim(runtime, ids, now)
        leases = {a.id: now + LEASE for a in batch}  # alert id -> the lease it holds
        failed: set[int] = set()
        try:
            for name in channels:
                # every channel is tried: one that is down holds no alert back from the rest
                todo = [a for a in batch if name not in a.delivered_to and a.id in leases]
                if todo:
                    failed |= _send(runtime, name, todo, channels, to, leases)
        finally:
            _release(runtime, leases)
        delivered += sum(1 for a in batch if a.id in leases and a.id not in failed)


def _free(now: datetime) -> Any:
    """The alerts no delivery holds now."""
    return or_(ReviewAlertRow.lease_until.is_(None), ReviewAlertRow.lease_until <= now)


def _claim(runtime: Runtime, ids: Sequence[int], now: datetime) -> list[ReviewAlertRow]:
    """Claim the free, undelivered ones of ``ids``; they are read again as claimed.

    Each claim is a conditional UPDATE, so of two deliveries that read the
    same alerts one gets each; the other's UPDATE matches no row. The
    claimed rows are read after the claim committed: what another delivery
    marked before it is seen (a channel that already has an alert is not
    called again).
    """
    mine: list[int] = []
    with runtime.unit_of_work() as session:
        for alert_id in ids:
            done = session.execute(
                update(ReviewAlertRow)
                .where(ReviewAlertRow.id == alert_id, ReviewAlertRow.delivered_at.is_(None),
                       _free(now))
                .values(lease_until=now + LEASE)
                .execution_options(synchronize_session=False))
            if getattr(done, "rowcount", 0) == 1:
                mine.append(alert_id)
    if not mine:
        return []
    with runtime.unit_of_work() as session:
        return list(session.scalars(
            select(ReviewAlertRow).where(ReviewAlertRow.id.in_(mine))
            .order_by(ReviewAlertRow.id)))


def _renew(runtime: Runtime, alert_id: int, leases: dict[int, datetime]) -> bool:
    """Extend this delivery's lease on one alert before a send; ``False`` (and the
    alert dropped from ``leases``) when another delivery took it over meanwhile."""
    until = runtime.now() + LEASE
    with runtime.unit_of_work() as session:
        done = session.execute(
            update(ReviewAlertRow)
            .where(ReviewAlertRow.id == alert_id,
                   ReviewAlertRow.lease_until == leases[alert_id])
            .values(lease_until=until)
            .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) == 1:
        leases[alert_id] = until
        return True
    del leases[alert_id]
    return False


def _release(runtime: Runtime, leases: Mapping[int, datetime]) -> None:
    """Give back the leases still this delivery's (after their marks, or a failure)."""
    if not leases:
        return
    with runtime.unit_of_work() as session:
        for alert_id, until in leases.items():
            session.execute(update(ReviewAlertRow)
                            .where(ReviewAlertRow.id == alert_id,
                                   ReviewAlertRow.lease_until == until)
                            .values(lease_until=None)
                            .execution_options(synchronize_session=False))


def _send(
    runtime: Runtime,
    name: str,
    alerts: list[ReviewAlertRow],
    channels: Sequence[str],
    to: str | Mapping[str, str],
    leases: dict[int, datetime],
) -> set[int]:
    """Deliver ``alerts`` through channel ``name``; the ids that failed.

    One by one, each alert's lease is renewed first (:func:`_renew`): one
    another delivery took over is left to it, neither sent nor failed here.
    """
    channel: Any = runtime.channel(name)
    address = _address(to, name)
    if getattr(channel, "transactional", False) and hasattr(channel, "send_in"):
        try:
            with runtime.unit_of_work() as session, session.no_autoflush:
                for alert in alerts:
                    channel.send_in(session, alert_message(alert, address))
                    _mark(session, alert.id, name, channels, runtime.now())
        except Exception as exc:  # a channel's own bug fails the batch, never the sync
            _failed(runtime, [a.id for a in alerts], name, exc)
            return {a.id for a in alerts}
        return set()
    failed: set[int] = set()
    for alert in alerts:
        if not _renew(runtime, alert.id, leases):
            continue
        try:
            channel.send(alert_message(alert, address))
        except Exception as exc:  # an AfterSalesError, or the channel's own bug
            _failed(runtime, [alert.id], name, exc)
            failed.add(alert.id)
            continue
        with runtime.unit_of_work() as session:
            _mark(session, alert.id, name, channels, runtime.now())
    return failed


def _failed(runtime: Runtime, ids: list[int], name: str, exc: Exception) -> None:
    with runtime.unit_of_work() as session:
        for alert_id in ids:
            row = session.get(ReviewAlertRow, alert_id)
            if row is not None:
                row.attempts += 1
                row.last_error = f"{name}: {redact_text(str(exc))}"[:300]
