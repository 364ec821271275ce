"""The marketplace's own deadlines on requests, kept beside the shop's SLA.

Douyin, Pinduoduo and JD each run a clock on every after-sales request
(Douyin's ``status_deadline``, 逾期时间): when it passes, the platform acts
for the silent side, usually in the buyer's favour. The library keeps that
deadline as a :class:`~aftersales.models.PlatformDeadline`, one row per
request (:class:`~aftersales.store.tables.returns.PlatformDeadlineRow`),
next to and independent of the shop's own SLA deadline
(:mod:`aftersales.returns.sla`). The sync replaces it with each copy the
marketplace sends; an extension the shop asks for
(:mod:`aftersales.returns.platform_actions`) stores the new one and counts it.

Rows ↔ models only; no rule lives here.
"""

from __future__ import annotations

from datetime import datetime

from aftersales.models import PlatformDeadline, ReturnStatus
from aftersales.store.tables.returns import PlatformDeadlineRow, ReturnRow

__all__ = ["platform_deadline_model", "record_platform_deadline"]


def platform_deadline_model(row: PlatformDeadlineRow | None) -> PlatformDeadline | None:
    """The stored platform deadline as the core's model (``None`` when there is none)."""
    if row is None:
        return None
    return PlatformDeadline(due_at=row.due_at, status=ReturnStatus(row.status),
                            raw_status=row.raw_status, extendable=row.extendable,
                            extensions=row.extensions)


def record_platform_deadline(
    row: ReturnRow, deadline: PlatformDeadline | None, *, now: datetime, extended: bool = False,
) -> bool:
    """Store ``deadline`` as the request's platform deadline; ``None`` removes it.

    A deadline that moved (a new due time or a new status) may alert again;
    ``extended`` counts one more extension the shop obtained. Returns whether
    anything changed, so a replayed sync writes nothing.
    """
    current = row.platform_deadline
    if deadline is None:
        if current is None:
            return False
        row.platform_deadline = None
        return True
    if current is None:
        row.platform_deadline = PlatformDeadlineRow(
            rma_id=row.rma_id, store=row.marketplace, status=deadline.status.value,
            raw_status=deadline.raw_status, due_at=deadline.due_at,
            extendable=deadline.extendable,
            extensions=deadline.extensions + (1 if extended else 0), synced_at=now)
        return True
    moved = current.due_at != deadline.due_at or current.status != deadline.status.value
    same = (not moved and current.raw_status == deadline.raw_status
            and current.extendable == deadline.extendable and not extended)
    if same:
        return False
    current.status = deadline.status.value
    current.raw_status = deadline.raw_status
    current.due_at = deadline.due_at
    current.extendable = deadline.extendable
    current.extensions = max(current.extensions, deadline.extensions) + (1 if extended else 0)
    current.synced_at = now
    if moved:
        current.alerted_at = None
    return True
