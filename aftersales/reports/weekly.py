"""The weekly report the worker sends: last week's HTML report, attached to one message.

Once a week has ended in the shop's zone (Monday 00:00 local), the
``weekly_report`` tick renders the report of that whole week (Monday to
Monday) and sends it through the configured channel (``smtp``: an e-mail
with the HTML attached; ``outbox``: a shop alert row carrying it) to the
configured recipient. A week is sent once, whatever number of workers
tick at the same instant: a run first claims the week in the idempotency
table (one transaction at a time per week, :func:`~aftersales.store.locking.one_writer`),
so a second run finds the claim and sends nothing (status ``sending``, or
``already_sent`` once the first recorded it). The claim becomes the record
after the channel accepted the message, and is dropped when the channel
refused it, so the next tick tries again. A run killed while it holds the
claim leaves it to the next tick after :data:`LEASE`; that run, like a crash
between the channel's answer and the record, sends again with the same
idempotency key (the e-mail keeps its ``Message-ID``; the outbox writes
nothing twice), the channels' own at-least-once promise. Nothing is sent
while a database transaction is open.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aftersales.interfaces import Channel
from aftersales.models import Attachment, Message
from aftersales.reports.labels import words
from aftersales.runtime import Runtime
from aftersales.store.locking import one_writer
from aftersales.store.tables.core import IdempotencyRow
from aftersales.times import aware

__all__ = ["LEASE", "SCOPE", "WeeklyOutcome", "last_week", "send_weekly"]

#: The idempotency table's scope for sent weekly reports.
SCOPE = "report.weekly"
#: How long a run holds the week's claim to render and send the report; a claim
#: older than this was left by a run that died, and the next tick takes it over.
LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class WeeklyOutcome:
    """What one run of the weekly report did: ``sent``, ``already_sent``, ``sending``
    (another run holds the week's claim right now) or ``off``.

    ``done`` and ``skipped`` say the same as counts, so the worker's tick
    report (see :func:`aftersales.scheduler.as_tick_report`) shows a sent
    report as one item done and any other run as one skipped.
    """

    status: str
    week: str | None = None
    key: str | None = None
    message_id: str | None = None
    done: int = 0
    skipped: int = 0


def last_week(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The last whole week before ``now`` in ``zone``: Monday 00:00 to Monday 00:00 (aware)."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(days=7)
    return (datetime(start.year, start.month, start.day, tzinfo=zone),
            datetime(monday.year, monday.month, monday.day, tzinfo=zone))


def send_weekly(runtime: Runtime, html: Callable[[datetime, datetime, str], str], *,
                channel: Channel | None, to: str | None, lang: str = "en",
                now: datetime | None = None) -> WeeklyOutcome:
    """Send last week's report through ``channel`` to ``to`` unless it went already.

    Args:
        runtime: the store, clock and shop zone.
        html: renders the report of ``[since, until)`` in a language.
        channel: where it goes; ``None`` switches the weekly report off.
        to: the recipient the channel understands (an e-mail address for ``smtp``).
        lang: ``en`` or ``zh``.
        now: the moment to act as (default the runtime's clock).

    Raises:
        ValidationError: ``now`` is naive (the week would depend on the
            machine's zone); nothing is claimed or sent.
    """
    now = aware(now, "now") or runtime.now()
    if channel is None or not to:
        return WeeklyOutcome("off", skipped=1)
    title = words(lang)["title"]
    since, until = last_week(now, runtime.timezone)
    week = since.date().isoformat()
    digest = hashlib.sha256(f"{channel.name}\0{to}".encode()).hexdigest()[:16]
    key = f"{SCOPE}:{week}:{digest}"
    token = uuid.uuid4().hex
    held = _claim(runtime, key, digest, week, token)
    if held is not None:
        return WeeklyOutcome(held, week, key, skipped=1)
    try:
        text = html(since, until, lang)
        last_day = (until - timedelta(days=1)).date().isoformat()
        message = Message(
            to=to, subject=f"{title} {week} – {last_day}",
            body=f"{title}: {week} – {last_day} ({runtime.timezone.key}). "
                 f"The report is attached as an HTML file; it opens offline in any browser.",
            idempotency_key=key,
            metadata={"kind": "weekly_report", "audience": "shop", "week": week},
            attachments=[Attachment(filename=f"aftersales-report-{week}.html",
                                    content_type="text/html", content=text)],
        )
        receipt = channel.send(message)  # no transaction is open here
    except BaseException:
        _release(runtime, key, token)
        raise
    with runtime.store.session() as session:
        one_writer(session, key)
        row = session.get(IdempotencyRow, key)
        result = {"week": week, "message_id": receipt.message_id}
        if row is None:  # the claim was removed meanwhile: record the send anyway
            session.add(IdempotencyRow(key=key, scope=SCOPE, request_hash=digest,
                                       result=result, created_at=runtime.now()))
        else:
            row.result = result
    return WeeklyOutcome("sent", week, key, receipt.message_id, done=1)


def _claim(runtime: Runtime, key: str, digest: str, week: str, token: str) -> str | None:
    """Claim the week for this run (``None``), or say why not: ``already_sent`` or ``sending``.

    A row without a ``claim`` is a sent week's record (rows written before
    claims existed are records too); a claim whose lease ran out is taken over.
    """
    now = runtime.now()
    claim = {"week": week, "claim": token, "lease_until": (now + LEASE).isoformat()}
    with runtime.store.session() as session:
        one_writer(session, key)
        row = session.get(IdempotencyRow, key)
        if row is None:
            session.add(IdempotencyRow(key=key, scope=SCOPE, request_hash=digest, result=claim,
                                       created_at=now))
            return None
        found = row.result or {}
        if "claim" not in found:
            return "already_sent"
        try:
            lease_until = datetime.fromisoformat(str(found.get("lease_until")))
        except ValueError:
            lease_until = now  # an unreadable lease is over
        if lease_until.tzinfo is not None and lease_until > now:
            return "sending"
        row.result = claim
        row.created_at = now
        return None


def _release(runtime: Runtime, key: str, token: str) -> None:
    """Drop this run's claim (the send failed), so the next tick tries the week again."""
    with runtime.store.session() as session:
        one_writer(session, key)
        row = session.get(IdempotencyRow, key)
        if row is not None and (row.result or {}).get("claim") == token:
            session.delete(row)
