"""Events: in-process hooks and the transactional outbox.

Services call :meth:`EventBus.emit` inside the transaction that made the
change. The event is written to the outbox table in that same transaction
(so a backend reading the outbox never sees an event for a change that was
rolled back), and the in-process hooks run only after the commit succeeds.
A hook that raises is logged and does not undo the committed change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from aftersales.errors import ValidationError
from aftersales.outbox import event_fields
from aftersales.store.tables.base import utcnow
from aftersales.store.tables.core import OutboxRow
from aftersales.store.upsert import native_insert, upsert_rows

__all__ = ["BatchHook", "Event", "EventBus", "Hook", "skipping_invalid"]

log = logging.getLogger("aftersales.events")


class Event:
    """Something that happened: a ``name`` such as ``return.approved`` and its payload."""

    __slots__ = ("key", "name", "payload")

    def __init__(self, name: str, payload: dict[str, Any], key: str) -> None:
        self.name = name
        self.payload = payload
        self.key = key

    def __repr__(self) -> str:
        return f"Event({self.name!r}, key={self.key!r})"


@contextmanager
def skipping_invalid(logger: logging.Logger, what: str, event: Event) -> Iterator[None]:
    """Handle one event; a value the store cannot hold skips that event on one WARNING line.

    An event carries whatever a marketplace or a caller put in it (a buyer
    id of 300 characters, say). The area's own checks refuse such a value
    with a :class:`~aftersales.errors.ValidationError` naming the field;
    inside this block that error skips this one event with
    ``"<what> <event name> skipped: field 'buyer_id': …"`` (the event's
    name and the field, never the value or the buyer) instead of a
    traceback, and the other events of the same commit are still handled.
    Any other error propagates.
    """
    try:
        yield
    except ValidationError as exc:
        logger.warning("%s %s skipped: %s", what, event.name, exc)


#: A hook receives the event after its transaction committed.
Hook = Callable[[Event], None]
#: A batch hook receives, in order, the committed events of one transaction it asked for.
BatchHook = Callable[[list[Event]], object]

_PENDING = "aftersales_pending_events"
_LISTENING = "aftersales_event_listeners"
_MARKS = "aftersales_event_savepoints"


class EventBus:
    """Hooks by event name (``"*"`` receives every event) and the outbox writer."""

    def __init__(self) -> None:
        self._hooks: dict[str, list[Hook]] = defaultdict(list)
        self._batch_hooks: list[tuple[frozenset[str], BatchHook]] = []

    def on(self, name: str, hook: Hook) -> Hook:
        """Call ``hook`` after every committed event called ``name`` (or ``"*"``)."""
        self._hooks[name].append(hook)
        return hook

    def off(self, name: str, hook: Hook) -> None:
        """Stop calling ``hook`` for ``name``."""
        if hook in self._hooks.get(name, []):
            self._hooks[name].remove(hook)

    def on_many(self, names: Iterable[str], hook: BatchHook) -> BatchHook:
        """Call ``hook(events)`` once per commit with that commit's events named in ``names``.

        The set-based form of :meth:`on`: a page of work that emitted a
        thousand events reaches ``hook`` as one list (in emission order), so
        the hook can handle them in a few statements instead of a thousand
        transactions. A hook that raises is logged, as with :meth:`on`.
        """
        self._batch_hooks.append((frozenset(names), hook))
        return hook

    def listens(self, name: str) -> bool:
        """True when some hook would receive an event called ``name``."""
        return bool(self._hooks.get(name) or self._hooks.get("*")) or any(
            name in names for names, _ in self._batch_hooks)

    def emit(
        self,
        session: Session,
        name: str,
        payload: dict[str, Any],
        *,
        key: str,
        outbox: bool = True,
    ) -> bool:
        """Record ``name`` in the caller's transaction; hooks run after commit.

        Args:
            key: a natural key for the event (``"return.approved:rma_123:3"``);
                an event whose key is already in the outbox is not recorded or
                dispatched again, so retried work never repeats an event.
            outbox: also write it to the outbox table for the store backend.

        Returns:
            True when the event is new.
        """
        if outbox:
            if session.scalar(select(OutboxRow.id).where(OutboxRow.key == key)) is not None:
                return False
            if any(getattr(obj, "key", None) == key for obj in session.new):
                return False
            session.add(OutboxRow(key=key, payload=payload, **event_fields(name, payload, key)))
        self._queue(session, name, payload, key)
        return True

    def emit_many(
        self, session: Session, events: Sequence[tuple[str, dict[str, Any], str]]
    ) -> list[bool]:
        """Record many ``(name, payload, key)`` events in one statement; hooks run after commit.

        The set-based form of :meth:`emit` for a page of work: one INSERT for
        the page whose duplicates the database drops (``ON CONFLICT (key) DO
        NOTHING``), so an event whose key is already in the outbox, or earlier
        in ``events``, is neither recorded nor dispatched again.

        Returns:
            One flag per event, True when that event is new.
        """
        if not events:
            return []
        firsts: dict[str, int] = {}
        for i, (_, _, key) in enumerate(events):
            firsts.setdefault(key, i)
        rows = [{"key": key, "payload": payload, "created_at": utcnow(),
                 **event_fields(name, payload, key)}
                for i, (name, payload, key) in enumerate(events) if firsts[key] == i]
        if native_insert(session) is None:  # no native upsert: one event at a time
            return [self.emit(session, name, payload, key=key) for name, payload, key in events]
        table = cast(Table, OutboxRow.__table__)
        added = {r.key for r in upsert_rows(session, table, rows, key=("key",),
                                            returning=("key",))}
        out: list[bool] = []
        for i, (name, payload, key) in enumerate(events):
            new = firsts[key] == i and key in added
            if new:
                self._queue(session, name, payload, key)
            out.append(new)
        return out

    def _queue(self, session: Session, name: str, payload: dict[str, Any], key: str) -> None:
        if not self.listens(name):
            return  # recorded in the outbox; no hook to run after commit
        pending: list[Event] = session.info.setdefault(_PENDING, [])
        if not session.info.get(_LISTENING):
            session.info[_LISTENING] = True
            sa_event.listen(session, "after_commit", self._after_commit)
            sa_event.listen(session, "after_transaction_create", _mark_savepoint)
            sa_event.listen(session, "after_soft_rollback", _after_rollback)
            _mark_savepoint(session, session.get_transaction())
        pending.append(Event(name, payload, key))

    def dispatch(self, event: Event) -> None:
        """Run the hooks for one event now (used after commit)."""
        self.dispatch_many([event])

    def dispatch_many(self, events: Sequence[Event]) -> None:
        """Run the hooks for ``events`` now: each event's own hooks, then each batch hook once."""
        for event in events:
            for hook in [*self._hooks.get(event.name, []), *self._hooks.get("*", [])]:
                try:
                    hook(event)
                except Exception:
                    log.exception("hook for %s failed", event.name)
        for names, batch_hook in list(self._batch_hooks):
            mine = [e for e in events if e.name in names]
            if not mine:
                continue
            try:
                batch_hook(mine)
            except Exception:
                log.exception("batch hook for %d events failed", len(mine))

    def _after_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint was released; the real commit is still to come
        self.dispatch_many(session.info.pop(_PENDING, []))


def _mark_savepoint(session: Session, transaction: SessionTransaction | None) -> None:
    # Remember how many events were pending when a savepoint began, so rolling
    # the savepoint back drops only the events emitted inside it.
    if transaction is not None and transaction.nested:
        session.info.setdefault(_MARKS, {})[id(transaction)] = len(
            session.info.get(_PENDING, [])
        )


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    pending: list[Event] = session.info.get(_PENDING, [])
    if previous.nested:
        mark = session.info.get(_MARKS, {}).pop(id(previous), len(pending))
        del pending[mark:]
    elif previous.parent is None:
        pending.clear()
