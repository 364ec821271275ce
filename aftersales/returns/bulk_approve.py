"""The set-based path for runs of approvals in a bulk file: reads and key writes.

An approval is the commonest bulk action and the one a shop runs by the
hundred thousand. Instead of one ORM unit of work per row, a run of them is
read with one query (:func:`read_requests`, :func:`applied_keys`) and
written with one ``executemany`` per table: the moves through
:meth:`~aftersales.returns.writes.TransitionWriter.move_many` (status and
version checked, audit row, outbox event, SLA deadline, built by the same
function as a single approval's) and the rows' bulk keys through
:func:`write_keys`. The effect is the same as
:meth:`ReturnsService.approve` row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aftersales.store.driver import Driver
from aftersales.store.tables.returns import BulkKeyRow, ReturnRow

__all__ = ["applied_keys", "read_requests", "write_keys"]

#: The request columns an approval needs, in the order :func:`read_requests` gives them.
REQUEST_COLUMNS = ("rma_id", "status", "kind", "version", "marketplace", "external_id",
                   "eligibility", "order_external_id")


def applied_keys(session: Session, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """Which of these bulk row keys were applied before, each with its ``(action, rma id)``
    (one query): a key given again for another action or request is that row's error."""
    db = Driver(session)
    return {r[0]: (r[1], r[2]) for r in db.select_in(
        BulkKeyRow.__table__, ("key", "action", "rma_id"), "key", list(dict.fromkeys(keys)))}


def read_requests(session: Session, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The requests of a run, one query, keyed by rma id (columns of REQUEST_COLUMNS)."""
    db = Driver(session)
    return {r[0]: r for r in db.select_in(ReturnRow.__table__, REQUEST_COLUMNS, "rma_id",
                                          list(dict.fromkeys(ids)))}


def write_keys(session: Session, applied: Sequence[tuple[str, str]], *,
               now: datetime) -> None:
    """Record each applied approval's ``(bulk row key, rma id)`` (one ``executemany``).

    Written in the transaction of the approvals, so a re-run skips them.
    """
    if not applied:
        return
    db = Driver(session)
    keys = BulkKeyRow.__table__
    at = db.value(keys.c.applied_at, now)
    db.insert(keys, ("key", "action", "rma_id", "applied_at"),
              [(key, "approve", rma_id, at) for key, rma_id in applied])
