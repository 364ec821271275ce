"""Parcels in the store: what is due for a refresh, and writing trackings back.

Due parcels are claimed in chunks (:func:`claim_due` with ``after`` and
``limit``), locked so that concurrent workers split them. Writes are bulk
statements sent straight to the driver (one UPDATE executemany for the
parcels, one INSERT for new events per batch) so a refresh of thousands of
parcels spends its time waiting on providers, not on the database. Events
are idempotent on ``(shipment_id, fingerprint)``: a re-fetched scan is
never stored twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from aftersales.logistics.detect import number_key
from aftersales.logistics.parcels import PARCEL_STORE, with_owners
from aftersales.logistics.snapshot import Snapshot, fingerprint
from aftersales.models import ParcelIssue, ParcelStatus, Tracking, TrackingEvent
from aftersales.store.driver import IN_CHUNK, Driver
from aftersales.store.locking import begin_write
from aftersales.store.tables.core import ShipmentRow, TrackingEventRow
from aftersales.store.types import UTCDateTime

__all__ = [
    "Change",
    "ParcelRef",
    "ParcelRow",
    "apply_trackings",
    "claim_due",
    "count_due",
    "fingerprint",
    "parcel_stores",
    "parcels_by_number",
    "problem_parcels",
    "release",
    "select_due",
    "stored_tracking",
]

_STATUS = {s.value: s for s in ParcelStatus}
_ISSUE = {i.value: i for i in ParcelIssue}
_SHIP = cast(Table, ShipmentRow.__table__)
_EVENTS = cast(Table, TrackingEventRow.__table__)
_CHECKED = (
    _SHIP.update()
    .where(_SHIP.c.id == bindparam("b_id"))
    .values(last_checked_at=bindparam("b_checked", type_=UTCDateTime()))
)


#: The stored facts about one parcel that a refresh needs, as a plain tuple:
#: ``(id, number, carrier, status, issue, last_event_at, shipped_at,
#: direction, order_id, rma_id, last_checked_at)``, statuses as their stored
#: strings. What :func:`claim_due` returns: a refresh holds thousands from
#: claim to write, and exact tuples of plain values are invisible to Python's
#: cycle collector (see :mod:`aftersales.logistics.snapshot`), where named
#: ones are not. ``ParcelRef(*row)`` gives the fields names.
ParcelRow = tuple[
    int, str, str | None, str, str | None, datetime | None, datetime | None, str,
    int | None, str | None, datetime | None,
]


class ParcelRef(NamedTuple):
    """The stored facts about one parcel, by name (a :data:`ParcelRow` with names).

    A named tuple built straight from a row's columns (statuses kept as
    their stored strings): per-field conversion was most of a read's time.
    :attr:`status` and :attr:`issue` give the enums.
    """

    id: int
    number: str
    carrier: str | None
    status_value: str
    issue_value: str | None
    last_event_at: datetime | None
    shipped_at: datetime | None
    direction: str
    order_id: int | None
    rma_id: str | None
    last_checked_at: datetime | None = None

    @property
    def status(self) -> ParcelStatus:
        """The stored canonical status."""
        return _STATUS[self.status_value]

    @property
    def issue(self) -> ParcelIssue | None:
        """Why the parcel is in trouble, when it is."""
        return _ISSUE[self.issue_value] if self.issue_value else None

    @property
    def terminal(self) -> bool:
        """True when no further event is expected."""
        return self.status.is_terminal


@dataclass(frozen=True, slots=True)
class Change:
    """A parcel whose status moved, for events and for the returns area."""

    parcel: ParcelRef
    status: ParcelStatus
    issue: ParcelIssue | None
    last_event_at: datetime | None
    delivered_at: datetime | None


_COLUMNS = (
    ShipmentRow.id,
    ShipmentRow.tracking_number,
    ShipmentRow.carrier,
    ShipmentRow.status,
    ShipmentRow.issue,
    ShipmentRow.last_event_at,
    ShipmentRow.shipped_at,
    ShipmentRow.direction,
    ShipmentRow.order_id,
    ShipmentRow.rma_id,
    ShipmentRow.last_checked_at,
)


#: The columns of a :data:`ParcelRow`, in order (the same as ``_COLUMNS``).
_ROW_COLUMNS = tuple(str(c.name) for c in _COLUMNS)


def _refs(rows: Iterable[Any]) -> list[ParcelRef]:
    # Positional: a refresh reads every due parcel, and Row attribute access
    # per column was most of the claim's time.
    return [ParcelRef(*row) for row in rows]


def _due(now: datetime, ttl: timedelta) -> Any:
    stale = now - ttl
    return (
        select(*_COLUMNS)
        .where(ShipmentRow.terminal.is_(False))
        .where(or_(ShipmentRow.last_checked_at.is_(None), ShipmentRow.last_checked_at <= stale))
    )


def select_due(
    session: Session, *, now: datetime, ttl: timedelta, limit: int | None = None
) -> list[ParcelRef]:
    """Open parcels not checked within ``ttl``: not terminal, oldest check first."""
    query = _due(now, ttl).order_by(
        ShipmentRow.last_checked_at.is_not(None), ShipmentRow.last_checked_at, ShipmentRow.id
    )
    return _refs(session.execute(query.limit(limit)))


def claim_due(
    session: Session,
    *,
    now: datetime,
    ttl: timedelta,
    after: int = 0,
    limit: int | None = None,
) -> list[ParcelRow]:
    """Select the due parcels and mark them checked now, so no other worker takes them.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``: two
    workers refreshing at once split the parcels instead of both asking the
    providers. The check time doubles as the lease: a worker that dies
    leaves its parcels due again one TTL later. On SQLite the claim takes the
    database's write lock before it reads (:func:`~aftersales.store.locking.begin_write`),
    so two workers on one file never claim the same parcels. Call :func:`release` for
    parcels that could not be tracked, so the next refresh retries them.

    Args:
        after: only parcels with a greater id (the last id of the previous
            chunk, when claiming in chunks).
        limit: claim at most this many, lowest ids first.
    """
    begin_write(session)  # SQLite: another worker's claim cannot slip in between
    # Straight to the driver: a refresh claims a chunk every few calls, and
    # building the statement through SQLAlchemy cost more than running it.
    # The rule is _due's; a test checks the two select the same parcels.
    db = Driver(session)
    q, mark = db.quote, db.mark
    checked = q("last_checked_at")
    sql = (
        f"SELECT {', '.join(q(c) for c in _ROW_COLUMNS)} "  # noqa: S608 - names from metadata
        f"FROM {db.table_name(_SHIP)} WHERE {q('terminal')} = {mark} "
        f"AND ({checked} IS NULL OR {checked} <= {mark}) AND {q('id')} > {mark} "
        f"ORDER BY {q('id')}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if db.dialect.name == "postgresql":
        sql += " FOR UPDATE SKIP LOCKED"
    at = db.converter(_SHIP.c.last_checked_at)
    raw = db.fetch(sql, (db.value(_SHIP.c.terminal, False), at(now - ttl), after))
    time = db.reader(_SHIP.c.last_checked_at)  # every time column has the same type
    rows: list[ParcelRow] = [
        (*row[:5], time(row[5]), time(row[6]), *row[7:10], time(row[10])) for row in raw
    ]
    checked_now = at(now)
    db.update(_SHIP, ("last_checked_at",), ("id",), [(checked_now, row[0]) for row in rows])
    return rows


def count_due(session: Session, *, now: datetime, ttl: timedelta) -> int:
    """How many parcels are due now (for a progress bar's total)."""
    query = _due(now, ttl).with_only_columns(func.count())
    return int(session.execute(query).scalar_one())


def release(session: Session, rows: Iterable[ParcelRow]) -> None:
    """Give claimed parcels their previous check time back (they stay due)."""
    params = [{"b_id": row[0], "b_checked": row[10]} for row in rows]
    if params:
        session.execute(_CHECKED, params)


def parcels_by_number(session: Session, *numbers: str) -> list[ParcelRef]:
    """Every stored parcel whose number folds as one of these does (``"SF12345678"``
    finds the parcel a shop stored as ``"sf 1234-5678"``; see
    :func:`~aftersales.logistics.detect.number_key`). A number that folds to no
    tracking number finds nothing."""
    keys = {key for key in map(number_key, numbers) if key is not None}
    if not keys:
        return []
    query = select(*_COLUMNS).where(ShipmentRow.tracking_key.in_(keys)).order_by(ShipmentRow.id)
    return _refs(session.execute(query))


def problem_parcels(session: Session) -> list[ParcelRef]:
    """Candidates for anomalies: every parcel not delivered or expired."""
    done = (ParcelStatus.DELIVERED.value, ParcelStatus.EXPIRED.value)
    query = select(*_COLUMNS).where(ShipmentRow.status.not_in(done)).order_by(ShipmentRow.id)
    return _refs(session.execute(query))


def _known_fingerprints(db: Driver, ids: Sequence[int]) -> set[tuple[int, str]]:
    # The driver's rows are (int, str) tuples already: a set of them as they come.
    return set(db.select_in(_EVENTS, ("shipment_id", "fingerprint"), "shipment_id", ids))


def _current(db: Driver, ids: Sequence[int]) -> dict[int, tuple[ParcelRow, tuple[Any, ...]]]:
    """Each parcel as stored now, locked until the transaction ends (rows ``FOR UPDATE``
    on PostgreSQL; SQLite's write lock is taken by the caller): its
    :data:`ParcelRow` and ``(delivered_at, raw_status, provider)``.

    A refresh claimed its rows earlier and a push read its own in another
    transaction: either may be stale by the time the answer is written (a
    poll and a push, or two pushes, for one parcel at once). Read again
    under the lock, the write builds on what the store holds; the second
    of two writers waits for the first and sees its scans and its status.
    """
    names = ", ".join(db.quote(c) for c in (*_ROW_COLUMNS, *_KEPT))
    lock = " FOR UPDATE" if db.dialect.name == "postgresql" else ""
    time = db.reader(_SHIP.c.last_checked_at)  # every time column has the same type
    found: dict[int, tuple[ParcelRow, tuple[Any, ...]]] = {}
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start:start + IN_CHUNK]
        marks = ", ".join([db.mark] * len(chunk))
        # In id order, so two writers locking overlapping parcels cannot deadlock.
        raw = db.fetch(
            f"SELECT {names} FROM {db.table_name(_SHIP)} "  # noqa: S608 - names from metadata
            f"WHERE {db.quote('id')} IN ({marks}) ORDER BY {db.quote('id')}{lock}", chunk)
        for r in raw:
            row: ParcelRow = (*r[:5], time(r[5]), time(r[6]), *r[7:10], time(r[10]))
            found[row[0]] = (row, (time(r[11]), r[12], r[13]))
    return found


#: How far ahead of the clock a scan may be (as :func:`~aftersales.logistics.tracking.scan_time`).
_AHEAD = timedelta(days=1)
#: What a parcel keeps besides its :data:`ParcelRow` when an answer cannot move it.
_KEPT = ("delivered_at", "raw_status", "provider")
_UPDATED = ("carrier", "status", "issue", "raw_status", "provider", "terminal", "last_event_at",
            "delivered_at", "last_checked_at", "updated_at")
_EVENT_COLUMNS = ("shipment_id", "fingerprint", "occurred_at", "status", "description",
                  "location", "raw_code", "time_inferred")


def apply_trackings(
    session: Session, pairs: Iterable[tuple[ParcelRow, Snapshot]], *, now: datetime
) -> list[Change]:
    """Write fresh trackings onto their parcels and store their new events.

    A parcel never moves back: an answer that is not final and whose newest
    scan is older than the parcel's (a push delayed in the provider's queue,
    a poll racing a push),
    or a "pending, no events" answer for a parcel already known further
    along, leaves its status, issue and delivery time as they are (its
    unseen scans are still stored); a delivered, returned or expired parcel
    takes nothing from an answer that is not final, nor from one at its own
    final status (the carrier may have reused the number for a new parcel:
    its scans are not this parcel's). A parcel with nothing new
    only gets its check time recorded (the common case of a periodic
    refresh). A scan more than a day ahead of ``now`` is not stored.

    The parcels are read again and locked inside this transaction
    (:func:`_current`), so what the caller read earlier only says which
    parcels to write: two writers for one parcel (two pushes, a push and a
    refresh, on one host or two) store each scan and report each change once.
    The rows go to the driver as plain tuples (:class:`~aftersales.store.driver.Driver`):
    a refresh writes tens of thousands of events, and per-row statement
    building would cost more than the database's own work.

    Args:
        pairs: each parcel (a :data:`ParcelRow`, or a :class:`ParcelRef`;
            only its id is read) with its fresh tracking, as a
            :func:`~aftersales.logistics.snapshot.snapshot`. A parcel named
            twice takes its answers in the given order.

    Returns:
        The parcels whose status changed.
    """
    pairs = list(pairs)
    if not pairs:
        return []
    begin_write(session)  # SQLite: the database's single write lock, before the reads
    db = Driver(session)
    current = _current(db, sorted({row[0] for row, _ in pairs}))
    at = db.converter(_SHIP.c.last_event_at)
    flag = db.converter(_SHIP.c.terminal)
    inferred = db.converter(_EVENTS.c.time_inferred)
    checked_at = at(now)
    horizon = now + _AHEAD
    # A parcel that never had an event has none stored: no need to look.
    seen_before = sorted(parcel for parcel, (row, _) in current.items() if row[5] is not None)
    known = _known_fingerprints(db, seen_before)
    updates: dict[int, tuple[Any, ...]] = {}
    checked: dict[int, tuple[Any, ...]] = {}
    new_events: list[tuple[Any, ...]] = []
    changes: list[Change] = []
    pending = ParcelStatus.PENDING.value
    for asked, snap in pairs:
        if asked[0] not in current:
            continue  # deleted meanwhile
        row, kept = current[asked[0]]
        parcel, _, stored_carrier, stored_status, stored_issue, stored_last, *_ = row
        fresh_carrier, fresh_status, fresh_issue, raw, provider, delivered, latest, scans = snap
        stored_canonical = _STATUS[stored_status]
        closed = stored_canonical.is_terminal and (
            fresh_status == stored_status or not _STATUS[fresh_status].is_terminal)
        if closed:
            scans = ()  # scans of a reused number, or re-sent ones: not this parcel's news
        elif scans and scans[-1][1] > horizon:
            # No scan happens after now: one more than a day ahead (a typo'd year, a
            # day and month swapped) is dropped, or it would stand as the parcel's
            # newest and make every true answer look older.
            scans = tuple(scan for scan in scans if scan[1] <= horizon)
            latest = scans[-1][1] if scans else None
        # A final answer is news whatever its times say: a scan whose local time
        # one provider read in the wrong zone may sit hours ahead of the rest.
        older = (latest is not None and stored_last is not None and latest < stored_last
                 and not _STATUS[fresh_status].is_terminal)
        if closed or older or (fresh_status == pending and not scans):
            status, issue = stored_status, stored_issue
            delivered, raw, provider = kept
        else:
            status, issue = fresh_status, fresh_issue
        added = len(new_events)
        for mark, when, kind, description, location, raw_code, guessed in scans:
            if (parcel, mark) not in known:
                known.add((parcel, mark))
                # A provider's text is cut to its column (location 200, raw_code 40):
                # PostgreSQL refuses a longer one, failing the whole batch's write.
                new_events.append((parcel, mark, at(when), kind, description,
                                   location[:200] if location else location,
                                   raw_code[:40] if raw_code else raw_code, inferred(guessed)))
        carrier = (fresh_carrier[:40] if fresh_carrier else None) or stored_carrier
        if len(new_events) == added and (status, issue, carrier) == (
            stored_status, stored_issue, stored_carrier
        ):
            if parcel not in updates:
                checked[parcel] = (checked_at, parcel)
            continue
        last = max(stored_last, latest) if stored_last and latest else stored_last or latest
        canonical = _STATUS[status]
        raw = (raw or "")[:80] or None
        checked.pop(parcel, None)
        updates[parcel] = (
            carrier,
            status,
            issue,
            raw,
            provider,
            flag(canonical.is_terminal),
            at(last),
            at(delivered),
            checked_at,
            checked_at,
            parcel,
        )
        if status != stored_status or (issue != stored_issue
                                       and canonical is ParcelStatus.EXCEPTION):
            changes.append(Change(ParcelRef(*row), canonical, _ISSUE[issue] if issue else None,
                                  last, delivered))
        # A later answer for the same parcel in this batch builds on this one.
        current[parcel] = ((*row[:2], carrier, status, issue, last, *row[6:10], checked_at),
                           (delivered, raw, provider))
    db.update(_SHIP, _UPDATED, ("id",), list(updates.values()), bump="version")
    db.update(_SHIP, ("last_checked_at",), ("id",), list(checked.values()))
    db.insert(_EVENTS, _EVENT_COLUMNS, new_events)
    return changes


def parcel_stores(session: Session, changes: Sequence[Change]) -> dict[int, str]:
    """The store of each changed parcel (see :data:`~aftersales.logistics.parcels.PARCEL_STORE`),
    in one query.

    A parcel with no store of its own and linked to neither has none and is
    absent from the result.
    """
    ids = [c.parcel.id for c in changes]
    if not ids:
        return {}
    found = session.execute(
        with_owners(select(ShipmentRow.id, PARCEL_STORE)).where(ShipmentRow.id.in_(ids)))
    return {shipment: store for shipment, store in found if store is not None}


def stored_tracking(session: Session, refs: Sequence[ParcelRef]) -> Tracking | None:
    """The last stored tracking of one of these parcels (those of a number and its
    carrier), events included: the first open one's, else the newest one's (a carrier
    may have reused the number since). ``None`` without parcels.

    The caller picks the parcels: a number may be two carriers' (digits-only
    waybills), and the answer for one is never the other's parcel."""
    if not refs:
        return None
    live = [ref for ref in refs if not ref.terminal]
    row = session.get(ShipmentRow, live[0].id if live else refs[-1].id)
    assert row is not None
    events = session.scalars(
        select(TrackingEventRow)
        .where(and_(TrackingEventRow.shipment_id == row.id))
        .order_by(TrackingEventRow.occurred_at, TrackingEventRow.id)
    )
    return Tracking(
        carrier=row.carrier,
        number=row.tracking_number,
        status=ParcelStatus(row.status),
        issue=ParcelIssue(row.issue) if row.issue else None,
        events=[
            TrackingEvent(
                time=e.occurred_at,
                status=ParcelStatus(e.status),
                description=e.description,
                location=e.location,
                raw_code=e.raw_code,
                time_inferred=e.time_inferred,
            )
            for e in events
        ],
        delivered_at=row.delivered_at,
        provider=row.provider,
        raw_status=row.raw_status,
    )
