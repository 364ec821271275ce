"""A marketplace for action race tests that records every call in a file all processes share.

Each process builds its own :class:`ActionShop` on the same SQLite file.
Every call to approve, refuse or confirm a receipt is written to ``calls``
on arrival, before the shop decides anything, so the file shows exactly
what reached "the platform", whoever sent it; a refund is recorded under
its order. Like the Chinese marketplaces, the shop takes each decision on
a request once: the same decision again is a 409 (it is not idempotent;
``idempotent=True`` answers it again without acting twice), recorded as a
call all the same. A short pause
inside each call keeps both racers in it at once when nothing stops the
second one.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aftersales.errors import RemoteRejectedError, TransientError
from aftersales.http import notify_send
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import PlatformDeadline, Refund, ReturnRequest

from .ledger_shop import NAME


class ActionShop(MarketplaceBase):
    """Records calls and decisions in a shared SQLite file (see the module docstring)."""

    name = NAME
    capabilities = frozenset({Capability.APPROVE_RETURN, Capability.REJECT_RETURN,
                              Capability.CONFIRM_RETURN_RECEIVED, Capability.REFUND,
                              Capability.EXTEND_DEADLINE})

    def __init__(self, path: str | Path, *, pause: float = 0.3, idempotent: bool = False) -> None:
        self.path = str(path)
        self.pause = pause
        self.idempotent = idempotent
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY, "
                       "rma TEXT, action TEXT, pid INTEGER)")
            db.execute("CREATE TABLE IF NOT EXISTS decided (rma TEXT, action TEXT, "
                       "PRIMARY KEY (rma, action))")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA busy_timeout=60000")
        return db

    def _call(self, request: ReturnRequest, action: str) -> None:
        notify_send(self.name, "POST", action)
        with self._db() as db:
            db.execute("INSERT INTO calls (rma, action, pid) VALUES (?, ?, ?)",
                       (request.rma_id, action, os.getpid()))
        time.sleep(self.pause)
        self.before_deciding(request, action)
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            done = db.execute("SELECT action FROM decided WHERE rma = ? AND action = ?",
                              (request.rma_id, action)).fetchone()
            if done is not None and self.idempotent:
                db.execute("ROLLBACK")  # the same decision again: answered, not done twice
                return
            if done is not None and action != "receive":
                db.execute("ROLLBACK")
                raise RemoteRejectedError(f"the request was already decided ({done[0]})",
                                          adapter=NAME, status=409)
            if action != "receive":
                db.execute("INSERT INTO decided (rma, action) VALUES (?, ?)",
                           (request.rma_id, action))
            db.execute("COMMIT")
        finally:
            db.close()
        self.after_deciding(request, action)

    def before_deciding(self, request: ReturnRequest, action: str) -> None:
        """A hook for subclasses: runs once the call arrived, before the shop acts."""

    def after_deciding(self, request: ReturnRequest, action: str) -> None:
        """A hook for subclasses: runs once the shop acted, before it answers."""

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """See :meth:`Marketplace.approve_return`."""
        self._call(request, "approve")

    def reject_return(self, request: ReturnRequest, *, reason: str, note: str | None = None,
                      **extra: Any) -> None:
        """See :meth:`Marketplace.reject_return`."""
        self._call(request, "reject")

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """See :meth:`Marketplace.confirm_return_received`."""
        self._call(request, "receive")

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """See :meth:`Marketplace.refund`: recorded as a call under its order, then paid."""
        notify_send(self.name, "POST", "refund")
        with self._db() as db:
            cur = db.execute("INSERT INTO calls (rma, action, pid) VALUES (?, ?, ?)",
                             (refund.order_id, "refund", os.getpid()))
            paid = cur.lastrowid
        time.sleep(self.pause)
        return refund.model_copy(update={"external_id": f"P{paid}", "raw_status": "paid"})

    def extend_deadline(self, request: ReturnRequest,
                        by: timedelta | None = None) -> PlatformDeadline:
        """See :meth:`Marketplace.extend_deadline`: each call grants more time."""
        notify_send(self.name, "POST", "extend_deadline")
        with self._db() as db:
            db.execute("INSERT INTO calls (rma, action, pid) VALUES (?, ?, ?)",
                       (request.rma_id, "extend_deadline", os.getpid()))
        time.sleep(self.pause)
        current = request.platform_deadline
        assert current is not None
        return current.model_copy(update={"due_at": current.due_at + (by or timedelta(days=1)),
                                          "extensions": current.extensions + 1})

    def calls(self, rma: str | None = None) -> list[tuple[str, str]]:
        """Every call that arrived, as ``(rma, action)``, in order."""
        with self._db() as db:
            rows = db.execute("SELECT rma, action FROM calls ORDER BY id").fetchall()
        return [(r, a) for r, a in rows if rma is None or r == rma]

    def decisions(self) -> dict[str, str]:
        """What the shop decided for each request."""
        with self._db() as db:
            return dict(db.execute("SELECT rma, action FROM decided").fetchall())


class LosingShop(ActionShop):
    """Acts, then loses its answer (a 500 after the work was done), once per request."""

    def after_deciding(self, request: ReturnRequest, action: str) -> None:
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS lost (rma TEXT PRIMARY KEY)")
            if db.execute("SELECT 1 FROM lost WHERE rma = ?", (request.rma_id,)).fetchone():
                return
            db.execute("INSERT INTO lost (rma) VALUES (?)", (request.rma_id,))
        raise TransientError("upstream answered 500 after acting", adapter=NAME, status=500)

