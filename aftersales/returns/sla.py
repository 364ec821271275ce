"""Which SLA deadline a request is under, and what its expiry does (pure).

A request entering ``requested`` gets the merchant-response deadline, an
approved return or exchange gets the buyer-shipment deadline, a received one
gets the merchant-confirmation deadline; every other status runs none. The
timer tick (:mod:`aftersales.returns.timers`) stores the planned deadline as a
row and acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns.policy import ReturnPolicy, SlaAction

__all__ = ["DEADLINE_FOR_STATUS", "PlannedDeadline", "expiry_target", "plan_deadline"]

S = ReturnStatus

#: The deadline that starts when a request enters each status.
DEADLINE_FOR_STATUS: dict[ReturnStatus, str] = {
    S.REQUESTED: "merchant_response",
    S.APPROVED: "buyer_shipment",
    S.RECEIVED: "merchant_confirmation",
}


@dataclass(frozen=True)
class PlannedDeadline:
    """A deadline to store: its name, the status it guards, when it alerts and expires."""

    name: str
    status: ReturnStatus
    action: SlaAction
    due_at: datetime
    alert_at: datetime


def plan_deadline(
    kind: ReturnKind, status: ReturnStatus, entered_at: datetime, policy: ReturnPolicy
) -> PlannedDeadline | None:
    """The deadline a request of ``kind`` runs after entering ``status``, or ``None``."""
    name = DEADLINE_FOR_STATUS.get(status)
    if name is None or (name == "buyer_shipment" and not kind.goods_back):
        return None
    deadline = policy.sla.deadline(name)
    if deadline is None:
        return None
    due = entered_at + deadline.after
    alert = max(entered_at, due - policy.sla.alert_lead(deadline))
    return PlannedDeadline(name, status, deadline.action, due, alert)


def expiry_target(name: str, action: SlaAction, kind: ReturnKind) -> ReturnStatus | None:
    """The status an expired deadline moves the request to, or ``None`` for a reminder.

    After receipt, auto-approve means the refund goes out (as marketplaces do
    when a merchant stays silent); a kind that sends goods out (exchange,
    repair) cannot ship itself, so it only reminds.
    """
    if action is SlaAction.REMIND:
        return None
    if name == "merchant_response" and action is SlaAction.AUTO_APPROVE:
        return S.APPROVED
    if name == "buyer_shipment" and action is SlaAction.AUTO_CLOSE:
        return S.CLOSED
    if name == "merchant_confirmation" and action is SlaAction.AUTO_APPROVE:
        return S.REFUNDED if kind.pays else None
    return None
