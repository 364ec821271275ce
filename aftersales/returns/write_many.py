"""The set-based form of the transition path: many requests moved with one statement a table.

:meth:`~aftersales.returns.writes.TransitionWriter.move` moves one request
through the ORM: a flush per request, an event-existence query per event.
A bulk file or a page of a sync moves thousands; :func:`write_moves` writes
the same rows for all of them with one ``executemany`` per table: the
requests' status and version (the update checks the version each was read
at, so a racing writer is detected), their audit rows, their outbox events
and their SLA deadlines. What each move writes is built by
:func:`~aftersales.returns.transition.build_transition`, the builder the
single path uses, so the rows are the same (tests compare them).

Values shared by the whole set (the time, each kind's deadline) go through
the column types' converters once; per-row values are plain strings and
numbers, so the statements reach the driver without per-row SQLAlchemy
processing. On SQLite the event payload is built by ``json_object`` in the
database. The rows are written by SQL, not through ORM objects: a caller
holding the same requests as ORM objects in its session expires them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from aftersales.models import ReturnStatus
from aftersales.returns.repository import ENTITY
from aftersales.returns.sla import PlannedDeadline
from aftersales.returns.transition import EVENT_FIELDS, Transition, build_transition
from aftersales.store.driver import Driver
from aftersales.store.tables.core import AuditRow, OutboxRow
from aftersales.store.tables.returns import ReturnDeadlineRow, ReturnRow

if TYPE_CHECKING:
    from aftersales.events import EventBus

__all__ = ["Move", "Planner", "write_moves"]

#: ``planner(kind, status)``: the deadline a request of ``kind`` runs on entering ``status``.
Planner = Callable[[str, ReturnStatus], PlannedDeadline | None]

#: Where the store (marketplace) name sits in an event payload's values.
_STORE = EVENT_FIELDS.index("marketplace")
#: Each status's text, looked up without the enum's descriptor (thousands a call).
_VALUE = {s: s.value for s in ReturnStatus}
_DEADLINE_COLUMNS = ("name", "status", "action", "due_at", "alert_at", "alerted_at",
                     "lease_until", "last_error")


class Move(NamedTuple):
    """One request to move: what it was when read, and where it goes.

    Attributes:
        rma_id, kind, marketplace, order_id, external_id: the request as read
            (``order_id`` is the order's external id).
        source: its status as read.
        version: its version as read; the write checks the row is still at it.
        target: the status it moves to (the caller checked the machine allows it).
        actor, reason, note, data: the audit row's who and why.
        raw_status: the marketplace's own status, stored when given.
    """

    rma_id: str
    kind: str
    marketplace: str
    order_id: str
    external_id: str | None
    source: ReturnStatus
    version: int
    target: ReturnStatus
    actor: str
    reason: str | None = None
    note: str | None = None
    data: dict[str, Any] | None = None
    raw_status: str | None = None


def write_moves(
    session: Session, events: EventBus, moves: Sequence[Move], *, now: datetime,
    planner: Planner,
) -> list[Transition]:
    """Write ``moves`` in the caller's transaction; hooks hear the events after its commit.

    Each request moves at most once per call (give a request's second move
    in a later call). The state machine is not consulted: the caller checks
    (as ``move(check=False)``).

    Returns:
        What each move wrote, in the order of ``moves``.

    Raises:
        StaleDataError: a request is no longer at the version it was read at
            (nothing of the set is written; the caller's transaction rolls back).
    """
    if not moves:
        return []
    db = Driver(session)
    plans: dict[tuple[str, ReturnStatus], PlannedDeadline | None] = {}
    out: list[Transition] = []
    for m in moves:
        plan_key = (m.kind, m.target)
        if plan_key not in plans:
            plans[plan_key] = planner(m.kind, m.target)
        out.append(build_transition(
            rma_id=m.rma_id, kind=m.kind, marketplace=m.marketplace, order_id=m.order_id,
            external_id=m.external_id, source=m.source, target=m.target,
            version=m.version + 1, actor=m.actor, at=now, deadline=plans[plan_key],
            reason=m.reason, note=m.note, data=m.data))
    at = db.value(ReturnRow.__table__.c.updated_at, now)
    _requests(db, moves, out, at)
    _audit(db, out, at)
    _events(session, db, events, out, at)
    _deadlines(db, out)
    return out


def _requests(db: Driver, moves: Sequence[Move], out: list[Transition], at: Any) -> None:
    name = db.table_name(ReturnRow.__table__)
    q = db.mark
    rows = [(_VALUE[t.target], t.version, at, m.raw_status, m.rma_id, m.version)
            for m, t in zip(moves, out, strict=True)]
    changed = db.conn.exec_driver_sql(
        f"UPDATE {name} SET status = {q}, version = {q}, updated_at = {q}, "  # noqa: S608
        f"raw_status = COALESCE({q}, raw_status) WHERE rma_id = {q} AND version = {q}",
        rows).rowcount
    if db.dialect.supports_sane_multi_rowcount and changed != len(rows):
        raise StaleDataError("a request changed since it was read")


def _audit(db: Driver, out: list[Transition], at: Any) -> None:
    data_js = db.converter(AuditRow.__table__.c.data)
    null = data_js(None)  # no data is JSON null, as the ORM writes it
    db.insert(AuditRow.__table__, ("entity", "entity_id", "actor", "at", "from_status",
                                   "to_status", "reason", "note", "data"),
              [(ENTITY, t.rma_id, t.actor, at, _VALUE[t.source], _VALUE[t.target],
                t.reason[:200] if t.reason else None, t.note,
                null if t.data is None else data_js(t.data)) for t in out])


def _events(session: Session, db: Driver, events: EventBus, out: list[Transition],
            at: Any) -> None:
    topics = {t.target: f"return.{_VALUE[t.target]}" for t in out}
    heard = {target: events.listens(topic) for target, topic in topics.items()}
    table = db.table_name(OutboxRow.__table__)
    columns = "key, topic, event_type, aggregate_type, aggregate_id, store, payload, created_at"
    conflict = "ON CONFLICT (key) DO NOTHING"  # an event already recorded is not repeated
    rows: list[tuple[Any, ...]] = []
    if db.dialect.name == "sqlite":
        # SQLite builds the JSON itself (json_object, in C) from plain values.
        pairs = ", ".join(f"'{f}', ?" for f in EVENT_FIELDS)
        sql = (f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names are ours
               f"VALUES (?, 'event', ?, 'return', ?, ?, json_object({pairs}), ?) {conflict}")
        for t in out:  # the key and topic as Transition.event_key and .topic give them
            topic = topics[t.target]
            rows.append((f"{topic}:{t.rma_id}:{t.version}", topic, t.rma_id,
                         t.event_values[_STORE], *t.event_values, at))
    else:
        payload_js = db.converter(OutboxRow.__table__.c.payload)
        q = db.mark
        sql = (f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names are ours
               f"VALUES ({q}, 'event', {q}, 'return', {q}, {q}, {q}, {q}) {conflict}")
        rows = [(t.event_key, t.topic, t.rma_id, t.event_values[_STORE],
                 payload_js(t.payload()), at) for t in out]
    db.conn.exec_driver_sql(sql, rows)
    for t in out:
        if heard[t.target]:  # recorded above; queued for the hooks after commit
            events.emit(session, t.topic, t.payload(), key=t.event_key, outbox=False)


def _deadlines(db: Driver, out: list[Transition]) -> None:
    """Each request's one deadline row replaced by its new status's (cleared for none)."""
    dl = ReturnDeadlineRow.__table__
    values: dict[int, tuple[Any, ...]] = {}

    def of(plan: PlannedDeadline | None) -> tuple[Any, ...]:
        found = values.get(id(plan))
        if found is None:
            found = values[id(plan)] = (None,) * len(_DEADLINE_COLUMNS) if plan is None else (
                plan.name, plan.status.value, plan.action.value,
                db.value(dl.c.due_at, plan.due_at), db.value(dl.c.alert_at, plan.alert_at),
                None, None, None)
        return found

    rows = [(*of(t.deadline), t.rma_id) for t in out]
    updated = db.update(dl, _DEADLINE_COLUMNS, ("rma_id",), rows)
    if updated != len(rows) or not db.dialect.supports_sane_multi_rowcount:
        # Requests that never had a deadline row (made by an older version): add them.
        have = {r[0] for r in db.select_in(dl, ("rma_id",), "rma_id", [t.rma_id for t in out])}
        db.insert(dl, ("rma_id", *_DEADLINE_COLUMNS),
                  [(r[-1], *r[:-1]) for r in rows if r[-1] not in have])
