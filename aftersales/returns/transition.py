"""One function builds what a return request's move writes: status, audit, event, deadline.

Both ways a request moves use it: the single path
(:meth:`~aftersales.returns.writes.TransitionWriter.move`, through the ORM)
and the set-based form
(:meth:`~aftersales.returns.writes.TransitionWriter.move_many`, through
``executemany``, which bulk approvals use). They differ only in how they
write the rows, so a single move and a set-based one leave identical
audit and event rows (tests compare them).

The function does no I/O: it takes what the request was and what it
becomes, and returns the values to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aftersales.models import ReturnStatus
from aftersales.returns.sla import PlannedDeadline

__all__ = ["EVENT_FIELDS", "Transition", "build_transition"]

#: The fields of a ``return.<status>`` event's payload, in order.
EVENT_FIELDS = ("rma_id", "marketplace", "order_id", "external_id", "kind", "status", "actor",
                "version", "from", "reason")


@dataclass(frozen=True, slots=True)
class Transition:
    """Everything one move of a request writes.

    Attributes:
        rma_id: the request.
        source / target: the status before and after.
        version: the request's version after the move (the event's key has it).
        at: when it moved (the request's ``updated_at``, the audit row's time).
        actor, reason, note, data: the audit row's who and why.
        event_values: the event payload's values, in :data:`EVENT_FIELDS` order.
        deadline: the deadline the new status runs, ``None`` for none.
    """

    rma_id: str
    source: ReturnStatus
    target: ReturnStatus
    version: int
    at: datetime
    actor: str
    reason: str | None
    note: str | None
    data: dict[str, Any] | None
    event_values: tuple[Any, ...]
    deadline: PlannedDeadline | None

    @property
    def topic(self) -> str:
        """The event's name: ``return.<new status>``."""
        return f"return.{self.target.value}"

    @property
    def event_key(self) -> str:
        """The event's idempotency key: one per request and version."""
        return f"{self.topic}:{self.rma_id}:{self.version}"

    def payload(self) -> dict[str, Any]:
        """The event's payload."""
        return dict(zip(EVENT_FIELDS, self.event_values, strict=True))

    def audit_values(self) -> dict[str, Any]:
        """The audit row's columns (besides the entity, which is always ``return``)."""
        return {
            "entity_id": self.rma_id, "actor": self.actor, "at": self.at,
            "from_status": self.source.value, "to_status": self.target.value,
            "reason": self.reason[:200] if self.reason else None, "note": self.note,
            "data": self.data,
        }


def build_transition(
    *,
    rma_id: str,
    kind: str,
    marketplace: str,
    order_id: str,
    external_id: str | None,
    source: ReturnStatus,
    target: ReturnStatus,
    version: int,
    actor: str,
    at: datetime,
    deadline: PlannedDeadline | None,
    reason: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> Transition:
    """The rows of moving request ``rma_id`` from ``source`` to ``target``.

    Args:
        version: the request's version after the move.
        deadline: what :func:`~aftersales.returns.sla.plan_deadline` plans
            for ``target`` (callers of a run share one per kind).
    """
    return Transition(
        rma_id=rma_id, source=source, target=target, version=version, at=at, actor=actor,
        reason=reason, note=note, data=data,
        event_values=(rma_id, marketplace, order_id, external_id, kind, target.value, actor,
                      version, source.value, reason),
        deadline=deadline,
    )
