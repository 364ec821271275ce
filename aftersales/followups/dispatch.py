"""Sending claimed follow-ups: the checks, the send, and the record.

For the follow-ups a worker holds under lease, in one transaction with the
buyers locked:

1. re-assert the lease (a worker whose lease ran out drops the row);
2. skip it when past its deadline (a review window that closed), when the
   buyer opted out, or cancel it when a cancel condition now holds;
3. ask the :class:`~aftersales.followups.contact_policy.ContactPolicy`,
   which may defer it (a frequency cap, a hold) to a later moment;
4. reserve the contact in the contact log.

A *transactional* channel (the outbox) then writes the messages and the
rows are marked ``sent`` in that same commit, a whole claimed batch at a
time: a crash can neither lose nor repeat one. Any other channel sends after
that commit (the lease renewed first), with the follow-up's idempotency key,
and a second short transaction records the receipt, or, on failure, frees
the reservation and either reschedules the follow-up along its plan's retry
schedule or ends it ``failed`` with the reason (the buyer's name, e-mail
and phone masked). A channel that raises something other than an
:class:`~aftersales.errors.AfterSalesError`, or returns something other
than a :class:`~aftersales.models.Receipt`, ends that one follow-up
``failed`` (whether it sent is unknown) and the batch goes on.

A failure of the channel itself, not of the message (an
:class:`~aftersales.errors.AuthenticationError` such as an SMTP 535, a
:class:`~aftersales.errors.ChannelUnavailableError`: a server that cannot
be reached or answers SMTP 421, a refused sender; or a
:class:`~aftersales.errors.RateLimitError`: a marketplace's messaging
quota) fails no follow-up: the one in hand and the
channel's whole due queue are kept, due again after the plan's retry wait
for the channel's consecutive failures (growing, at most the plan's
``max_delay``) or the rate limit's ``retry_after`` when longer (at most a
day), no attempt counted; the run stops there, and its report
says why in one line (``stopped``). A per-recipient refusal (an SMTP 550)
stays the follow-up's own. A crash between that send
and its record sends the message again once the lease ends, with the same
key, for the receiver to drop: at least once, keyed, for such channels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert
from sqlalchemy.orm import Session

from aftersales.errors import (
    AfterSalesError,
    AuthenticationError,
    ChannelUnavailableError,
    RateLimitError,
    StorageError,
    ValidationError,
)
from aftersales.followups import repository as repo
from aftersales.followups.contact_policy import Contact, ContactPolicy
from aftersales.followups.decide import BuyerFacts, evaluate
from aftersales.followups.plans import CancelCondition, FollowUpPlan
from aftersales.followups.quiet_hours import next_allowed, resolve_zone
from aftersales.models import FollowUpStatus, Message, Receipt
from aftersales.redact import PERSONAL_KEYS, known_names, redact_text
from aftersales.store.tables.followups import ContactLogRow, FollowUpRow
from aftersales.ticks import TickReport

if TYPE_CHECKING:
    from aftersales.interfaces import Channel

__all__ = ["SPREAD_MAX", "DispatchReport", "Dispatcher"]

#: The longest a kept queue is spread after its next try (see :func:`.repository.postpone_channel`).
SPREAD_MAX = timedelta(hours=1)

@dataclass
class DispatchReport(TickReport):
    """What one :meth:`~aftersales.followups.service.FollowUpsService.dispatch_due` did.

    ``done`` counts the follow-ups sent; ``skipped`` those the plan's
    conditions skipped; ``failed`` those that failed for good. ``reasons``
    holds every send that failed (``"follow-up ID"``: why), retried ones too.
    ``stopped``: why the run stopped early, in one line, when a channel
    failed as a whole (also in ``reasons`` as ``"channel NAME"``).
    """

    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    retried: int = 0
    cancelled: int = 0
    released: int = 0
    lost_lease: int = 0
    stopped: str = ""

    def merge(self, other: DispatchReport) -> None:
        """Add ``other``'s counts to this report."""
        for name in ("done", "claimed", "sent", "deferred", "retried", "failed", "skipped",
                     "cancelled", "released", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)
        self.stopped = self.stopped or other.stopped


class Dispatcher:
    """Processes claimed rows for one worker (``owner``)."""

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractContextManager[Session]],
        *,
        owner: str,
        plans: dict[str, FollowUpPlan],
        policy: ContactPolicy,
        channel_for: Any,
        shop_zone: Any,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        #: Opens one write transaction (the runtime's ``unit_of_work``).
        self.unit_of_work = unit_of_work
        self.owner = owner
        self.plans = plans
        self.policy = policy
        self.channel_for = channel_for  # (plan, row) -> Channel
        self.shop_zone = shop_zone
        self.lease = lease
        #: The current time, read when a lease is renewed: a batch's ``now`` is
        #: when it was claimed, minutes ago after slow sends.
        self.clock = clock
        #: Channels that have failed as a whole, by name, with their failures
        #: in a row (the ``channel_health`` table, read at a batch's first
        #: send that goes through; such a send clears its channel's row).
        self.channel_failures: dict[str, int] | None = None
        #: Why this run stopped early (a channel failed as a whole), or "".
        self.halted = ""

    # ------------------------------------------------------------ helpers

    def _zone(self, plan: FollowUpPlan, row: FollowUpRow) -> Any:
        buyer = row.context.get("buyer") if isinstance(row.context, dict) else None
        buyer_zone = buyer.get("timezone") if isinstance(buyer, dict) else None
        if plan.zone_preference == "shop" or not buyer_zone:
            return self.shop_zone
        try:
            return resolve_zone(buyer_zone)
        except ValidationError:
            return self.shop_zone

    def _recipient(self, plan: FollowUpPlan, channel: Channel, row: FollowUpRow) -> str:
        buyer = row.context.get("buyer") or {}
        mode = plan.recipient
        if mode == "auto":
            mode = "email" if channel.name == "smtp" else "buyer_id"
        if mode == "buyer_id":
            return row.buyer_id
        value = buyer.get(mode) if isinstance(buyer, dict) else None
        if not value:
            raise ValidationError(f"the buyer has no {mode} on record", field=f"buyer.{mode}")
        return str(value)

    def _context(self, row: FollowUpRow) -> dict[str, Any]:
        ctx = dict(row.context or {})
        ctx.setdefault("buyer", {})
        if isinstance(ctx["buyer"], dict):
            ctx["buyer"] = {"id": row.buyer_id, **ctx["buyer"]}
        found = ctx.get("order")
        order: dict[str, Any] = found if isinstance(found, dict) else {}
        if row.order_external_id:
            ctx["order"] = {"id": row.order_external_id, **order}
        ctx["follow_up"] = {"id": row.id, "plan": row.plan}
        return ctx

    # ------------------------------------------------------------ judging

    def _judge(
        self, session: Session, row: FollowUpRow, plan: FollowUpPlan, now: datetime,
        facts: BuyerFacts,
    ) -> tuple[dict[str, Any] | None, Message | None, Channel | None]:
        """Either the values that settle the row now, or the message and channel to send."""
        zone = self._zone(plan, row)
        responded = (CancelCondition.RESPONDED in plan.cancel_if
                     and repo.responded_on_order(session, row))
        outcome = evaluate(plan, now=now, created_at=row.created_at, not_after=row.not_after,
                           buyer_id=row.buyer_id, facts=facts, policy=self.policy, zone=zone,
                           responded_on_order=responded)
        if outcome.status is FollowUpStatus.SCHEDULED:
            # A deferral is not an attempt.
            return _settle(row, now, outcome.status, outcome.reason, due_at=outcome.due_at,
                           attempts=row.attempts - 1), None, None
        if outcome.status is not None:
            return _settle(row, now, outcome.status, outcome.reason), None, None
        try:
            channel = self.channel_for(plan, row)
            subject, body = plan.render(self._context(row))
            message = Message(
                to=self._recipient(plan, channel, row), subject=subject, body=body,
                idempotency_key=row.idempotency_key, buyer_id=row.buyer_id,
                order_id=row.order_external_id,
                metadata={"plan": plan.name, "kind": plan.kind.value, "follow_up_id": row.id,
                          **({"marketplace": row.marketplace} if row.marketplace else {})},
            )
        except AfterSalesError as exc:
            return _settle(row, now, FollowUpStatus.FAILED,
                           redact_text(str(exc))[:500]), None, None
        return None, message, channel

    def _is_transactional(self, row: FollowUpRow) -> bool:
        plan = self.plans.get(row.plan)
        if plan is None:
            return False
        try:
            channel = self.channel_for(plan, row)
        except AfterSalesError:
            return False
        return bool(getattr(channel, "transactional", False))

    # ------------------------------------------------------------ many rows

    def process_all(
        self, rows: list[FollowUpRow], now: datetime, report: DispatchReport,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Process a claimed batch: rows for transactional channels in one transaction,
        the others one by one; after ``stop()`` turns true, release what is left.

        An error that leaves this call (a transactional channel's refusal, a
        database failure) has its text masked for every buyer of ``rows``
        first: the ``dispatch failed`` warning is written after the send's
        own masking block has closed.
        """
        self.channel_failures = None  # read again for each batch: other workers write it
        try:
            self._process_all(rows, now, report, stop)
        except Exception as exc:
            _mask_error(exc, rows)
            raise

    def _process_all(
        self, rows: list[FollowUpRow], now: datetime, report: DispatchReport,
        stop: Callable[[], bool],
    ) -> None:
        batch = [r for r in rows if self._is_transactional(r)]
        single = [r for r in rows if r not in batch]
        if batch:
            try:
                self._process_batch(batch, now, report)
            except StorageError:
                single = batch + single  # judge them one at a time instead
        for index, row in enumerate(single):
            if stop() or self.halted:
                with self.unit_of_work() as session:
                    report.released += repo.release(
                        session, [r.id for r in single[index:]], owner=self.owner, now=now)
                return
            self.process(row, now, report)

    def _process_batch(self, rows: list[FollowUpRow], now: datetime,
                       report: DispatchReport) -> None:
        local = DispatchReport()
        with self.unit_of_work() as session:
            repo.lock_buyers(session, [r.buyer_id for r in rows])
            owned = repo.owned_ids(session, [r.id for r in rows], owner=self.owner)
            repo.forget_contacts(session, [r.idempotency_key for r in rows
                                           if r.attempts > 1 and r.id in owned])
            facts = repo.load_facts(session, sorted({_buyer(r) for r in rows}, key=repr),
                                    now - self.policy.lookback)
            settles: list[dict[str, Any]] = []
            contacts: list[dict[str, Any]] = []
            sends: list[tuple[FollowUpRow, Channel, Message]] = []
            for row in rows:
                if row.id not in owned:
                    local.lost_lease += 1
                    continue
                plan = self.plans[row.plan]
                settle, message, channel = self._judge(session, row, plan, now,
                                                       facts[_buyer(row)])
                if settle is not None:
                    settles.append(settle)
                    continue
                assert message is not None
                assert channel is not None
                # Counted for every key of this buyer the batch holds that it caps.
                for key, found in facts.items():
                    if key[1] == row.buyer_id and key[0] in (None, row.marketplace):
                        found.history.append(
                            Contact(now, plan.message_kind, channel.name, plan.name))
                contacts.append(_contact(row, plan, channel, now))
                sends.append((row, channel, message))
            if contacts:
                session.execute(insert(ContactLogRow), contacts)
            for row, receipt in _send_in(session, sends):
                settles.append(_settle(row, now, FollowUpStatus.SENT, None, sent_at=now,
                                       receipt_id=_receipt_id(receipt)))
            _apply(session, settles)
            for settle in settles:
                _count(local, settle["_status"])
        report.merge(local)

    # ------------------------------------------------------------ one row

    def process(self, row: FollowUpRow, now: datetime, report: DispatchReport) -> None:
        """Decide, send and record one claimed follow-up; counts go into ``report``."""
        plan = self.plans.get(row.plan)
        if plan is None:
            with self.unit_of_work() as session:
                if repo.still_owned(session, row.id, owner=self.owner):
                    _apply(session, [_settle(
                        row, now, FollowUpStatus.SCHEDULED,
                        f"plan {row.plan!r} is not registered in this worker",
                        due_at=now + self.policy.hold_recheck, attempts=row.attempts - 1)])
            report.deferred += 1
            return
        with self.unit_of_work() as session:
            repo.lock_buyer(session, row.buyer_id)
            # Renew the lease from the clock, not the batch's start: a slow
            # channel must not let it run out mid-send.
            current = self._clock_at_least(now)
            if not repo.still_owned(session, row.id, owner=self.owner,
                                    until=current + self.lease):
                report.lost_lease += 1
                return
            if row.attempts > 1:
                # An earlier holder may have reserved the contact and died before sending.
                repo.forget_contact(session, row.idempotency_key)
            facts = repo.load_facts(session, [_buyer(row)], now - self.policy.lookback)
            settle, message, channel = self._judge(session, row, plan, now, facts[_buyer(row)])
            if settle is not None:
                _apply(session, [settle])
                _count(report, settle["_status"])
                return
            assert message is not None
            assert channel is not None
            session.execute(insert(ContactLogRow), [_contact(row, plan, channel, now)])
            if getattr(channel, "transactional", False):
                ((_, receipt),) = _send_in(session, [(row, channel, message)])
                _apply(session, [_settle(row, now, FollowUpStatus.SENT, None, sent_at=now,
                                         receipt_id=_receipt_id(receipt))])
                report.sent += 1
                report.done += 1
                return
        self._send_outside(plan, row, channel, message, now, report)

    def _send_outside(
        self, plan: FollowUpPlan, row: FollowUpRow, channel: Channel, message: Message,
        now: datetime, report: DispatchReport,
    ) -> None:
        try:
            # the buyer's names, masked in whatever the channel's answer quotes
            with known_names(*_names(row)):
                receipt = channel.send(message)
            if not isinstance(receipt, Receipt):  # a channel bug: whether it sent is unknown
                raise TypeError(f"channel {channel.name} returned {type(receipt).__name__}, "
                                "not a Receipt")
        except Exception as exc:  # a channel's own bug must not stall the batch
            # An AfterSalesError says whether to retry; anything else is a
            # channel bug whose outcome is unknown: ended ``failed``, never
            # sent again blindly, and the rest of the batch goes on.
            if isinstance(exc, (AuthenticationError, ChannelUnavailableError, RateLimitError)):
                self._keep_queue(plan, row, channel, exc, now, report)
                return
            reason = _reason(exc, row)
            retryable = isinstance(exc, AfterSalesError) and exc.retryable
            retry_at = (plan.retry.next_attempt(now, row.attempts, row.idempotency_key)
                        if retryable else None)
            with self.unit_of_work() as session:
                # Ownership first: a worker that took the row over has
                # logged its own contact under the same key, which stays.
                if not repo.still_owned(session, row.id, owner=self.owner):
                    report.lost_lease += 1
                    return
                repo.forget_contact(session, row.idempotency_key)
                if retry_at is None:
                    _apply(session, [_settle(row, now, FollowUpStatus.FAILED, reason)])
                    report.failed += 1
                else:
                    due = next_allowed(retry_at, plan.quiet_hours, self._zone(plan, row))
                    _apply(session, [_settle(row, now, FollowUpStatus.SCHEDULED, reason,
                                             due_at=due)])
                    report.retried += 1
            report.reasons[f"follow-up {row.id}"] = reason
            return
        # When the channel took it: a slow send ends minutes after the claim.
        taken = self._clock_at_least(now)
        with self.unit_of_work() as session:
            if self.channel_failures is None:
                self.channel_failures = repo.failing_channels(session)
            if self.channel_failures.pop(channel.name[:200], None) is not None:
                repo.channel_recovered(session, channel.name)
            _apply(session, [_settle(row, taken, FollowUpStatus.SENT, None, sent_at=taken,
                                     receipt_id=_receipt_id(receipt))])
        report.sent += 1
        report.done += 1

    def _keep_queue(
        self, plan: FollowUpPlan, row: FollowUpRow, channel: Channel, exc: Exception,
        now: datetime, report: DispatchReport,
    ) -> None:
        """The channel failed as a whole: keep this row and the channel's queue, stop the run.

        Credentials refused or a server out of reach say nothing of the
        follow-up: failing it (and every one behind it) would lose the
        shop's whole queue to a password it is about to fix.
        """
        # Counted in the database, so a job started again by cron (a new
        # process) goes on growing the wait instead of starting over, and
        # workers meeting the same outage count it once.
        zone = self._zone(plan, row)

        hint = _limit_lifts_in(exc)

        def retry_for(count: int) -> datetime:
            return next_allowed(now + max(plan.retry.delay(count, channel.name), hint),
                                plan.quiet_hours, zone)

        why = " ".join(_reason(exc, row).split())[:300]
        with self.unit_of_work() as session:
            count, retry_at = repo.channel_failed(session, channel.name, now=now,
                                                  retry_for=retry_for)
            reason = (f"channel {channel.name} unavailable ({count} in a row), follow-ups "
                      f"kept until {retry_at:%Y-%m-%d %H:%M} UTC: {why}")
            if repo.still_owned(session, row.id, owner=self.owner):
                repo.forget_contact(session, row.idempotency_key)
                _apply(session, [_settle(row, now, FollowUpStatus.SCHEDULED, reason,
                                         due_at=retry_at, attempts=row.attempts - 1)])
                report.deferred += 1
            else:
                report.lost_lease += 1
            repo.postpone_channel(
                session, channel=row.channel, owner=self.owner, until=retry_at, now=now,
                reason=reason, spread=min(max(retry_at - now, timedelta(0)), SPREAD_MAX),
                marketplace=row.marketplace if plan.channel == "marketplace" else None)
        self.halted = reason
        report.stopped = reason
        report.reasons[f"channel {channel.name}"] = reason

    def _clock_at_least(self, now: datetime) -> datetime:
        """The clock's time now, never before ``now`` (the claim's time)."""
        return max(now, self.clock()) if self.clock is not None else now


#: The longest a channel's rate limit is waited for (a daily messaging quota).
MAX_LIMIT_WAIT = timedelta(days=1)


def _limit_lifts_in(exc: Exception) -> timedelta:
    """How long a rate-limited channel asked to be left alone (0 when it did not say),
    at most :data:`MAX_LIMIT_WAIT`; a NaN, negative or infinite hint counts as none."""
    seconds = getattr(exc, "retry_after", None) if isinstance(exc, RateLimitError) else None
    if not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        return timedelta(0)
    return timedelta(seconds=min(float(seconds), MAX_LIMIT_WAIT.total_seconds()))


#: A NUL or a lone surrogate: text neither database stores as given.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _receipt_id(receipt: Receipt) -> str:
    """The receipt's id as the ``receipt_id`` column can hold it: at most 200
    characters, a NUL or a lone surrogate (a provider's id is its own text)
    stored as U+FFFD. A receipt that cannot be stored would fail the record
    of a message already sent, and the message would be sent again each lease."""
    return _UNSTORABLE.sub("\ufffd", str(receipt.message_id)[:200])


def _settle(row: FollowUpRow, now: datetime, status: FollowUpStatus, reason: str | None, *,
            due_at: datetime | None = None, attempts: int | None = None,
            sent_at: datetime | None = None, receipt_id: str | None = None) -> dict[str, Any]:
    return {
        "_id": row.id, "_status": status.value, "_due_at": due_at or row.due_at,
        "_attempts": row.attempts if attempts is None else attempts,
        "_last_error": reason, "_sent_at": sent_at or row.sent_at,
        "_receipt_id": receipt_id or row.receipt_id, "_now": now,
    }


_TABLE = FollowUpRow.__table__
_SETTLE = (
    _TABLE.update()  # type: ignore[attr-defined]
    .where(_TABLE.c.id == bindparam("_id"))
    .values(status=bindparam("_status"), due_at=bindparam("_due_at"),
            attempts=bindparam("_attempts"), last_error=bindparam("_last_error"),
            sent_at=bindparam("_sent_at"), receipt_id=bindparam("_receipt_id"),
            updated_at=bindparam("_now"), lease_owner=None, lease_until=None,
            version=_TABLE.c.version + 1)
)

_COUNTERS = {
    FollowUpStatus.SENT.value: "sent",
    FollowUpStatus.SCHEDULED.value: "deferred",
    FollowUpStatus.SKIPPED.value: "skipped",
    FollowUpStatus.CANCELLED.value: "cancelled",
    FollowUpStatus.FAILED.value: "failed",
}


def _apply(session: Session, settles: list[dict[str, Any]]) -> None:
    """Write the settled rows' new state in one executemany UPDATE."""
    if settles:
        session.connection().execute(_SETTLE, settles)


def _count(report: DispatchReport, status: str) -> None:
    name = _COUNTERS[status]
    setattr(report, name, getattr(report, name) + 1)
    if name == "sent":
        report.done += 1


def _reason(exc: BaseException, row: FollowUpRow) -> str:
    """The stored reason of a failed send: the error's type and text, the buyer masked.

    A channel's error may quote the buyer it failed to reach, with nothing
    a pattern can tell is a name; the row's own buyer data is known here,
    so its name is masked by its parts and its other values (e-mail, phone,
    address) wherever they appear.
    """
    values = _buyer_values(row)
    secrets = [v for k, v in values.items() if isinstance(v, str) and k not in ("id", "timezone")]
    with known_names(*_names(row)):
        return redact_text(f"{type(exc).__name__}: {exc}", secrets)[:500]


def _mask_error(exc: BaseException, rows: list[FollowUpRow]) -> None:
    """Mask, in place, the buyers of ``rows`` in an error's text (and a remote error's body).

    The same masking as :func:`_reason`, for every buyer of a claimed batch:
    the error is re-raised as it is (its type is what callers catch), only
    its words change.
    """
    secrets = [v for row in rows for k, v in _buyer_values(row).items()
               if isinstance(v, str) and k not in ("id", "timezone")]
    with known_names(*[n for row in rows for n in _names(row)]):
        exc.args = (redact_text(str(exc), secrets),)
        body = getattr(exc, "body", None)
        if isinstance(body, str):
            exc.body = redact_text(body, secrets)  # type: ignore[attr-defined]


def _buyer_values(row: FollowUpRow) -> dict[str, Any]:
    buyer = row.context.get("buyer") if isinstance(row.context, dict) else None
    return buyer if isinstance(buyer, dict) else {}


def _names(row: FollowUpRow) -> list[str]:
    """The follow-up's buyer's names (for ``redact.known_names``)."""
    return [str(v) for k, v in _buyer_values(row).items()
            if k in PERSONAL_KEYS and isinstance(v, str)]


def _buyer(row: FollowUpRow) -> repo.BuyerKey:
    """The buyer a follow-up's contact caps count for: per store."""
    return (row.marketplace, row.buyer_id)


def _contact(row: FollowUpRow, plan: FollowUpPlan, channel: Channel,
             now: datetime) -> dict[str, Any]:
    # The column holds 40 characters; "marketplace:<store>" may run to 52.
    return {"key": row.idempotency_key, "buyer_id": row.buyer_id, "store": row.marketplace,
            "sent_at": now, "kind": plan.message_kind.value, "channel": channel.name[:40],
            "source": plan.name}


def _send_in(
    session: Session, sends: list[tuple[FollowUpRow, Channel, Message]]
) -> list[tuple[FollowUpRow, Receipt]]:
    """Hand messages to transactional channels, many at a time where a channel can."""
    out: list[tuple[FollowUpRow, Receipt]] = []
    by_channel: dict[int, list[tuple[FollowUpRow, Channel, Message]]] = {}
    for item in sends:
        by_channel.setdefault(id(item[1]), []).append(item)
    for items in by_channel.values():
        channel: Any = items[0][1]
        if hasattr(channel, "send_many_in"):
            receipts = channel.send_many_in(session, [m for _, _, m in items])
        else:
            receipts = [channel.send_in(session, m) for _, _, m in items]
        out.extend((row, receipt) for (row, _, _), receipt in zip(items, receipts, strict=True))
    return out
