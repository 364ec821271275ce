"""A refund process killed (SIGKILL) mid-push: the retry pays once, never twice.

A child process claims the refund and is killed right before the
marketplace pays, or right after it paid and before the payment is
recorded. The pending row keeps its push lease, so an immediate retry is
refused as in flight; once the lease has run out the retry looks the
refund up under its key and pays only if the marketplace has none. The
marketplace is :mod:`ledger_shop`'s shared file, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import RefundInFlightError
from aftersales.models import Refund, ReturnRequest, ReturnStatus
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.returns import RefundRow

from .ledger_shop import LedgerShop, ledger_order

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)


class KeylessShop(LedgerShop):
    """Pays every call (no deduplication, as WooCommerce's refunds endpoint), keeping the
    key beside the payment so ``find_refund`` can look it up."""

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        db = self._db()
        try:
            n = db.execute("SELECT count(*) FROM payments").fetchone()[0]
            cur = db.execute("INSERT INTO payments (key, order_id, amount, lines) "
                             "VALUES (?, ?, ?, '{}')", (f"{refund.idempotency_key}#{n}",
                                                        refund.order_id,
                                                        str(refund.amount.amount)))
            paid = cur.lastrowid
        finally:
            db.close()
        return refund.model_copy(update={"external_id": f"P{paid}", "raw_status": "paid"})

    def find_refund(self, refund: Refund, request: ReturnRequest | None = None, *,
                    keys: Sequence[str] = (), exclude: Collection[str] = ()) -> Refund | None:
        with self._db() as db:
            for key in (refund.idempotency_key, *keys):
                row = db.execute("SELECT id FROM payments WHERE key LIKE ? ORDER BY id",
                                 (f"{key}#%",)).fetchone()
                if row is not None:
                    return refund.model_copy(update={"external_id": f"P{row[0]}",
                                                     "idempotency_key": key})
        return None


class DyingShop(KeylessShop):
    """Kills its own process before or after paying."""

    def __init__(self, path: str | Path, when: str) -> None:
        super().__init__(path)
        self.when = when

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        if self.when == "before-paying":
            os.kill(os.getpid(), signal.SIGKILL)
        paid = super().refund(refund, request)
        os.kill(os.getpid(), signal.SIGKILL)
        return paid  # pragma: no cover


def _child(url: str, ledger: str, when: str, rma: str) -> None:
    app = AfterSales(url, marketplaces=[DyingShop(ledger, when)], migrate=False,
                     clock=lambda: NOW)
    app.returns.refund(rma)


@pytest.mark.parametrize("when", ["before-paying", "after-paying"])
def test_a_refund_killed_mid_push_is_paid_once_by_the_retry(
    db_url: str, tmp_path: Path, when: str,
) -> None:
    ledger = tmp_path / "ledger.db"
    order = ledger_order("O-1", [("L1", 1, "100.00")])
    now = [NOW]
    app = AfterSales(db_url, marketplaces=[KeylessShop(ledger)], migrate=False,
                     clock=lambda: now[0])
    try:
        app.store.create_all()
        with app.store.session() as s:
            upsert_orders(s, [order])
        req = app.returns.request("ledger", "O-1", {"L1": 1}, reason="quality_issue",
                                  kind="refund_only", evidence=["photo.jpg"], force=True)
        rma = req.rma_id or ""
        app.returns.approve(rma, override=True)
        app.store.engine.dispose()  # no pooled connection crosses the fork

        ctx: Any = multiprocessing.get_context("fork")
        child = ctx.Process(target=_child, args=(db_url, str(ledger), when, rma))
        child.start()
        child.join(timeout=120)
        assert child.exitcode == -signal.SIGKILL
        paid_before = len(LedgerShop(ledger).payments())
        assert paid_before == (1 if when == "after-paying" else 0)

        with pytest.raises(RefundInFlightError, match="being sent"):
            app.returns.refund(rma)  # the dead process's lease still holds
        now[0] = NOW + timedelta(minutes=3)
        got = app.returns.refund(rma)
        assert got.raw_status == "paid"
        assert len(LedgerShop(ledger).payments()) == 1
        assert app.returns.get(rma).status is ReturnStatus.REFUNDED
        with app.store.session() as s:
            assert s.scalars(select(RefundRow.status).where(RefundRow.rma_id == rma)).all() == [
                "paid"]
        again = app.returns.refund(rma, idempotency_key=got.idempotency_key)
        assert again.external_id == got.external_id
        assert len(LedgerShop(ledger).payments()) == 1
    finally:
        app.close()
