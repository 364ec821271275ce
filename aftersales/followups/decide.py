"""The send-time verdict on one follow-up, as a pure function of loaded facts.

The dispatcher loads the facts about every buyer in a claimed batch with a
handful of queries (:class:`BuyerFacts`), then asks :func:`evaluate` about
each follow-up. Keeping the rules here, free of I/O, lets one batch be
judged in one transaction and lets the rules be tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from aftersales.followups.contact_policy import Contact, ContactPolicy, HoldKind, MessageKind
from aftersales.followups.plans import CancelCondition, FollowUpPlan
from aftersales.followups.quiet_hours import next_allowed
from aftersales.models import FollowUpStatus

__all__ = ["BuyerFacts", "Outcome", "evaluate"]

_CANCEL_HOLDS = {
    CancelCondition.RETURN_OPENED: HoldKind.RETURN,
    CancelCondition.COMPLAINT_OPENED: HoldKind.COMPLAINT,
    CancelCondition.NEGATIVE_REVIEW: HoldKind.NEGATIVE_REVIEW,
}


@dataclass
class BuyerFacts:
    """What the store knows about one buyer's contact: opt-outs, holds, recent messages."""

    opt_outs: set[str] = field(default_factory=set)  # "*" or message kinds
    holds: list[tuple[HoldKind, datetime, datetime | None]] = field(default_factory=list)
    history: list[Contact] = field(default_factory=list)

    def opted_out(self, kind: MessageKind) -> bool:
        """True when the buyer opted out of everything or of ``kind``."""
        return "*" in self.opt_outs or kind.value in self.opt_outs

    def open_holds(self) -> set[HoldKind]:
        """Kinds of the buyer's unresolved matters."""
        return {kind for kind, _, resolved in self.holds if resolved is None}

    def opened_since(self, since: datetime) -> set[HoldKind]:
        """Kinds of matters opened at or after ``since``, resolved or not."""
        return {kind for kind, opened, _ in self.holds if opened >= since}


@dataclass(frozen=True)
class Outcome:
    """The verdict: ``status`` to settle the row in, or ``None`` to send it now."""

    status: FollowUpStatus | None
    reason: str | None = None
    due_at: datetime | None = None  # for a deferral

    @property
    def send(self) -> bool:
        """True when the follow-up may go out now."""
        return self.status is None


def evaluate(
    plan: FollowUpPlan,
    *,
    now: datetime,
    created_at: datetime,
    not_after: datetime | None,
    buyer_id: str,
    facts: BuyerFacts,
    policy: ContactPolicy,
    zone: tzinfo,
    responded_on_order: bool = False,
) -> Outcome:
    """Judge one follow-up at ``now``: skip, cancel, defer, or send.

    In order: past its deadline → skipped; buyer opted out (the store's list
    or the plan's) → skipped; a cancel condition since ``created_at`` →
    cancelled; inside quiet hours, held or capped by the contact policy →
    deferred to the first allowed moment (skipped when that is past the
    deadline); otherwise send.
    """
    if not_after is not None and now > not_after:
        return Outcome(FollowUpStatus.SKIPPED, "past its deadline (window closed or expired)")
    kind = plan.message_kind
    if buyer_id in plan.opt_out or facts.opted_out(kind):
        return Outcome(FollowUpStatus.SKIPPED, "buyer opted out")
    if plan.cancel_if:
        opened = facts.opened_since(created_at)
        for condition in sorted(plan.cancel_if):
            hold = _CANCEL_HOLDS.get(condition)
            if hold is not None and hold in opened:
                return Outcome(FollowUpStatus.CANCELLED,
                               f"cancelled: {condition.value} since it was scheduled")
            if condition is CancelCondition.RESPONDED and responded_on_order:
                return Outcome(FollowUpStatus.CANCELLED,
                               "cancelled: the buyer already answered a follow-up on this order")
    allowed_at = next_allowed(now, plan.quiet_hours, zone)
    decision = policy.decide(kind, now=now, history=facts.history,
                             open_holds=facts.open_holds())
    if allowed_at <= now and decision.allowed:
        return Outcome(None)
    later = max(allowed_at, decision.retry_at or allowed_at)
    later = next_allowed(later, plan.quiet_hours, zone)
    why = decision.reason if not decision.allowed else "quiet hours"
    if not_after is not None and later > not_after:
        return Outcome(FollowUpStatus.SKIPPED, f"{why}; no allowed moment before its deadline")
    return Outcome(FollowUpStatus.SCHEDULED, why, later)
