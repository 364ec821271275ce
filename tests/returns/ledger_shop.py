"""A marketplace for race tests that records every payment in a file all processes share.

Each process builds its own :class:`LedgerShop` on the same SQLite file; a
payment is written under that file's write lock, so what the file holds is
exactly what "the platform" paid, whoever asked. Like a real platform it
deduplicates by idempotency key and refuses to pay more than the order's
total; it does not know the library's per-line caps, so a broken claim
shows up as a line paid beyond what the buyer paid for it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aftersales.errors import RemoteRejectedError
from aftersales.http import notify_send
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import Buyer, Order, OrderLine, Refund, ReturnRequest
from aftersales.money import Money
from aftersales.store.orders import upsert_orders

NAME = "ledger"
PLACED = datetime(2026, 1, 1, tzinfo=UTC)


def ledger_order(order_id: str, lines: Sequence[tuple[str, int, str]], shipping: str = "10.00",
                 currency: str = "CNY") -> Order:
    """An order of the ledger shop; ``lines`` are ``(line_id, quantity, unit_price)``."""
    items = [OrderLine(external_id=lid, sku=lid, title=lid, quantity=q,
                       unit_price=Money(p, currency)) for lid, q, p in lines]
    goods = sum((ln.net for ln in items), Money.zero(currency))
    return Order(marketplace=NAME, external_id=order_id, buyer=Buyer(external_id="B-1"),
                 currency=currency, lines=items, shipping=Money(shipping, currency),
                 discount=Money.zero(currency),
                 total=goods + Money(shipping, currency), placed_at=PLACED, updated_at=PLACED,
                 delivered_at=PLACED)


def approved_requests(app: Any, orders: Sequence[Order], per_order: int = 1) -> list[list[str]]:
    """Store ``orders`` in ``app`` and open ``per_order`` approved refund-only requests for
    one unit of each one's line L1; returns each order's rma ids."""
    with app.store.session() as session:
        upsert_orders(session, orders)
    plan = []
    for order in orders:
        rmas = []
        for _ in range(per_order):
            req = app.returns.request(NAME, order.external_id, {"L1": 1},
                                      reason="quality_issue", kind="refund_only",
                                      evidence=["photo.jpg"], force=True)
            app.returns.approve(req.rma_id or "", override=True)
            rmas.append(req.rma_id or "")
        plan.append(rmas)
    return plan


class LedgerShop(MarketplaceBase):
    """Pays refunds into a shared SQLite ledger (see the module docstring)."""

    name = NAME
    capabilities = frozenset({Capability.REFUND})

    def __init__(self, path: str | Path, totals: dict[str, Decimal] | None = None) -> None:
        self.path = str(path)
        self.totals = totals or {}
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS payments (id INTEGER PRIMARY KEY, "
                       "key TEXT UNIQUE, order_id TEXT, amount TEXT, lines TEXT)")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA busy_timeout=60000")
        return db

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """Pay once per key, never beyond the order's total."""
        notify_send(self.name, "POST", "refund")
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT id FROM payments WHERE key = ?",
                             (refund.idempotency_key,)).fetchone()
            if row is None:
                paid = sum((Decimal(a) for (a,) in db.execute(
                    "SELECT amount FROM payments WHERE order_id = ?", (refund.order_id,))),
                    Decimal(0))
                total = self.totals.get(refund.order_id)
                if total is not None and paid + refund.amount.amount > total:
                    db.execute("ROLLBACK")
                    raise RemoteRejectedError("refund exceeds the order total", adapter=NAME,
                                              status=422)
                lines = json.dumps({ln.order_line_id: str(ln.amount.amount)
                                    for ln in refund.lines})
                cur = db.execute("INSERT INTO payments (key, order_id, amount, lines) "
                                 "VALUES (?, ?, ?, ?)", (refund.idempotency_key, refund.order_id,
                                                         str(refund.amount.amount), lines))
                row = (cur.lastrowid,)
            db.execute("COMMIT")
        finally:
            db.close()
        return refund.model_copy(update={"external_id": f"P{row[0]}", "raw_status": "paid"})

    def find_refund(self, refund: Refund, request: ReturnRequest | None = None, *,
                    keys: Sequence[str] = (), exclude: Collection[str] = ()) -> Refund | None:
        """By key."""
        notify_send(self.name, "GET", "refunds")
        with self._db() as db:
            for key in (refund.idempotency_key, *keys):
                row = db.execute("SELECT id FROM payments WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    return refund.model_copy(update={"external_id": f"P{row[0]}",
                                                     "idempotency_key": key})
        return None

    def payments(self) -> list[tuple[str, str, Decimal, dict[str, Decimal]]]:
        """Every payment made: ``(key, order_id, amount, {line: amount})``."""
        with self._db() as db:
            return [(k, o, Decimal(a), {lid: Decimal(v) for lid, v in json.loads(ls).items()})
                    for k, o, a, ls in db.execute(
                        "SELECT key, order_id, amount, lines FROM payments ORDER BY id")]
