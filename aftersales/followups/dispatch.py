"""Sending one claimed follow-up: the checks, the send, and the record.

For each follow-up a worker holds under lease, in one transaction with the
buyer locked:

1. re-assert the lease (a worker whose lease ran out drops the row);
2. skip it when past its deadline (a review window that closed), when the
   buyer opted out, or cancel it when a cancel condition now holds;
3. ask the :class:`~aftersales.followups.contact_policy.ContactPolicy`,
   which may defer it (a frequency cap, a hold) to a later moment;
4. reserve the contact in the contact log.

A *transactional* channel (the outbox) then writes the message and the row
is marked ``sent`` in that same commit: a crash can neither lose nor repeat
it. Any other channel sends after that commit, with the follow-up's
idempotency key, and a second short transaction records the receipt, or,
on failure, frees the reservation and either reschedules the follow-up
along its plan's retry schedule or ends it ``failed`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import update
from sqlalchemy.orm import Session

from aftersales.errors import AfterSalesError, ValidationError
from aftersales.followups import repository as repo
from aftersales.followups.contact_policy import ContactPolicy, HoldKind
from aftersales.followups.plans import CancelCondition, FollowUpPlan
from aftersales.followups.quiet_hours import next_allowed, resolve_zone
from aftersales.models import FollowUpStatus, Message, Receipt
from aftersales.redact import redact_text
from aftersales.store.tables.followups import ContactLogRow, FollowUpRow

if TYPE_CHECKING:
    from aftersales.interfaces import Channel
    from aftersales.store import Store

__all__ = ["DispatchReport", "Dispatcher"]

_CANCEL_HOLDS = {
    CancelCondition.RETURN_OPENED: HoldKind.RETURN,
    CancelCondition.COMPLAINT_OPENED: HoldKind.COMPLAINT,
    CancelCondition.NEGATIVE_REVIEW: HoldKind.NEGATIVE_REVIEW,
}


@dataclass
class DispatchReport:
    """What one :meth:`~aftersales.followups.service.FollowUpsService.dispatch_due` did."""

    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    released: int = 0
    lost_lease: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: DispatchReport) -> None:
        """Add ``other``'s counts to this report."""
        for name in ("claimed", "sent", "deferred", "retried", "failed", "skipped",
                     "cancelled", "released", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


def _finish(session: Session, row: FollowUpRow, **values: Any) -> None:
    session.execute(
        update(FollowUpRow)
        .where(FollowUpRow.id == row.id)
        .values(lease_owner=None, lease_until=None, version=FollowUpRow.version + 1, **values)
        .execution_options(synchronize_session=False)
    )


class Dispatcher:
    """Processes claimed rows for one worker (``owner``)."""

    def __init__(
        self,
        store: Store,
        *,
        owner: str,
        plans: dict[str, FollowUpPlan],
        policy: ContactPolicy,
        channel_for: Any,
        shop_zone: Any,
    ) -> None:
        self.store = store
        self.owner = owner
        self.plans = plans
        self.policy = policy
        self.channel_for = channel_for  # (plan, row) -> Channel
        self.shop_zone = shop_zone

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

    # ------------------------------------------------------------ one row

    def process(self, row: FollowUpRow, now: datetime, report: DispatchReport) -> None:
        """Decide, send and record one claimed follow-up; counts go into ``report``."""
        plan = self.plans.get(row.plan)
        if plan is None:
            with self.store.session() as session:
                if repo.still_owned(session, row.id, owner=self.owner):
                    _finish(session, row, status=repo.SCHEDULED, attempts=row.attempts - 1,
                            due_at=now + self.policy.hold_recheck,
                            last_error=f"plan {row.plan!r} is not registered in this worker")
            report.deferred += 1
            return
        zone = self._zone(plan, row)
        message: Message | None = None
        channel: Channel | None = None
        with self.store.session() as session:
            repo.lock_buyer(session, row.buyer_id)
            if not repo.still_owned(session, row.id, owner=self.owner):
                report.lost_lease += 1
                return
            if row.attempts > 1:
                # An earlier holder may have reserved the contact and died before sending.
                repo.forget_contact(session, row.idempotency_key)
            outcome = self._gate(session, plan, row, now, zone)
            if outcome is not None:
                setattr(report, outcome, getattr(report, outcome) + 1)
                return
            try:
                channel = self.channel_for(plan, row)
                subject, body = plan.render(self._context(row))
                message = Message(
                    to=self._recipient(plan, channel, row), subject=subject, body=body,
                    idempotency_key=row.idempotency_key, buyer_id=row.buyer_id,
                    order_id=row.order_external_id,
                    metadata={"plan": plan.name, "kind": plan.kind.value,
                              "follow_up_id": row.id},
                )
            except AfterSalesError as exc:
                _finish(session, row, status=FollowUpStatus.FAILED.value,
                        last_error=redact_text(str(exc))[:500])
                report.failed += 1
                return
            session.add(ContactLogRow(key=row.idempotency_key, buyer_id=row.buyer_id,
                                      sent_at=now, kind=plan.message_kind.value,
                                      channel=channel.name, source=plan.name))
            if getattr(channel, "transactional", False):
                receipt: Receipt = cast(Any, channel).send_in(session, message)
                _finish(session, row, status=FollowUpStatus.SENT.value, sent_at=now,
                        receipt_id=receipt.message_id[:200], last_error=None)
                report.sent += 1
                return
        self._send_outside(plan, row, channel, message, now, zone, report)

    def _gate(
        self, session: Session, plan: FollowUpPlan, row: FollowUpRow, now: datetime, zone: Any
    ) -> str | None:
        """Apply deadline, opt-out, cancel conditions, quiet hours and the contact policy.

        Returns the report counter to bump when the row was settled here, or
        ``None`` when it may be sent now.
        """
        if row.not_after is not None and now > row.not_after:
            _finish(session, row, status=FollowUpStatus.SKIPPED.value,
                    last_error="past its deadline (window closed or expired)")
            return "skipped"
        kind = plan.message_kind
        if row.buyer_id in plan.opt_out or repo.opted_out(session, row.buyer_id, kind):
            _finish(session, row, status=FollowUpStatus.SKIPPED.value,
                    last_error="buyer opted out")
            return "skipped"
        reason = self._cancel_reason(session, plan, row)
        if reason:
            _finish(session, row, status=FollowUpStatus.CANCELLED.value, last_error=reason)
            return "cancelled"
        allowed_at = next_allowed(now, plan.quiet_hours, zone)
        decision = self.policy.decide(
            kind, now=now,
            history=repo.contact_history(session, row.buyer_id, now - self.policy.lookback),
            open_holds=repo.open_holds(session, row.buyer_id),
        )
        if allowed_at > now or not decision.allowed:
            later = max(allowed_at, decision.retry_at or allowed_at)
            later = next_allowed(later, plan.quiet_hours, zone)
            why = decision.reason if not decision.allowed else "quiet hours"
            if row.not_after is not None and later > row.not_after:
                _finish(session, row, status=FollowUpStatus.SKIPPED.value,
                        last_error=f"{why}; no allowed moment before its deadline")
                return "skipped"
            _finish(session, row, status=repo.SCHEDULED, due_at=later,
                    attempts=row.attempts - 1, last_error=why)
            return "deferred"
        return None

    def _cancel_reason(self, session: Session, plan: FollowUpPlan, row: FollowUpRow) -> str | None:
        if not plan.cancel_if:
            return None
        opened = repo.holds_opened_since(session, row.buyer_id, row.created_at)
        for condition in sorted(plan.cancel_if):
            hold = _CANCEL_HOLDS.get(condition)
            if hold is not None and hold in opened:
                return f"cancelled: {condition.value} since it was scheduled"
            if condition is CancelCondition.RESPONDED and repo.responded_on_order(session, row):
                return "cancelled: the buyer already answered a follow-up on this order"
        return None

    def _send_outside(
        self,
        plan: FollowUpPlan,
        row: FollowUpRow,
        channel: Channel | None,
        message: Message | None,
        now: datetime,
        zone: Any,
        report: DispatchReport,
    ) -> None:
        assert channel is not None
        assert message is not None
        try:
            receipt = channel.send(message)
        except AfterSalesError as exc:
            reason = redact_text(f"{type(exc).__name__}: {exc}")[:500]
            retry_at = (plan.retry.next_attempt(now, row.attempts, row.idempotency_key)
                        if exc.retryable else None)
            with self.store.session() as session:
                repo.forget_contact(session, row.idempotency_key)
                if not repo.still_owned(session, row.id, owner=self.owner):
                    report.lost_lease += 1
                    return
                if retry_at is None:
                    _finish(session, row, status=FollowUpStatus.FAILED.value, last_error=reason)
                    report.failed += 1
                else:
                    due = next_allowed(retry_at, plan.quiet_hours, zone)
                    _finish(session, row, status=repo.SCHEDULED, due_at=due, last_error=reason)
                    report.retried += 1
            report.errors.append(f"follow-up {row.id}: {reason}")
            return
        with self.store.session() as session:
            session.execute(
                update(FollowUpRow)
                .where(FollowUpRow.id == row.id)
                .values(status=FollowUpStatus.SENT.value, sent_at=now, lease_owner=None,
                        lease_until=None, receipt_id=receipt.message_id[:200],
                        last_error=None, version=FollowUpRow.version + 1)
                .execution_options(synchronize_session=False)
            )
        report.sent += 1
