"""The set-based path for runs of approvals in a bulk file.

An approval is the commonest bulk action and the one a shop runs by the
hundred thousand. Instead of one ORM unit of work per row, a run of them is
read with one query and written with one ``executemany`` per table: the
request's status and version (checked, so a racing writer is detected), its
audit row, its outbox event, its SLA deadline and the row's bulk key. What
each row says is built by :func:`~aftersales.returns.transition.build_transition`,
the same function the single path uses, so the rows are the same. Values
shared by the whole run (the time, the deadline) go through the column
types' own converters once; per-row values are plain strings and numbers,
so the statements go to the driver without per-row SQLAlchemy processing.
The effect is the same as :meth:`ReturnsService.approve` row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from aftersales.models import ReturnKind, ReturnStatus
from aftersales.returns.repository import ENTITY
from aftersales.returns.sla import PlannedDeadline
from aftersales.returns.transition import EVENT_FIELDS, build_transition
from aftersales.store.driver import Driver
from aftersales.store.tables.core import AuditRow, OutboxRow
from aftersales.store.tables.returns import BulkKeyRow, ReturnDeadlineRow, ReturnRow

__all__ = ["Approval", "applied_keys", "read_requests", "write_approvals"]

#: Where the store (marketplace) name sits in an event payload's values.
_STORE = EVENT_FIELDS.index("marketplace")

#: The request columns an approval needs, in the order :func:`read_requests` gives them.
REQUEST_COLUMNS = ("rma_id", "status", "kind", "version", "marketplace", "external_id",
                   "eligibility", "order_external_id")


def applied_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these bulk row keys were applied by an earlier run (one query)."""
    db = Driver(session)
    return {r[0] for r in db.select_in(BulkKeyRow.__table__, ("key",), "key",
                                       list(dict.fromkeys(keys)))}


def read_requests(session: Session, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The requests of a run, one query, keyed by rma id (columns of REQUEST_COLUMNS)."""
    db = Driver(session)
    return {r[0]: r for r in db.select_in(ReturnRow.__table__, REQUEST_COLUMNS, "rma_id",
                                          list(dict.fromkeys(ids)))}


class Approval(NamedTuple):
    """One approval to write: the request as read, and the bulk row that asked."""

    rma_id: str
    version: int  # as read; the update checks it
    status: str  # as read
    kind: str
    marketplace: str
    order_id: str
    external_id: str | None
    note: str | None
    key: str


def write_approvals(
    session: Session, approvals: list[Approval], *, actor: str, now: datetime,
    plans: dict[str, PlannedDeadline | None], hooks: bool = True,
) -> list[tuple[str, dict[str, Any], str]]:
    """Write a run of approvals; returns ``(topic, payload, key)`` per event for the hooks.

    Args:
        plans: the buyer-shipment deadline per kind (``None``: no deadline).
        hooks: build the events for in-process hooks (``False``: nobody
            listens, so only the outbox rows are written and ``[]`` returned).

    Raises:
        StaleDataError: a request changed since it was read (the caller
            redoes the batch row by row).
    """
    if not approvals:
        return []
    db = Driver(session)
    req, aud, out = ReturnRow.__table__, AuditRow.__table__, OutboxRow.__table__
    keys = BulkKeyRow.__table__
    at = db.value(req.c.updated_at, now)

    payload_js = db.converter(out.c.payload)

    approved_status = ReturnStatus.APPROVED
    moves = [
        build_transition(
            rma_id=a.rma_id, kind=a.kind, marketplace=a.marketplace, order_id=a.order_id,
            external_id=a.external_id, source=ReturnStatus(a.status), target=approved_status,
            version=a.version + 1, actor=actor, at=now, deadline=plans.get(a.kind), note=a.note,
        )
        for a in approvals
    ]
    changed = db.update(req, ("status", "version", "updated_at"), ("rma_id", "version"),
                        [(m.target.value, m.version, at, m.rma_id, m.version - 1)
                         for m in moves])
    if db.dialect.supports_sane_multi_rowcount and changed != len(approvals):
        raise StaleDataError("a request changed during the bulk run")
    db.insert(aud, ("entity", "entity_id", "actor", "at", "from_status", "to_status", "reason",
                    "note"),
              [(ENTITY, m.rma_id, m.actor, at, m.source.value, m.target.value,
                m.reason[:200] if m.reason else None, m.note) for m in moves])
    events: list[tuple[str, dict[str, Any], str]] = []
    if db.dialect.name == "sqlite":
        # SQLite builds the JSON itself (json_object, in C) from plain values.
        pairs = ", ".join(f"'{f}', ?" for f in EVENT_FIELDS)
        sql = (f"INSERT INTO {db.quote(OutboxRow.__tablename__)} (key, topic, event_type, "  # noqa: S608
               "aggregate_type, aggregate_id, store, payload, created_at) "
               f"VALUES (?, 'event', ?, 'return', ?, ?, json_object({pairs}), ?)")  # names ours
        rows = []
        for m in moves:
            if hooks:
                events.append((m.topic, m.payload(), m.event_key))
            rows.append((m.event_key, m.topic, m.rma_id, m.event_values[_STORE],
                         *m.event_values, at))
        db.conn.exec_driver_sql(sql, rows)
    else:
        outbox = []
        for m in moves:
            payload = m.payload()
            events.append((m.topic, payload, m.event_key))
            outbox.append((m.event_key, "event", m.topic, "return", m.rma_id,
                           m.event_values[_STORE], payload_js(payload), at))
        db.insert(out, ("key", "topic", "event_type", "aggregate_type", "aggregate_id", "store",
                        "payload", "created_at"), outbox)
    _deadlines(session, db, approvals, plans)
    db.insert(keys, ("key", "action", "rma_id", "applied_at"),
              [(a.key, "approve", a.rma_id, at) for a in approvals])
    return events


def _deadlines(session: Session, db: Driver, approvals: list[Approval],
               plans: dict[str, PlannedDeadline | None]) -> None:
    dl = ReturnDeadlineRow.__table__
    cols = ("name", "status", "action", "due_at", "alert_at", "alerted_at", "lease_until",
            "last_error")

    def values(kind: str) -> tuple[Any, ...]:
        p = plans.get(ReturnKind(kind).value)
        if p is None:
            return (None,) * len(cols)
        return (p.name, p.status.value, p.action.value, db.value(dl.c.due_at, p.due_at),
                db.value(dl.c.alert_at, p.alert_at), None, None, None)

    by_kind = {k: values(k) for k in {a.kind for a in approvals}}
    updated = db.update(dl, cols, ("rma_id",),
                        [(*by_kind[a.kind], a.rma_id) for a in approvals])
    if updated != len(approvals) or not db.dialect.supports_sane_multi_rowcount:
        # Requests that never had a deadline row (made by an older version): add them.
        have = {r[0] for r in db.select_in(dl, ("rma_id",), "rma_id",
                                           [a.rma_id for a in approvals])}
        db.insert(dl, ("rma_id", *cols),
                  [(a.rma_id, *by_kind[a.kind]) for a in approvals if a.rma_id not in have])
