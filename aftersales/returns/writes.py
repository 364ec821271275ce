"""The one transition path: a request's status, audit row, event and deadline, written together.

Every change of status, whoever asks for it (a person, a policy rule, a
timer, a bulk file or a marketplace sync), goes through
:meth:`TransitionWriter.move` in the caller's unit of work: the state
machine checks it, the row gets the new status (the version column bumps on
flush, so a racing writer loses with ``ConcurrentUpdateError``), and the
rows :func:`~aftersales.returns.transition.build_transition` builds (the
same builder the bulk approvals use) are added: the audit row, the event
and the SLA deadline. :meth:`TransitionWriter.move_many` writes the same
rows for many requests at once, one statement a table (bulk approvals).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns import repository as repo
from aftersales.returns.context import ReturnsContext
from aftersales.returns.lifecycle import check_transition
from aftersales.returns.sla import PlannedDeadline, plan_deadline
from aftersales.returns.transition import Transition, build_transition
from aftersales.returns.write_many import Move, write_moves
from aftersales.store.tables.core import AuditRow
from aftersales.store.tables.returns import ReturnDeadlineRow, ReturnRow

__all__ = ["RequestFacts", "TransitionWriter"]


class RequestFacts(Protocol):
    """What an event about a request and the policy's decision read of it: a stored
    :class:`ReturnRow`, or the values of one a sync page is inserting set-based."""

    @property
    def rma_id(self) -> str: ...
    @property
    def marketplace(self) -> str: ...
    @property
    def order_external_id(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def buyer_id(self) -> str | None: ...


class TransitionWriter:
    """Writes transitions, events and deadlines of requests into the caller's session."""

    def __init__(self, ctx: ReturnsContext) -> None:
        self.ctx = ctx

    def move(
        self, session: Session, row: ReturnRow, target: ReturnStatus, *, actor: str,
        now: datetime, reason: str | None = None, note: str | None = None,
        raw_status: str | None = None, data: dict[str, Any] | None = None,
        check: bool = True,
    ) -> None:
        """Move ``row`` to ``target`` with its audit row, event and deadline.

        Raises:
            InvalidTransitionError: the machine does not allow it (``check``).
            ConcurrentUpdateError: a racing writer changed the row first.
        """
        kind = ReturnKind(row.kind)
        current = ReturnStatus(row.status)
        if check:
            check_transition(kind, current, target, entity=f"return {row.rma_id}")
        row.status = target.value
        if raw_status is not None:
            row.raw_status = raw_status
        row.updated_at = now
        session.flush()  # bumps the version now: a lost race surfaces here
        # The same builder as the bulk approvals': identical audit and event rows.
        move = build_transition(
            rma_id=row.rma_id, kind=row.kind, marketplace=row.marketplace,
            order_id=row.order_external_id, external_id=row.external_id, source=current,
            target=target, version=row.version, actor=actor, at=now,
            deadline=plan_deadline(kind, target, now, self.ctx.policy),
            reason=reason, note=note, data=data,
        )
        session.add(AuditRow(entity=repo.ENTITY, **move.audit_values()))
        self.ctx.runtime.events.emit(session, move.topic, move.payload(), key=move.event_key)
        self.set_deadline(session, row, move.deadline)

    def move_many(self, session: Session, moves: Sequence[Move], *,
                  now: datetime) -> list[Transition]:
        """The set-based :meth:`move`: one statement a table for many requests.

        The caller read the requests (a :class:`Move` holds each as read) and
        checked each move against the machine; see
        :func:`~aftersales.returns.write_many.write_moves`.

        Raises:
            StaleDataError: a request changed since it was read.
        """
        return write_moves(session, self.ctx.runtime.events, moves, now=now,
                           planner=lambda kind, status: plan_deadline(
                               ReturnKind(kind), status, now, self.ctx.policy))

    def opened(self, session: Session, row: ReturnRow, *, actor: str, now: datetime,
               note: str | None = None, data: dict[str, object] | None = None) -> None:
        """Record a new request: its first audit row, its event and its first deadline."""
        repo.audit(session, row.rma_id, actor=actor, at=now, source=None,
                   target=ReturnStatus(row.status), reason="request opened", note=note,
                   data=data)
        session.flush()
        self.event(session, f"return.{row.status}", row, actor=actor, extra={"from": None})
        self.plan(session, row, ReturnStatus(row.status), now)

    def event(
        self, session: Session, name: str, row: ReturnRow, *, actor: str,
        extra: dict[str, Any] | None = None, key: str | None = None,
    ) -> None:
        """Emit event ``name`` about ``row`` (delivered to hooks once the unit commits)."""
        _, payload, key = self.event_of(name, row, actor=actor, extra=extra, key=key)
        self.ctx.runtime.events.emit(session, name, payload, key=key)

    @staticmethod
    def event_of(name: str, row: RequestFacts, *, actor: str,
                 extra: dict[str, Any] | None = None,
                 key: str | None = None) -> tuple[str, dict[str, Any], str]:
        """Event ``name`` about ``row`` as ``(name, payload, key)``, for ``emit_many``."""
        payload = {
            "rma_id": row.rma_id, "marketplace": row.marketplace,
            "order_id": row.order_external_id, "external_id": row.external_id,
            "kind": row.kind, "status": row.status, "actor": actor, "version": row.version,
            **(extra or {}),
        }
        return name, payload, key or f"{name}:{row.rma_id}:{row.version}"

    def plan(self, session: Session, row: ReturnRow, status: ReturnStatus,
             now: datetime) -> None:
        """Replace the request's deadline with the one its new status runs."""
        self.set_deadline(session, row, plan_deadline(ReturnKind(row.kind), status, now,
                                                      self.ctx.policy))

    @staticmethod
    def set_deadline(session: Session, row: ReturnRow, plan: PlannedDeadline | None) -> None:
        """Write ``plan`` as the request's one deadline row (``None`` clears it)."""
        dl = session.get(ReturnDeadlineRow, row.rma_id)
        if dl is None:
            dl = ReturnDeadlineRow(rma_id=row.rma_id)
            session.add(dl)
        TransitionWriter.fill_deadline(dl, plan)

    @staticmethod
    def fill_deadline(dl: ReturnDeadlineRow, plan: PlannedDeadline | None) -> None:
        """Set ``dl`` to ``plan`` (``None``: no deadline runs), alert and lease cleared."""
        dl.name = plan.name if plan else None
        dl.status = plan.status.value if plan else None
        dl.action = plan.action.value if plan else None
        dl.due_at = plan.due_at if plan else None
        dl.alert_at = plan.alert_at if plan else None
        dl.alerted_at = None
        dl.lease_until = None
        dl.last_error = None
