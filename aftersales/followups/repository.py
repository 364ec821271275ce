"""The follow-ups area's SQL: claiming due rows, leases, and the contact policy's inputs.

Claiming is the one place concurrency matters. On PostgreSQL, due rows are
selected ``FOR UPDATE SKIP LOCKED``, so any number of workers on any number
of hosts each take a disjoint batch without waiting on each other. On SQLite
a read does not open a write transaction, so every unit of work here that
reads and then writes first takes the database's single write lock
(:func:`begin_write`): one writer at a time, and its reads see the latest
commit. The claim's UPDATE also re-checks that each row is still claimable,
and only rows that now carry this worker's lease are returned. Either way a
claim sets a lease
(``lease_owner``, ``lease_until``): a worker that dies leaves rows whose
lease simply runs out, and the next claim takes them back.

Both claim queries walk an index whose leading column is ``status``
(``(status, due_at)`` and ``(status, lease_until)``), so a tick reads the
rows that are due, however many more are scheduled for later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, text, update
from sqlalchemy.orm import Session

from aftersales.followups.contact_policy import Contact, HoldKind, MessageKind
from aftersales.followups.decide import BuyerFacts
from aftersales.models import FollowUpStatus
from aftersales.store.locking import begin_write, one_writer
from aftersales.store.tables.followups import (
    ChannelHealthRow,
    ContactHoldRow,
    ContactLogRow,
    FollowUpRow,
    OptOutRow,
)
from aftersales.store.types import UTCDateTime

__all__ = [
    "BuyerKey",
    "begin_write",
    "channel_failed",
    "channel_recovered",
    "claim_due",
    "contact_history",
    "failing_channels",
    "holds_opened_since",
    "load_facts",
    "lock_buyer",
    "lock_buyers",
    "open_holds",
    "opted_out",
    "owned_ids",
    "postpone_channel",
    "release",
]

SCHEDULED = FollowUpStatus.SCHEDULED.value
CLAIMED = FollowUpStatus.CLAIMED.value


def _claimable(now: datetime) -> Any:
    return or_(
        and_(FollowUpRow.status == SCHEDULED, FollowUpRow.due_at <= now),
        and_(FollowUpRow.status == CLAIMED, FollowUpRow.lease_until <= now),
    )


def claim_due(
    session: Session, *, owner: str, now: datetime, until: datetime, limit: int
) -> list[FollowUpRow]:
    """Take up to ``limit`` due rows (and rows whose lease ran out) under a lease.

    Returns the claimed rows, oldest due first, with ``attempts`` counted up.
    """
    begin_write(session)
    due = (
        select(FollowUpRow.id)
        .where(FollowUpRow.status == SCHEDULED, FollowUpRow.due_at <= now)
        .order_by(FollowUpRow.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if len(ids) < limit:
        expired = (
            select(FollowUpRow.id)
            .where(FollowUpRow.status == CLAIMED, FollowUpRow.lease_until <= now)
            .order_by(FollowUpRow.lease_until)
            .limit(limit - len(ids))
            .with_for_update(skip_locked=True)
        )
        ids.extend(session.scalars(expired))
    if not ids:
        return []
    session.execute(
        update(FollowUpRow)
        .where(FollowUpRow.id.in_(ids), _claimable(now))
        .values(
            status=CLAIMED,
            lease_owner=owner,
            lease_until=until,
            attempts=FollowUpRow.attempts + 1,
            version=FollowUpRow.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    rows = list(
        session.scalars(
            select(FollowUpRow)
            .where(FollowUpRow.id.in_(ids), FollowUpRow.status == CLAIMED,
                   FollowUpRow.lease_owner == owner, FollowUpRow.lease_until == until)
            .order_by(FollowUpRow.due_at, FollowUpRow.id)
            .execution_options(populate_existing=True)
        )
    )
    for row in rows:
        session.expunge(row)
    return rows


def release(session: Session, ids: Sequence[int], *, owner: str, now: datetime) -> int:
    """Put claimed rows back in the pool untouched (a worker stopping); returns how many."""
    if not ids:
        return 0
    result = session.execute(
        update(FollowUpRow)
        .where(FollowUpRow.id.in_(ids), FollowUpRow.lease_owner == owner,
               FollowUpRow.status == CLAIMED)
        .values(status=SCHEDULED, lease_owner=None, lease_until=None,
                attempts=FollowUpRow.attempts - 1, version=FollowUpRow.version + 1,
                updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


#: How many due times a kept queue is spread over (by follow-up id).
SPREAD_SLOTS = 64


def postpone_channel(session: Session, *, channel: str, marketplace: str | None,
                     owner: str, until: datetime, now: datetime, reason: str,
                     spread: timedelta = timedelta(0)) -> int:
    """Move a channel's due queue to ``until`` and after (the channel failed as a whole).

    Every scheduled follow-up of ``channel`` (of ``marketplace``'s store,
    when given) due before ``until`` is due again between ``until`` and
    ``until + spread``, and those ``owner`` holds claimed go back to the
    pool with it, their claim not counted as an attempt, each with
    ``reason`` as its last error: one statement, so a queue of thousands
    costs one write, not one failed send each.

    The queue is spread so that a channel coming back is not sent its whole
    backlog at once: each follow-up gets one of :data:`SPREAD_SLOTS` evenly
    spaced times by its id (the same follow-up always the same slot), so
    the backlog arrives in slices of about 1/64 across ``spread``.
    """
    mine = and_(FollowUpRow.status == CLAIMED, FollowUpRow.lease_owner == owner)
    due: Any = literal(until, UTCDateTime())
    if spread > timedelta(0):
        step = spread / SPREAD_SLOTS
        due = case({slot: literal(until + step * slot, UTCDateTime())
                    for slot in range(SPREAD_SLOTS)},
                   value=FollowUpRow.id % SPREAD_SLOTS, else_=due)
    query = (update(FollowUpRow)
             .where(FollowUpRow.channel == channel, FollowUpRow.due_at < until,
                    or_(FollowUpRow.status == SCHEDULED, mine))
             .values(status=SCHEDULED, due_at=due, lease_owner=None, lease_until=None,
                     last_error=reason,
                     attempts=case((mine, FollowUpRow.attempts - 1),
                                   else_=FollowUpRow.attempts),
                     version=FollowUpRow.version + 1, updated_at=now)
             .execution_options(synchronize_session=False))
    if marketplace is not None:
        query = query.where(FollowUpRow.marketplace == marketplace)
    return int(getattr(session.execute(query), "rowcount", 0) or 0)


def channel_failed(session: Session, channel: str, *, now: datetime,
                   retry_for: Callable[[int], datetime]) -> tuple[int, datetime]:
    """Count a whole-channel failure; returns the failures in a row and the next try's time.

    One try a wait counts: a failure met before the stored ``retry_at``
    (another worker met the same outage first, or claimed its rows before
    the queue moved) is the same one, and gets the same count and time.
    Otherwise the count goes up by one and ``retry_for(count)`` is the next
    try. Workers failing at once take turns on the channel's row.
    """
    name = channel[:200]
    one_writer(session, f"channel_health:{name}")
    row = session.get(ChannelHealthRow, name, populate_existing=True)
    if row is not None and row.retry_at > now:
        return row.failures, row.retry_at
    count = (row.failures if row is not None else 0) + 1
    until = retry_for(count)
    if row is None:
        session.add(ChannelHealthRow(channel=name, failures=count, retry_at=until,
                                     updated_at=now))
    else:
        row.failures, row.retry_at, row.updated_at = count, until, now
    session.flush()
    return count, until


def failing_channels(session: Session) -> dict[str, int]:
    """The channels that have failed as a whole and not yet sent since: name -> failures."""
    rows = session.execute(select(ChannelHealthRow.channel, ChannelHealthRow.failures))
    return {str(name): int(failures) for name, failures in rows}


def channel_recovered(session: Session, channel: str) -> None:
    """Forget a channel's failures: a send through it went through."""
    session.execute(delete(ChannelHealthRow).where(ChannelHealthRow.channel == channel[:200]))


def still_owned(session: Session, row_id: int, *, owner: str,
                until: datetime | None = None) -> bool:
    """Re-assert the lease on one row inside the caller's transaction.

    The update takes the row's lock on PostgreSQL until commit, so a worker
    that found the lease expired cannot take the row meanwhile. ``until``
    renews the lease (before a slow send).
    """
    values: dict[str, Any] = {"version": FollowUpRow.version + 1}
    if until is not None:
        values["lease_until"] = until
    result = session.execute(
        update(FollowUpRow)
        .where(FollowUpRow.id == row_id, FollowUpRow.status == CLAIMED,
               FollowUpRow.lease_owner == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def lock_buyer(session: Session, buyer_id: str) -> None:
    """Serialise contact decisions for one buyer until the transaction ends.

    PostgreSQL takes a transaction-level advisory lock on the buyer; SQLite
    takes its single write lock (:func:`begin_write`).
    """
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:b, 0))"),
                        {"b": buyer_id})


def contact_history(session: Session, buyer_id: str, since: datetime,
                    store: str | None = None) -> list[Contact]:
    """The buyer's contacts after ``since``, from every plan, area and channel.

    With ``store``, only those made for that store or for no store in particular.
    """
    query = (select(ContactLogRow.sent_at, ContactLogRow.kind, ContactLogRow.channel,
                    ContactLogRow.source)
             .where(ContactLogRow.buyer_id == buyer_id, ContactLogRow.sent_at > since))
    if store is not None:
        query = query.where(or_(ContactLogRow.store == store, ContactLogRow.store.is_(None)))
    rows = session.execute(query)
    return [Contact(r.sent_at, MessageKind(r.kind), r.channel, r.source) for r in rows]


def open_holds(session: Session, buyer_id: str) -> set[HoldKind]:
    """The kinds of the buyer's unresolved matters."""
    kinds = session.scalars(
        select(ContactHoldRow.kind).where(ContactHoldRow.buyer_id == buyer_id,
                                          ContactHoldRow.resolved_at.is_(None))
    )
    return {HoldKind(k) for k in kinds}


def holds_opened_since(session: Session, buyer_id: str, since: datetime) -> set[HoldKind]:
    """Kinds of matters the buyer opened at or after ``since`` (resolved or not)."""
    kinds = session.scalars(
        select(ContactHoldRow.kind).where(ContactHoldRow.buyer_id == buyer_id,
                                          ContactHoldRow.opened_at >= since)
    )
    return {HoldKind(k) for k in kinds}


def opted_out(session: Session, buyer_id: str, kind: MessageKind) -> bool:
    """True when the buyer opted out of everything or of ``kind``."""
    found = session.scalar(
        select(func.count()).select_from(OptOutRow).where(
            OptOutRow.buyer_id == buyer_id, OptOutRow.scope.in_(["*", kind.value])
        )
    )
    return bool(found)


def responded_on_order(session: Session, row: FollowUpRow) -> bool:
    """True when another follow-up on the same order already got an answer."""
    if not row.order_external_id:
        return False
    found = session.scalar(
        select(func.count()).select_from(FollowUpRow).where(
            and_(FollowUpRow.order_external_id == row.order_external_id,
                 FollowUpRow.marketplace == row.marketplace,
                 FollowUpRow.id != row.id,
                 FollowUpRow.responded_at.is_not(None))
        )
    )
    return bool(found)


def forget_contact(session: Session, key: str) -> None:
    """Remove a reserved contact whose send failed, so it does not count toward caps."""
    session.execute(delete(ContactLogRow).where(ContactLogRow.key == key))


#: A buyer in a store: ``(store, buyer_id)``; a store of ``None`` means "any store".
BuyerKey = tuple[str | None, str]


def load_facts(
    session: Session, keys: Sequence[BuyerKey], since: datetime
) -> dict[BuyerKey, BuyerFacts]:
    """Opt-outs, holds and contacts after ``since`` of many buyers, in three queries.

    Frequency caps are per store: a buyer's history under ``(store, buyer)``
    holds the contacts made for that store, plus those recorded without a
    store (which count everywhere). Under ``(None, buyer)`` it holds them all.
    Opt-outs and holds are the buyer's, whichever store they came from.
    """
    facts = {k: BuyerFacts() for k in keys}
    if not facts:
        return facts
    per_buyer: dict[str, list[tuple[str | None, BuyerFacts]]] = {}
    for (store, buyer), found in facts.items():
        per_buyer.setdefault(buyer, []).append((store, found))
    ids = list(per_buyer)
    for buyer, scope in session.execute(
        select(OptOutRow.buyer_id, OptOutRow.scope).where(OptOutRow.buyer_id.in_(ids))
    ):
        for _, found in per_buyer[buyer]:
            found.opt_outs.add(scope)
    for buyer, kind, opened, resolved in session.execute(
        select(ContactHoldRow.buyer_id, ContactHoldRow.kind, ContactHoldRow.opened_at,
               ContactHoldRow.resolved_at).where(ContactHoldRow.buyer_id.in_(ids))
    ):
        for _, found in per_buyer[buyer]:
            found.holds.append((HoldKind(kind), opened, resolved))
    for r in session.execute(
        select(ContactLogRow.buyer_id, ContactLogRow.store, ContactLogRow.sent_at,
               ContactLogRow.kind, ContactLogRow.channel, ContactLogRow.source)
        .where(ContactLogRow.buyer_id.in_(ids), ContactLogRow.sent_at > since)
    ):
        contact = Contact(r.sent_at, MessageKind(r.kind), r.channel, r.source)
        for store, found in per_buyer[r.buyer_id]:
            if store is None or r.store is None or store == r.store:
                found.history.append(contact)
    return facts


def lock_buyers(session: Session, buyer_ids: Sequence[str]) -> None:
    """:func:`lock_buyer` for many buyers, always in the same order (no deadlocks)."""
    begin_write(session)
    if session.get_bind().dialect.name != "postgresql" or not buyer_ids:
        return
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(b, 0)) "
             "FROM unnest(CAST(:bs AS text[])) AS b ORDER BY b"),
        {"bs": sorted(set(buyer_ids))},
    )


def owned_ids(session: Session, ids: Sequence[int], *, owner: str) -> set[int]:
    """Which of ``ids`` this worker still holds, locking them until commit."""
    return set(session.scalars(
        select(FollowUpRow.id)
        .where(FollowUpRow.id.in_(ids), FollowUpRow.status == CLAIMED,
               FollowUpRow.lease_owner == owner)
        .with_for_update()
    ))


def forget_contacts(session: Session, keys: Sequence[str]) -> None:
    """:func:`forget_contact` for many keys."""
    if keys:
        session.execute(delete(ContactLogRow).where(ContactLogRow.key.in_(list(keys))))
