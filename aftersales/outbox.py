"""The outbox, read as a first-class source: ``app.outbox``.

Every buyer message, shop alert and domain event the library produces is a
row of the ``outbox`` table, written in the same transaction as the change
it reports. Rows have three topics:

============ =========================================================
``message``  a message to a buyer (follow-ups, notices), for the shop to send
``alert``    a message to the shop's own staff (review alerts)
``event``    a domain event: ``return.approved``, ``parcel.delivered``, …
============ =========================================================

and the common transactional-outbox columns: ``aggregate_type``
(``return``, ``order``, ``parcel``, ``review``, ``buyer``, ``shop`` …),
``aggregate_id`` (the thing's id: the key to keep one aggregate's events in
order), ``event_type``, ``payload`` (JSON), ``created_at``; plus ``store``.
A change-data-capture relay (Debezium's outbox event router) can stream the
table to Kafka without library code; the README shows the configuration.

Three ways to read it:

* :meth:`Outbox.pending` and :meth:`Outbox.ack`: list what is not yet
  delivered, then mark rows delivered. Simple, for one reader.
* :meth:`Outbox.claim` / :meth:`Outbox.release`: take a batch under a lease
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), so
  several readers never get the same row while its lease holds; a crashed
  reader's rows come back when the lease ends.
* :meth:`Outbox.stream`: an iterator over claimed rows that acks each row
  when the loop asks for the next one and gives the rest back if the loop
  ends early. Delivery is at least once: a reader that dies mid-row leaves
  that row to be claimed again after its lease.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update

from aftersales import observe
from aftersales.errors import ValidationError
from aftersales.store.locking import begin_write
from aftersales.store.tables.core import OutboxRow

if TYPE_CHECKING:
    from aftersales.store import Store

__all__ = [
    "ALERT",
    "EVENT",
    "MESSAGE",
    "TOPICS",
    "Outbox",
    "OutboxEntry",
    "event_fields",
    "message_fields",
]

MESSAGE = "message"
ALERT = "alert"
EVENT = "event"
#: The outbox's topics.
TOPICS = (MESSAGE, ALERT, EVENT)

#: Payload keys naming an event's aggregate, by the event name's first part.
_AGGREGATE_KEYS: dict[str, tuple[str, ...]] = {
    "return": ("rma_id",),
    "refund": ("rma_id", "refund"),
    "order": ("order_id",),
    "parcel": ("tracking_number", "shipment_id", "order_id"),
    "review": ("review_id", "alert_id", "subject"),
    "followup": ("follow_up_id",),
    "case": ("case_id",),
    "complaint": ("complaint_id",),
    "follow_up": ("follow_up_id",),
}
_FALLBACK_KEYS = ("rma_id", "order_id", "review_id", "tracking_number", "buyer_id", "id")

log = observe.logger("outbox")

#: The largest row id, ``after`` and ``limit`` (a signed 64-bit integer: the
#: databases' own bound, beyond which the driver raises ``OverflowError``).
MOST = 2**63 - 1
#: The longest lease a claim may take (longer is a mistake, and far longer
#: overflows the date type).
MOST_LEASE = timedelta(days=7)


def event_fields(name: str, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The outbox columns of a domain event called ``name`` (``return.approved``).

    The aggregate type is the name's first part; its id comes from the
    payload's id field for that type (``rma_id`` for a return), else from
    the event key; the store is the payload's ``store`` or ``marketplace``.
    """
    aggregate = name.split(".", 1)[0] or "event"
    found = None
    for field in (*_AGGREGATE_KEYS.get(aggregate, ()), *_FALLBACK_KEYS):
        value = payload.get(field)
        if value not in (None, ""):
            found = str(value)
            break
    store = payload.get("store") or payload.get("marketplace")
    return {
        "topic": EVENT,
        "event_type": name,
        "aggregate_type": aggregate[:40],
        "aggregate_id": (found or key)[:200],
        "store": str(store)[:80] if store else None,
    }


def message_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The outbox columns of a message: a shop alert or a buyer message.

    A message whose metadata ``kind`` ends in ``alert`` (review alerts), or
    whose ``audience`` is ``shop``, is an ``alert`` about its subject;
    anything else is a ``message`` to its buyer.
    """
    meta = payload.get("metadata") or {}
    kind = str(meta.get("kind") or "")
    store = meta.get("store") or meta.get("marketplace")
    if kind.endswith("alert") or meta.get("audience") == "shop":
        subject = meta.get("review_id") or meta.get("alert_id") or payload["idempotency_key"]
        return {
            "topic": ALERT,
            "event_type": f"alert.{kind or 'shop'}"[:80],
            "aggregate_type": "review" if meta.get("review_id") else "shop",
            "aggregate_id": str(subject)[:200],
            "store": str(store)[:80] if store else None,
        }
    return {
        "topic": MESSAGE,
        "event_type": f"message.{kind}"[:80] if kind else "message.buyer",
        "aggregate_type": "buyer",
        "aggregate_id": str(payload.get("buyer_id") or payload.get("to") or "")[:200],
        "store": str(store)[:80] if store else None,
    }


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as a reader sees it."""

    id: int
    topic: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    store: str | None
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready values (datetimes in ISO 8601)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def _entry(row: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        id=row.id, topic=row.topic, event_type=row.event_type,
        aggregate_type=row.aggregate_type, aggregate_id=row.aggregate_id, store=row.store,
        payload=row.payload, created_at=row.created_at, delivered_at=row.delivered_at,
        claimed_by=row.claimed_by, claimed_until=row.claimed_until,
    )


def _check(topic: str | None, limit: int) -> None:
    if topic is not None and topic not in TOPICS:
        raise ValidationError(f"unknown topic {topic!r}; topics: {', '.join(TOPICS)}",
                              field="topic")
    if limit < 1:
        raise ValidationError("must be at least 1", field="limit")
    if limit > MOST:
        raise ValidationError("must be below 2**63", field="limit")


def _ids(ids: Iterable[int]) -> list[int]:
    """``ids`` as sorted distinct row ids; one that is no whole number below 2**63 is refused."""
    wanted: set[int] = set()
    for value in ids:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)  # an id read from text (a queue, a file)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MOST:
            raise ValidationError("row ids are whole numbers from 1 to 2**63 - 1", field="ids")
        wanted.add(value)
    return sorted(wanted)


def default_reader() -> str:
    """A reader name unique to this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:120]


class Outbox:
    """Reads and acknowledges the outbox.

    Args:
        store: the database holding the ``outbox`` table.
        clock: the current aware time (leases are measured with it).
    """

    def __init__(self, store: Store, *, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    def _filters(self, topic: str | None, store: str | None) -> list[Any]:
        where: list[Any] = [OutboxRow.delivered_at.is_(None)]
        if topic is not None:
            where.append(OutboxRow.topic == topic)
        if store is not None:
            where.append(OutboxRow.store == store)
        return where

    def pending(self, *, topic: str | None = None, store: str | None = None,
                limit: int = 100, after: int = 0) -> list[OutboxEntry]:
        """Rows not yet delivered, oldest first (leased ones included).

        Args:
            topic: ``message``, ``alert`` or ``event``; every topic when None.
            store: only this store's rows.
            limit: at most this many.
            after: only rows with a greater id (to page on).

        Raises:
            ValidationError: an unknown topic or a limit below 1.
        """
        _check(topic, limit)
        if after > MOST:
            raise ValidationError("must be below 2**63", field="after")
        with self.store.session() as session:
            rows = session.scalars(
                select(OutboxRow).where(*self._filters(topic, store), OutboxRow.id > after)
                .order_by(OutboxRow.id).limit(limit)
            ).all()
            return [_entry(r) for r in rows]

    def ack(self, ids: Iterable[int], *, reader: str | None = None) -> int:
        """Mark rows delivered; returns how many were newly marked.

        Args:
            ids: the rows' ids; already delivered or unknown ids are ignored
                (:meth:`unknown` names the latter).
            reader: ack only rows this reader still holds under its lease
                (a reader whose lease ran out must not ack a row another
                reader has claimed since).

        Raises:
            ValidationError: an id is not a whole number from 1 to 2**63 - 1.
        """
        wanted = _ids(ids)
        if not wanted:
            return 0
        now = self._clock()
        done = 0
        with self.store.session() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                stmt = (update(OutboxRow)
                        .where(OutboxRow.id.in_(chunk), OutboxRow.delivered_at.is_(None))
                        .values(delivered_at=now, claimed_until=None))
                if reader is not None:
                    stmt = stmt.where(OutboxRow.claimed_by == reader)
                done += session.execute(stmt).rowcount or 0  # type: ignore[attr-defined]
        return done

    def unknown(self, ids: Iterable[int]) -> list[int]:
        """The ids among ``ids`` that no outbox row has, in order.

        Raises:
            ValidationError: an id is not a whole number from 1 to 2**63 - 1.
        """
        wanted = _ids(ids)
        found: set[int] = set()
        with self.store.session() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                found.update(session.scalars(select(OutboxRow.id)
                                             .where(OutboxRow.id.in_(chunk))))
        return [i for i in wanted if i not in found]

    def claim(self, *, topic: str | None = None, store: str | None = None, limit: int = 100,
              lease: timedelta = timedelta(seconds=60),
              reader: str | None = None) -> list[OutboxEntry]:
        """Take up to ``limit`` undelivered rows no other reader holds, for ``lease``.

        Rows go oldest first. On PostgreSQL the rows are locked with
        ``FOR UPDATE SKIP LOCKED`` while the lease is written, so readers
        claiming at once get disjoint batches; on SQLite the write lock is
        taken before the read.

        Args:
            reader: who holds the lease (default: this process's own name,
                :func:`default_reader`, fixed per :class:`Outbox`).
        """
        _check(topic, limit)
        if lease <= timedelta(0):
            raise ValidationError("must be positive", field="lease")
        if lease > MOST_LEASE:
            raise ValidationError("must be at most 7 days", field="lease")
        me = reader or self.reader
        now = self._clock()
        with self.store.session() as session:
            begin_write(session)
            free = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)
            query = (select(OutboxRow.id).where(*self._filters(topic, store), free)
                     .order_by(OutboxRow.id).limit(limit))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if not ids:
                return []
            session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids))
                            .values(claimed_by=me, claimed_until=now + lease))
            rows = session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids))
                                   .order_by(OutboxRow.id)).all()
            entries = [_entry(r) for r in rows]
        log.debug("claimed %d rows reader=%s topic=%s store=%s", len(entries), me, topic, store)
        return entries

    def release(self, ids: Iterable[int], *, reader: str | None = None) -> int:
        """Give claimed rows back at once (their lease ends now); returns how many."""
        wanted = _ids(ids)
        if not wanted:
            return 0
        me = reader or self.reader
        with self.store.session() as session:
            result = session.execute(
                update(OutboxRow)
                .where(and_(OutboxRow.id.in_(wanted), OutboxRow.claimed_by == me,
                            OutboxRow.delivered_at.is_(None)))
                .values(claimed_by=None, claimed_until=None))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def stream(self, *, topic: str | None = None, store: str | None = None, batch: int = 100,
               lease: timedelta = timedelta(seconds=60), reader: str | None = None,
               follow: bool = False, poll: float = 1.0,
               stop: Callable[[], bool] | None = None,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[OutboxEntry]:
        """Claimed rows, one at a time, each acked when the loop asks for the next.

        Several readers (threads, processes, hosts) can stream one outbox:
        each row goes to one of them while its lease holds. A row whose
        lease has ended by the time the loop asks for it is not handed out
        (another reader may hold it now): the stream claims again. Leaving the loop
        early (``break``, an exception) gives the row in hand and the rest of
        the batch back to the pool.

        Args:
            batch: rows claimed at a time.
            lease: how long a batch is held; process a batch within it.
            follow: wait ``poll`` seconds and claim again when the outbox is
                empty, instead of ending (``aftersales outbox tail``).
            stop: checked between rows; the stream ends when it returns True.
        """
        me = reader or self.reader
        while True:
            claimed = self.claim(topic=topic, store=store, limit=batch, lease=lease, reader=me)
            if not claimed:
                if not follow or (stop is not None and stop()):
                    return
                sleep(poll)
                continue
            held = [e.id for e in claimed]
            try:
                for entry in claimed:
                    if stop is not None and stop():
                        return
                    if entry.claimed_until is not None and self._clock() >= entry.claimed_until:
                        break  # the lease ran out: the rest may be another reader's
                    yield entry
                    held.remove(entry.id)
                    if not self.ack([entry.id], reader=me):
                        log.warning("outbox row %d not acked: its lease ended and another "
                                    "reader holds it (reader=%s); it may be delivered again",
                                    entry.id, me)
            finally:
                if held:
                    self.release(held, reader=me)

    @property
    def reader(self) -> str:
        """This outbox object's own reader name (see :func:`default_reader`)."""
        name: str | None = self.__dict__.get("_reader")
        if name is None:
            name = self.__dict__["_reader"] = default_reader()
        return name
