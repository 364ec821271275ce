"""What callers see of a case: :class:`Case`, its :class:`Fact` and :class:`Deadline` rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from aftersales.cases.states import CaseChannel, CaseKind, CaseStatus, Priority
from aftersales.store.tables.cases import CaseFactRow, CaseRow, CaseSlaRow
from aftersales.store.tables.core import AuditRow

__all__ = ["AuditEntry", "Case", "Deadline", "Fact", "to_case"]


@dataclass(frozen=True)
class Fact:
    """One fact of a case: which trigger or person added it, when, and what it said."""

    key: str
    source: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Deadline:
    """One SLA deadline of a case, as it stands."""

    metric: str
    clock: str
    status: str
    round: int
    target_seconds: float
    elapsed_seconds: float
    warn_at: datetime | None
    due_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """One row of the case's audit trail (the 记录): a change or a note."""

    actor: str
    at: datetime
    from_status: str | None
    to_status: str | None
    reason: str | None
    note: str | None
    data: dict[str, Any] | None


@dataclass(frozen=True)
class Case:
    """A complaint case (投诉工单) with its facts, links and deadlines."""

    id: int
    store: str
    kind: CaseKind
    channel: CaseChannel
    buyer_id: str
    order_id: str | None
    priority: Priority
    status: CaseStatus
    subject: str
    root_cause: str | None
    cause_valid: bool | None
    assignee: str | None
    escalation: int
    resolution: dict[str, Any] | None
    order_total: Decimal | None
    currency: str | None
    reopened: int
    csat: int | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int
    facts: list[Fact] = field(default_factory=list)
    links: dict[str, list[str]] = field(default_factory=dict)
    deadlines: list[Deadline] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """True until the case is closed."""
        return self.status is not CaseStatus.CLOSED


def to_case(row: CaseRow, facts: list[CaseFactRow] | None = None,
            links: list[tuple[str, str]] | None = None,
            slas: list[CaseSlaRow] | None = None) -> Case:
    """The stored row (and its facts, links and deadlines) as a :class:`Case`."""
    grouped: dict[str, list[str]] = {}
    for kind, ref in links or ():
        grouped.setdefault(kind, []).append(ref)
    return Case(
        id=row.id, store=row.store, kind=CaseKind(row.kind), channel=CaseChannel(row.channel),
        buyer_id=row.buyer_id, order_id=row.order_id, priority=Priority(row.priority),
        status=CaseStatus(row.status), subject=row.subject, root_cause=row.root_cause,
        cause_valid=row.cause_valid, assignee=row.assignee, escalation=row.escalation,
        resolution=dict(row.resolution) if row.resolution else None,
        order_total=row.order_total, currency=row.currency, reopened=row.reopened,
        csat=row.csat, opened_at=row.opened_at, first_response_at=row.first_response_at,
        resolved_at=row.resolved_at, closed_at=row.closed_at, version=row.version,
        facts=[Fact(f.key, f.source, f.at, dict(f.data or {})) for f in facts or ()],
        links=grouped,
        deadlines=[Deadline(s.metric, s.clock, s.status, s.round, s.target_seconds,
                            s.elapsed_seconds, s.warn_at, s.due_at, s.warned_at, s.breached_at,
                            s.met_at) for s in slas or ()],
    )


def to_entry(row: AuditRow) -> AuditEntry:
    """An audit row as an :class:`AuditEntry`."""
    return AuditEntry(row.actor, row.at, row.from_status, row.to_status, row.reason, row.note,
                      dict(row.data) if row.data else None)
