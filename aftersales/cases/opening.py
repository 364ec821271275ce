"""Opening cases from a batch of events in one transaction, set-based.

The per-case path (:meth:`CasesService.open`) costs some fifteen
statements an opening. Events arrive in pages (a review sync emits a
page's ``review.negative`` events in one commit), so the cases area opens
a page's cases together, in a fixed number of statements whatever the
page's size:

1. lock every open key of the batch and each buyer's repeat key
   (PostgreSQL: one statement taking the same advisory locks as the
   per-case path, in hash order so two batches never deadlock; SQLite: the
   write lock);
2. read which fact keys are already recorded, and which open keys have an
   open case (locked), each in one query;
3. insert the new cases (``RETURNING`` their ids), then their facts, links,
   deadlines, contact holds and audit rows, each as one executemany;
4. bump the cases that gained facts, and write every event with
   :meth:`~aftersales.events.EventBus.emit_many`.

It keeps every guarantee of the per-case path: one open case per store,
buyer, order and kind (the lock, then the unique ``open_key``), a new
trigger appended as a fact to the open case (or to the case opened
earlier in the same batch), the contact hold written in the opening
transaction, and every event once (a fact's key is unique; an event's key
is unique in the outbox). The rare opening that escalates at once goes
through the per-case escalation in the same transaction. The batch is
handled at one instant: the rows it writes are those the per-case path
writes when the clock reads the same for every event (the side-by-side
test in tests/cases/test_open_batch.py checks that).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from aftersales.cases import repository as repo
from aftersales.cases.causes import CRITICAL_CAUSES
from aftersales.cases.states import CaseStatus
from aftersales.cases.triggers import Opening
from aftersales.store.keys import stored_key
from aftersales.store.tables.cases import CaseFactRow, CaseLinkRow, CaseRow, CaseSlaRow
from aftersales.store.tables.core import AuditRow
from aftersales.store.tables.followups import ContactHoldRow

if TYPE_CHECKING:
    from aftersales.cases.policy import CasesPolicy
    from aftersales.runtime import Runtime


class Opener(Protocol):
    """What a batch needs of the cases service: its runtime, policy, deadlines, escalation."""

    runtime: Runtime
    policy: CasesPolicy

    def _deadline(self, row: CaseRow, metric: str, now: datetime) -> CaseSlaRow: ...

    def _escalate(self, session: Session, row: CaseRow, level: int, *, reason: str,
                  now: datetime) -> bool: ...

__all__ = ["lock_open_keys", "open_batch"]

_EventSpec = tuple[str, dict[str, Any], str]


@dataclass
class _Case:
    """What the batch knows of one case it writes to (new or already open)."""

    id: int
    store: str
    buyer_id: str
    order_id: str | None
    kind: str
    priority: str
    status: str
    version: int
    new: bool
    changed: bool = False
    links: set[tuple[str, str]] = field(default_factory=set)


def lock_open_keys(session: Session, keys: Sequence[str]) -> None:
    """Hold the per-case path's lock of every key in ``keys`` until the transaction ends."""
    repo.lock_open_keys(session, keys)


def _payload(case: _Case, extra: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": case.id, "store": case.store, "marketplace": case.store,
            "buyer_id": case.buyer_id, "order_id": case.order_id, "kind": case.kind,
            "priority": case.priority, "status": case.status, "version": case.version,
            **extra}


def _columns(row: CaseSlaRow) -> dict[str, Any]:
    table = cast(Table, CaseSlaRow.__table__)
    return {c.key: getattr(row, c.key) for c in table.columns if c.key != "id"}


def open_batch(svc: Opener, items: Sequence[tuple[Opening, str]]) -> int:
    """Open or add as facts ``(opening, actor)`` pairs in one transaction; returns new facts.

    A fact key seen before (in the store or earlier in ``items``) adds nothing.
    """
    now = svc.runtime.now()
    todo: list[tuple[Opening, str, str]] = []
    firsts: set[str] = set()
    for o, actor in items:
        if o.key not in firsts:
            firsts.add(o.key)
            todo.append((o, actor, repo.open_key(o.store, o.buyer_id, o.order_id, o.kind.value)))
    if not todo:
        return 0
    with svc.runtime.store.session() as session:
        # each buyer's key too: the repeat-complainant count sees every earlier opening
        lock_open_keys(session, [*(k for _, _, k in todo),
                                 *(repo.repeat_key(o.store, o.buyer_id) for o, _, _ in todo)])
        known = set(session.scalars(select(CaseFactRow.key).where(
            CaseFactRow.key.in_([o.key for o, _, _ in todo]))))
        todo = [t for t in todo if t[0].key not in known]
        if not todo:
            return 0
        cases = _open_cases(session, sorted({k for _, _, k in todo}), now)
        fresh = _firsts(todo, cases)
        events: list[_EventSpec] = []
        escalations = _insert_cases(svc, session, fresh, cases, now, events)
        for row, level, reasons in escalations:
            svc._escalate(session, row, level, reason=", ".join(reasons), now=now)
            case = cases[cast(str, row.open_key)]
            case.version = row.version
            case.changed = row.updated_at != now  # a later fact sets it back to now
            session.expunge(row)
        _insert_facts(svc, session, todo, fresh, cases, now, events)
        svc.runtime.events.emit_many(session, events)
    return len(todo)


def _firsts(todo: list[tuple[Opening, str, str]],
            cases: dict[str, _Case]) -> list[tuple[Opening, str, str]]:
    """The openings that open a case: the first of each open key no open case holds."""
    seen: set[str] = set(cases)
    out = []
    for t in todo:
        if t[2] not in seen:
            seen.add(t[2])
            out.append(t)
    return out


def _open_cases(session: Session, keys: list[str], now: datetime) -> dict[str, _Case]:
    """The open cases of ``keys``, locked, by open key (one query)."""
    out: dict[str, _Case] = {}
    for r in session.execute(
            select(CaseRow.id, CaseRow.open_key, CaseRow.store, CaseRow.buyer_id,
                   CaseRow.order_id, CaseRow.kind, CaseRow.priority, CaseRow.status,
                   CaseRow.version, CaseRow.updated_at)
            .where(CaseRow.open_key.in_(keys)).with_for_update()):
        case = _Case(r.id, r.store, r.buyer_id, r.order_id, r.kind, r.priority, r.status,
                     r.version, new=False)
        # the per-case path bumps the version when the fact changes updated_at
        case.changed = r.updated_at != now
        out[cast(str, r.open_key)] = case
    return out


def _insert_cases(svc: Opener, session: Session, fresh: list[tuple[Opening, str, str]],
                  cases: dict[str, _Case], now: datetime,
                  events: list[_EventSpec]) -> list[tuple[CaseRow, int, list[str]]]:
    """Insert the new cases, their deadlines, holds and opening audit rows; queue events."""
    if not fresh:
        return []
    table = cast(Table, CaseRow.__table__)
    rows = [{"store": o.store, "kind": o.kind.value, "channel": o.channel.value,
             "buyer_id": o.buyer_id, "order_id": o.order_id, "priority": o.priority.value,
             "status": CaseStatus.RECEIVED.value, "open_key": k, "subject": o.subject[:300],
             "root_cause": o.cause, "order_total": o.order_total, "currency": o.currency,
             "escalation": 0, "reopened": 0, "opened_at": now, "created_at": now,
             "updated_at": now, "version": 1} for o, _, k in fresh]
    # each new case's open key is its own: it tells the returned ids apart, in any order
    made = {str(k): int(i) for k, i in session.execute(
        insert(table).returning(table.c.open_key, table.c.id), rows)}
    ids = [made[k] for _, _, k in fresh]
    rules = svc.policy.escalation
    prior = _prior_cases(session, fresh, ids, repo.lookback(now, rules.repeat_days))
    slas: list[dict[str, Any]] = []
    templates: dict[tuple[str, str], list[dict[str, Any]]] = {}
    audits: list[dict[str, Any]] = []
    holds: list[str] = []
    escalate: list[tuple[str, int, list[str]]] = []
    earlier: Counter[tuple[str, str]] = Counter()
    for (o, actor, k), case_id in zip(fresh, ids, strict=True):
        case = _Case(case_id, o.store, o.buyer_id, o.order_id, o.kind.value, o.priority.value,
                     CaseStatus.RECEIVED.value, 1, new=True)
        cases[k] = case
        shape = (o.kind.value, o.priority.value)
        if shape not in templates:
            probe = CaseRow(id=0, kind=o.kind.value, priority=o.priority.value)
            templates[shape] = [_columns(svc._deadline(probe, metric, now))
                                for metric in ("first_response", "resolution")]
        slas.extend({**t, "case_id": case_id} for t in templates[shape])
        audits.append({"entity": repo.ENTITY, "entity_id": str(case_id), "actor": actor[:120],
                       "at": now, "from_status": None, "to_status": CaseStatus.RECEIVED.value,
                       "reason": "opened", "note": o.subject or None,
                       "data": {"source": o.source, "kind": o.kind.value,
                                "channel": o.channel.value, "priority": o.priority.value}})
        ref = f"case:{case_id}"
        holds.append(ref)
        events.append(("case.opened", _payload(case, {"source": o.source,
                                                      "channel": o.channel.value}),
                       stored_key(f"case.opened:{case_id}")))
        events.append(("complaint.opened", {"complaint_id": ref, "buyer_id": o.buyer_id,
                                            "store": o.store, "marketplace": o.store,
                                            "order_id": o.order_id, "case_id": case_id},
                       f"complaint.opened:{ref}:0"))
        level, reasons = 0, list[str]()
        if o.cause in CRITICAL_CAUSES:
            level, reasons = max(level, rules.critical_level), [*reasons, "counterfeit or safety"]
        if rules.is_high_value(o.order_total, o.currency):
            level, reasons = max(level, 1), [*reasons, "high-value order"]
        buyer = (o.store, o.buyer_id)
        if prior.get(buyer, 0) + earlier[buyer] >= rules.repeat_cases:
            level, reasons = max(level, 1), [*reasons, "repeat complainant"]
        earlier[buyer] += 1
        if level:
            escalate.append((k, level, reasons))
    session.execute(insert(cast(Table, CaseSlaRow.__table__)), slas)
    session.execute(insert(cast(Table, AuditRow.__table__)), audits)
    _hold(session, fresh, holds, now)
    out = []
    for k, level, reasons in escalate:
        row = session.get(CaseRow, cases[k].id)
        assert row is not None
        out.append((row, level, reasons))
    return out


def _prior_cases(session: Session, fresh: list[tuple[Opening, str, str]], ids: list[int],
                 since: datetime) -> dict[tuple[str, str], int]:
    """Cases each new case's buyer had in its store since ``since``, before this batch."""
    buyers = sorted({o.buyer_id for o, _, _ in fresh})
    counts = session.execute(
        select(CaseRow.store, CaseRow.buyer_id, func.count()).where(
            CaseRow.buyer_id.in_(buyers), CaseRow.opened_at >= since,
            CaseRow.id.not_in(ids)).group_by(CaseRow.store, CaseRow.buyer_id))
    return {(s, b): int(n) for s, b, n in counts}


def _hold(session: Session, fresh: list[tuple[Opening, str, str]], refs: list[str],
          now: datetime) -> None:
    """The complaint contact hold of each new case (reopened if its row exists)."""
    existing = set(session.scalars(select(ContactHoldRow.ref).where(
        ContactHoldRow.kind == repo.HOLD_KIND, ContactHoldRow.ref.in_(refs))))
    rows = [{"buyer_id": o.buyer_id, "kind": repo.HOLD_KIND, "ref": ref, "opened_at": now,
             "resolved_at": None} for (o, _, _), ref in zip(fresh, refs, strict=True)
            if ref not in existing]
    if rows:
        session.execute(insert(cast(Table, ContactHoldRow.__table__)), rows)
    for (o, _, _), ref in zip(fresh, refs, strict=True):
        if ref in existing:
            repo.hold(session, o.buyer_id, ref, now)


def _insert_facts(svc: Opener, session: Session, todo: list[tuple[Opening, str, str]],
                  fresh: list[tuple[Opening, str, str]], cases: dict[str, _Case],
                  now: datetime, events: list[_EventSpec]) -> None:
    """Every opening's fact, its links and, for a fact added to a case, audit and event."""
    opened = {id(t[0]) for t in fresh}
    old = [c.id for c in cases.values() if not c.new]
    refs = sorted({r[:200] for o, _, _ in todo for _, r in o.links})
    if old and refs:
        found = session.execute(select(CaseLinkRow.case_id, CaseLinkRow.kind, CaseLinkRow.ref)
                                .where(CaseLinkRow.case_id.in_(old), CaseLinkRow.ref.in_(refs)))
        by_id = {c.id: c for c in cases.values()}
        for case_id, kind, ref in found:
            by_id[case_id].links.add((kind, ref))
    facts: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    bumped: dict[int, int] = {}
    for o, actor, k in todo:
        case = cases[k]
        facts.append({"case_id": case.id, "key": o.key, "source": o.source[:80], "at": now,
                      "data": {"subject": o.subject, **o.data} if o.subject else dict(o.data)})
        for kind, ref in o.links:
            if (kind, ref[:200]) not in case.links:
                case.links.add((kind, ref[:200]))
                links.append({"case_id": case.id, "kind": kind, "ref": ref[:200],
                              "created_at": now})
        if id(o) in opened:
            continue
        if case.changed:
            case.changed = False
            case.version += 1
            bumped[case.id] = case.version
        audits.append({"entity": repo.ENTITY, "entity_id": str(case.id), "actor": actor[:120],
                       "at": now, "from_status": None, "to_status": None,
                       "reason": "fact added", "note": None,
                       "data": {"source": o.source, "key": o.key}})
        events.append(("case.fact_added", _payload(case, {"source": o.source}),
                       stored_key(f"case.fact_added:{o.key}")))
    session.execute(insert(cast(Table, CaseFactRow.__table__)), facts)
    if links:
        session.execute(insert(cast(Table, CaseLinkRow.__table__)), links)
    if audits:
        session.execute(insert(cast(Table, AuditRow.__table__)), audits)
    if bumped:
        table = cast(Table, CaseRow.__table__)
        session.execute(update(table).where(table.c.id == bindparam("case_id"))
                        .values(updated_at=now, version=bindparam("new_version")),
                        [{"case_id": i, "new_version": v} for i, v in bumped.items()])
