"""Returns, exchanges and refunds.

The service is reached as ``app.returns`` (:class:`~aftersales.returns.service.ReturnsService`).
The pure parts, usable on their own, are re-exported here: the state machine
(:mod:`~aftersales.returns.lifecycle`), the policy (:mod:`~aftersales.returns.policy`),
eligibility validators (:mod:`~aftersales.returns.eligibility`) and refund arithmetic
(:mod:`~aftersales.returns.refunds`); so is every type the service's verbs return
(``BulkSummary``, ``TimerReport``, ``RefundReport``, ``AuditEntry``, ...).
"""

from __future__ import annotations

from aftersales.models import PlatformDeadline, RefusalReason
from aftersales.returns.bulk import BulkOutcome, BulkSummary
from aftersales.returns.eligibility import (
    DEFAULT_VALIDATORS,
    Decision,
    Eligibility,
    EligibilityContext,
    Finding,
    Validator,
    evaluate,
)
from aftersales.returns.lifecycle import TRANSITIONS, allowed_next, check_transition, path_between
from aftersales.returns.policy import (
    AutoApproveRule,
    BuyerStats,
    Deadline,
    ItemRule,
    Payer,
    ReturnPolicy,
    SerialReturnerRule,
    SlaAction,
    SlaPolicy,
)
from aftersales.returns.refund_settle import RefundReport
from aftersales.returns.refunds import RefundBreakdown, RefundLedger, compute_refund
from aftersales.returns.repository import AuditEntry
from aftersales.returns.timers import TimerReport

__all__ = [
    "DEFAULT_VALIDATORS",
    "TRANSITIONS",
    "AuditEntry",
    "AutoApproveRule",
    "BulkOutcome",
    "BulkSummary",
    "BuyerStats",
    "Deadline",
    "Decision",
    "Eligibility",
    "EligibilityContext",
    "Finding",
    "ItemRule",
    "Payer",
    "PlatformDeadline",
    "RefundBreakdown",
    "RefundLedger",
    "RefundReport",
    "RefusalReason",
    "ReturnPolicy",
    "SerialReturnerRule",
    "SlaAction",
    "SlaPolicy",
    "TimerReport",
    "Validator",
    "allowed_next",
    "check_transition",
    "compute_refund",
    "evaluate",
    "path_between",
]
