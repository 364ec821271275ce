"""Follow-up visits (回访): plans, the contact policy, quiet hours and dispatch.

The pure parts (plans, quiet hours, the contact policy, the retry schedule)
import without a database; :mod:`aftersales.followups.service` stores and
dispatches follow-ups and is reached as ``app.followups``.
"""

from __future__ import annotations

from aftersales.followups.backoff import RetryPolicy
from aftersales.followups.contact_policy import (
    Contact,
    ContactPolicy,
    Decision,
    FrequencyCap,
    HoldKind,
    MessageKind,
    Verdict,
)
from aftersales.followups.dispatch import Dispatcher, DispatchReport
from aftersales.followups.metrics import PlanMetrics
from aftersales.followups.plans import (
    REVIEW_WINDOWS,
    CancelCondition,
    FollowUpPlan,
    PlanKind,
    ReviewWindow,
    load_plans,
)
from aftersales.followups.quiet_hours import QuietHours, next_allowed

__all__ = [
    "REVIEW_WINDOWS",
    "CancelCondition",
    "Contact",
    "ContactPolicy",
    "Decision",
    "DispatchReport",
    "Dispatcher",
    "FollowUpPlan",
    "FrequencyCap",
    "HoldKind",
    "MessageKind",
    "PlanKind",
    "PlanMetrics",
    "QuietHours",
    "RetryPolicy",
    "ReviewWindow",
    "Verdict",
    "load_plans",
    "next_allowed",
]
