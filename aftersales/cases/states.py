"""The case's vocabulary and its one state machine.

The loop 受理 → 记录 → 分析 → 方案 → 反馈 → 回访 maps onto the statuses::

    received → investigating → proposed → awaiting_customer → resolved
             → following_up → closed

plus ``reopened``, which a dissatisfied answer (or a person) moves a
resolved, following-up or closed case to, and from which work starts
again. :func:`check_transition` is the only judge of a move; every move
and every note writes an audit row (see :mod:`aftersales.cases.repository`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from aftersales.errors import InvalidTransitionError, ValidationError

__all__ = [
    "OPEN_STATUSES",
    "TRANSITIONS",
    "CaseChannel",
    "CaseKind",
    "CaseStatus",
    "Priority",
    "check_transition",
    "parse_enum",
]


class CaseKind(StrEnum):
    """What the case is about."""

    COMPLAINT = "complaint"
    INQUIRY = "inquiry"
    DAMAGE_CLAIM = "damage_claim"
    LOGISTICS = "logistics"  # 快递异常
    NEGATIVE_REVIEW = "negative_review"  # 差评
    RETURN_DISPUTE = "return_dispute"
    PLATFORM_DISPUTE = "platform_dispute"


class CaseChannel(StrEnum):
    """Where the complaint came in."""

    PHONE = "phone"
    CHAT = "chat"
    EMAIL = "email"
    MARKETPLACE = "marketplace"  # a marketplace message or the platform itself
    REVIEW = "review"
    FOLLOW_UP = "follow_up"
    SYSTEM = "system"  # a parcel exception or other fact the library saw itself


class Priority(StrEnum):
    """How urgent the case is; SLA targets are per kind and priority."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    def raised(self) -> Priority:
        """One step more urgent (urgent stays urgent)."""
        order = list(Priority)
        return order[min(order.index(self) + 1, len(order) - 1)]


class CaseStatus(StrEnum):
    """Where the case is in the loop."""

    RECEIVED = "received"
    INVESTIGATING = "investigating"
    PROPOSED = "proposed"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    FOLLOWING_UP = "following_up"
    CLOSED = "closed"
    REOPENED = "reopened"


S = CaseStatus
E = TypeVar("E", bound=StrEnum)

#: Every allowed move. Closing is allowed from any open status (a person
#: may close a case that needs nothing more), reopening from the end of the loop.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.RECEIVED: frozenset({S.INVESTIGATING, S.PROPOSED, S.RESOLVED, S.CLOSED}),
    S.INVESTIGATING: frozenset({S.PROPOSED, S.AWAITING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.PROPOSED: frozenset({S.AWAITING_CUSTOMER, S.INVESTIGATING, S.RESOLVED, S.CLOSED}),
    S.AWAITING_CUSTOMER: frozenset({S.INVESTIGATING, S.PROPOSED, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.FOLLOWING_UP, S.CLOSED, S.REOPENED}),
    S.FOLLOWING_UP: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.INVESTIGATING, S.PROPOSED, S.AWAITING_CUSTOMER, S.RESOLVED,
                           S.CLOSED}),
}

#: Statuses in which the case still holds its open key (not closed).
OPEN_STATUSES = frozenset(set(CaseStatus) - {S.CLOSED})


def check_transition(current: CaseStatus, target: CaseStatus, *, entity: str) -> None:
    """Raise unless the state machine allows ``current`` → ``target``.

    Raises:
        InvalidTransitionError: the move is not in :data:`TRANSITIONS`.
    """
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current]))
        raise InvalidTransitionError(entity, current.value, target.value,
                                     f"allowed from {current.value}: {allowed}")


def parse_enum(cls: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``cls``, or a ValidationError naming ``field`` and the choices."""
    try:
        return cls(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in cls)
        raise ValidationError(f"unknown value; one of {choices}", field=field) from None
