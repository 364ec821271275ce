"""Catching up on trigger events a crash kept from the cases area.

Cases open from in-process hooks that run after the trigger's commit (see
:mod:`.triggers`). A process killed between that commit and its hooks
leaves the trigger in the outbox and no case. The worker's ``cases`` tick
therefore first reads the outbox's trigger events after a stored position
(the ``sync_cursors`` row ``cases`` / ``outbox``; the outbox's id order)
and hands them to :meth:`CasesService.open_from_events` a batch at a time.
Opening is idempotent on each event's key (a fact key is unique, and the
open key's lock keeps two openers apart), so an event handed over twice,
by the hook and by this step, or by two workers at once, adds one fact.

The position is saved after each batch's writes have committed, in its own
short transaction, never in the batch's: the batch is written by the
opening code's own transactions, and nothing is lost by the order, since a
process that dies between the two replays the batch and adds nothing. Two
workers may catch up at once; the position only ever moves forward (the
larger of the stored and the new one, under a lock), so a slower worker
never moves it back.

The position never passes a row younger than :data:`SETTLE`. On
PostgreSQL ids come from a sequence when a row is inserted, not when it
commits: a long transaction can commit id 100 after id 101 is visible, and
a position moved to 101 would never read 100. Rows younger than the
window are still handed over each tick (so a crash is caught up within a
tick), only the position waits; a row older than the window below a
visible one belongs to a transaction open longer than the window, which
writes of this library never are.

A first run (no position stored) starts at the beginning of the outbox:
the moment the position is missing is the moment after an upgrade, when a
trigger from the crash window is exactly what it must not miss, and
starting at the newest row would drop it for good. It costs one pass over
the outbox by primary key, once, trigger rows only, each batch's orders
read in one query and its known facts in another; events that already
hold their fact add nothing (100,000 outbox rows holding 10,000 handled
triggers: 0.9 s on SQLite, on a loaded 2-core machine). A shop that wants to skip its history sets
the position itself (``set_cursor(session, "cases", "outbox", str(id))``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import func, select

from aftersales.cases.triggers import TRIGGERS
from aftersales.events import Event
from aftersales.outbox import EVENT
from aftersales.store.cursors import get_cursor, set_cursor
from aftersales.store.locking import one_writer
from aftersales.store.tables.base import utcnow
from aftersales.store.tables.core import OutboxRow
from aftersales.ticks import TickReport

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["CURSOR", "SETTLE", "CatchUpReport", "Replayer", "catch_up", "position",
           "save_position"]

log = logging.getLogger("aftersales.cases")

#: The ``sync_cursors`` row holding the last outbox id caught up: (source, stream).
CURSOR = ("cases", "outbox")
#: How old an outbox row must be before the stored position may pass it.
SETTLE = timedelta(minutes=5)


class Replayer(Protocol):
    """What catching up needs of the cases service: its runtime, batch size and opener."""

    runtime: Runtime
    batch: int

    def open_from_events(self, events: Iterable[Event]) -> int: ...


@dataclass
class CatchUpReport(TickReport):
    """What one catch-up did: ``done`` trigger events handed over, ``added`` new facts.

    ``failed`` counts a batch that raised (the position stays before it);
    ``position`` is the stored position afterwards.
    """

    added: int = 0
    position: int = 0


def position(svc: Replayer) -> int:
    """The stored position (an outbox id), 0 when none is stored yet."""
    with svc.runtime.store.session() as session:
        text = get_cursor(session, *CURSOR)
    try:
        return int(text) if text else 0
    except ValueError:
        log.warning("cases catch-up position %r unreadable; starting at the outbox's start",
                    text[:40] if text else text)
        return 0


def save_position(svc: Replayer, value: int) -> int:
    """Store ``value`` unless a larger position is stored; returns the stored position."""
    with svc.runtime.store.session() as session:
        one_writer(session, "cursor:" + ":".join(CURSOR))
        text = get_cursor(session, *CURSOR)
        try:
            stored = int(text) if text else 0
        except ValueError:
            stored = 0
        if value > stored:
            set_cursor(session, *CURSOR, str(value))
            return value
        return stored


def _settled(svc: Replayer, after: int, settle: timedelta) -> int:
    """The largest id up to which every visible row after ``after`` is older than ``settle``."""
    horizon = utcnow() - settle
    with svc.runtime.store.session() as session:
        young = session.scalar(select(func.min(OutboxRow.id)).where(
            OutboxRow.id > after, OutboxRow.created_at > horizon))
        if young is not None:
            return int(young) - 1
        tip = session.scalar(select(func.max(OutboxRow.id)).where(OutboxRow.id > after))
        return int(tip) if tip is not None else after


def catch_up(svc: Replayer, limit: int | None = None,
             settle: timedelta = SETTLE) -> CatchUpReport:
    """Hand the trigger events after the stored position to the service; move the position.

    Args:
        limit: at most this many events this run (None: all there are).
        settle: the window the position waits behind (see the module docstring).
    """
    report = CatchUpReport()
    start = position(svc)
    # read before the events: rows committed after this are read next time
    settled = _settled(svc, start, settle)
    seen = start
    while limit is None or report.done < limit:
        size = svc.batch if limit is None else min(svc.batch, limit - report.done)
        with svc.runtime.store.session() as session:
            rows = list(session.execute(
                select(OutboxRow.id, OutboxRow.event_type, OutboxRow.payload, OutboxRow.key)
                .where(OutboxRow.id > seen, OutboxRow.topic == EVENT,
                       OutboxRow.event_type.in_(TRIGGERS))
                .order_by(OutboxRow.id).limit(size)))
        if not rows:
            seen = max(seen, settled)  # nothing left: the rows in between were no triggers
            break
        try:
            report.added += svc.open_from_events(
                [Event(r.event_type, dict(r.payload or {}), r.key) for r in rows])
        except Exception as exc:
            log.exception("cases catch-up stopped at outbox id %d", rows[0].id)
            report.fail(f"outbox:{rows[0].id}", f"{type(exc).__name__} (retried next tick)")
            break
        report.done += len(rows)
        seen = rows[-1].id
        report.position = save_position(svc, min(seen, settled))
        if len(rows) < size:
            seen = max(seen, settled)
            break
    report.position = save_position(svc, min(seen, settled)) if seen > start else start
    return report
