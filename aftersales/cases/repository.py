"""The cases area's SQL: the open-case key, facts, links, audit, holds and due SLAs.

One open case per store, buyer, order and kind is the database's rule: the
``cases.open_key`` column is unique and holds that tuple while the case is
open (NULL once it is closed). Opening takes a transaction-level lock on
the key first (:func:`~aftersales.store.locking.one_writer`: an advisory
lock on PostgreSQL, the write lock on SQLite), so two processes opening
the same case queue up and the second finds the first's case; the unique
constraint stands behind it should anything bypass the lock.

The SLA tick selects due deadlines by ``next_at`` (indexed) with ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, and handles them in the same
transaction that marks them: a worker killed half-way rolls back and the
rows are due again for the next worker, and a row is never handled twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from aftersales.store.locking import begin_write, one_writer
from aftersales.store.tables.cases import CaseFactRow, CaseLinkRow, CaseRow, CaseSlaRow
from aftersales.store.tables.core import AuditRow
from aftersales.store.tables.followups import ContactHoldRow

__all__ = [
    "ENTITY",
    "add_fact",
    "audit",
    "claim_due_slas",
    "fact_seen",
    "find_open",
    "hold",
    "link",
    "lock_case",
    "lock_open_key",
    "lock_open_keys",
    "open_key",
    "prior_cases",
    "release_hold",
    "repeat_key",
]

#: The audit log's entity name for cases.
ENTITY = "case"
HOLD_KIND = "complaint"


def open_key(store: str, buyer_id: str, order_id: str | None, kind: str) -> str:
    """The natural key of an open case: store, buyer, order and kind."""
    raw = "|".join((store, buyer_id, order_id or "-", kind))
    if len(raw) <= 200:
        return raw
    from aftersales.store.keys import stored_key

    return stored_key(raw)


def repeat_key(store: str, buyer_id: str) -> str:
    """The lock key of one buyer's openings in one store (the repeat-complainant count).

    Shaped as an open key of kind ``*``, which no case has, so it shares their
    lock space (and :func:`lock_open_keys`' order) without meeting one.
    """
    return open_key(store, buyer_id, None, "*")


def lock_open_key(session: Session, key: str) -> None:
    """Serialise openings of one case key until the transaction ends."""
    one_writer(session, "case:" + key)


def lock_open_keys(session: Session, keys: Sequence[str]) -> None:
    """Hold :func:`lock_open_key`'s lock of every key in ``keys`` until the transaction ends.

    PostgreSQL takes them in one statement in hash order, so two openings
    that share keys never deadlock; SQLite takes its write lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        begin_write(session)
        return
    session.execute(text(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT "
        "hashtextextended('case:' || k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS t(k) "
        "ORDER BY h) AS ordered"), {"keys": sorted(set(keys))})


def find_open(session: Session, key: str) -> CaseRow | None:
    """The open case with ``key``, locked for update, or None."""
    return session.scalar(select(CaseRow).where(CaseRow.open_key == key).with_for_update())


def lock_case(session: Session, case_id: int) -> CaseRow | None:
    """The case, locked until the transaction ends (SQLite: the write lock)."""
    begin_write(session)
    return session.scalar(select(CaseRow).where(CaseRow.id == case_id).with_for_update()
                          .execution_options(populate_existing=True))


def fact_seen(session: Session, key: str) -> int | None:
    """The case a fact with ``key`` was already added to, if any."""
    return session.scalar(select(CaseFactRow.case_id).where(CaseFactRow.key == key))


def add_fact(session: Session, case_id: int, *, key: str, source: str, at: datetime,
             data: dict[str, Any]) -> CaseFactRow:
    """Append one fact to a case."""
    row = CaseFactRow(case_id=case_id, key=key, source=source[:80], at=at, data=data)
    session.add(row)
    return row


def link(session: Session, case_id: int, kind: str, ref: str, at: datetime) -> bool:
    """Link the case to a return, refund, parcel, review or follow-up; False if linked."""
    found = session.scalar(select(CaseLinkRow.id).where(
        CaseLinkRow.case_id == case_id, CaseLinkRow.kind == kind, CaseLinkRow.ref == ref))
    if found is not None:
        return False
    session.add(CaseLinkRow(case_id=case_id, kind=kind, ref=ref[:200], created_at=at))
    return True


def case_for_link(session: Session, kind: str, ref: str) -> int | None:
    """The newest case linked to ``kind``/``ref``, if any."""
    return session.scalar(select(CaseLinkRow.case_id).where(
        CaseLinkRow.kind == kind, CaseLinkRow.ref == ref).order_by(CaseLinkRow.id.desc())
        .limit(1))


def audit(session: Session, case_id: int, *, actor: str, at: datetime,
          source: str | None = None, target: str | None = None, reason: str | None = None,
          note: str | None = None, data: dict[str, Any] | None = None) -> None:
    """Write one audit row for the case (a change or a note)."""
    session.add(AuditRow(entity=ENTITY, entity_id=str(case_id), actor=actor[:120], at=at,
                         from_status=source, to_status=target,
                         reason=reason[:200] if reason else None, note=note, data=data))


def history(session: Session, case_id: int) -> list[AuditRow]:
    """The case's audit rows, oldest first."""
    return list(session.scalars(select(AuditRow).where(
        AuditRow.entity == ENTITY, AuditRow.entity_id == str(case_id)).order_by(AuditRow.id)))


def hold(session: Session, buyer_id: str, ref: str, at: datetime) -> None:
    """Open (or reopen) the complaint hold on the buyer's contact, in this transaction."""
    row = session.scalar(select(ContactHoldRow).where(
        ContactHoldRow.buyer_id == buyer_id, ContactHoldRow.kind == HOLD_KIND,
        ContactHoldRow.ref == ref))
    if row is None:
        session.add(ContactHoldRow(buyer_id=buyer_id, kind=HOLD_KIND, ref=ref, opened_at=at))
    elif row.resolved_at is not None:
        row.resolved_at = None
        row.opened_at = at


def release_hold(session: Session, buyer_id: str, ref: str, at: datetime) -> None:
    """Resolve the complaint hold the case opened."""
    row = session.scalar(select(ContactHoldRow).where(
        ContactHoldRow.buyer_id == buyer_id, ContactHoldRow.kind == HOLD_KIND,
        ContactHoldRow.ref == ref, ContactHoldRow.resolved_at.is_(None)))
    if row is not None:
        row.resolved_at = at


def prior_cases(session: Session, store: str, buyer_id: str, since: datetime,
                exclude: int | None = None) -> int:
    """How many cases the buyer opened in this store since ``since`` (repeat complainant)."""
    query = select(func.count()).select_from(CaseRow).where(
        CaseRow.buyer_id == buyer_id, CaseRow.store == store, CaseRow.opened_at >= since)
    if exclude is not None:
        query = query.where(CaseRow.id != exclude)
    return int(session.scalar(query) or 0)


def slas_of(session: Session, case_id: int) -> list[CaseSlaRow]:
    """The case's deadlines."""
    return list(session.scalars(select(CaseSlaRow).where(CaseSlaRow.case_id == case_id)
                                .order_by(CaseSlaRow.id)))


def claim_due_slas(session: Session, now: datetime, limit: int) -> list[CaseSlaRow]:
    """Up to ``limit`` deadlines due at ``now``, locked until this transaction ends.

    PostgreSQL skips rows another worker holds; SQLite takes its write lock
    first, so the read is current and no other writer runs meanwhile.
    """
    begin_write(session)
    ids = list(session.scalars(
        select(CaseSlaRow.id).where(CaseSlaRow.next_at <= now).order_by(CaseSlaRow.next_at)
        .limit(limit).with_for_update(skip_locked=True)))
    if not ids:
        return []
    return list(session.scalars(select(CaseSlaRow).where(CaseSlaRow.id.in_(ids))
                                .order_by(CaseSlaRow.next_at, CaseSlaRow.id)
                                .execution_options(populate_existing=True)))


def lock_cases(session: Session, ids: Sequence[int]) -> dict[int, CaseRow]:
    """Those of the cases no other transaction holds, locked, by id (one query).

    A case a person is changing right now is skipped (``SKIP LOCKED``): its
    deadlines stay due and the next tick takes them, and the tick never
    waits on a case while holding deadline rows (no deadlock).
    """
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(
        select(CaseRow).where(CaseRow.id.in_(list(ids))).order_by(CaseRow.id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True))}


def lookback(now: datetime, days: int) -> datetime:
    """``days`` before ``now``."""
    return now - timedelta(days=days)
