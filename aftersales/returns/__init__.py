"""Returns, exchanges and refunds.

The service is reached as ``app.returns`` (:class:`~aftersales.returns.service.ReturnsService`).
The pure parts, usable on their own, are re-exported here: the state machine
(:mod:`~aftersales.returns.lifecycle`), the policy (:mod:`~aftersales.returns.policy`),
eligibility validators (:mod:`~aftersales.returns.eligibility`) and refund arithmetic
(:mod:`~aftersales.returns.refunds`).
"""

from __future__ import annotations

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
from aftersales.returns.refunds import RefundBreakdown, RefundLedger, compute_refund

__all__ = [
    "DEFAULT_VALIDATORS",
    "TRANSITIONS",
    "AutoApproveRule",
    "BuyerStats",
    "Deadline",
    "Decision",
    "Eligibility",
    "EligibilityContext",
    "Finding",
    "ItemRule",
    "Payer",
    "RefundBreakdown",
    "RefundLedger",
    "ReturnPolicy",
    "SerialReturnerRule",
    "SlaAction",
    "SlaPolicy",
    "Validator",
    "allowed_next",
    "check_transition",
    "compute_refund",
    "evaluate",
    "path_between",
]
