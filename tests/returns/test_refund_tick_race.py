"""The reconciliation tick and a caller resuming the same pending refund, on PostgreSQL.

The tick takes a pending refund's push lease under ``FOR UPDATE SKIP
LOCKED``; a caller resuming the refund must see that lease, not the one it
read before the tick committed. Here the tick's transaction holds the row
while ``refund()`` runs in a thread: once the tick commits, the caller is
refused as in flight and nothing is sent by it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import RefundInFlightError, RemoteError, TransientError
from aftersales.models import Refund, ReturnRequest
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.returns import RefundRow

from .ledger_shop import LedgerShop, ledger_order

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)


class LosingShop(LedgerShop):
    """Loses the answer of its first refund call before paying anything."""

    lost = False

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        if not self.lost:
            self.lost = True
            raise TransientError("read timed out", adapter=self.name)
        return super().refund(refund, request)


@pytest.mark.postgres
def test_a_caller_resuming_a_refund_sees_the_lease_the_tick_took(
    pg_url: str, tmp_path: Path,
) -> None:
    shop = LosingShop(tmp_path / "ledger.db")
    app = AfterSales(pg_url, marketplaces=[shop], migrate=False, clock=lambda: NOW)
    try:
        app.store.create_all()
        with app.store.session() as s:
            upsert_orders(s, [ledger_order("O-1", [("L1", 1, "100.00")])])
        req = app.returns.request("ledger", "O-1", {"L1": 1}, reason="quality_issue",
                                  kind="refund_only", evidence=["photo.jpg"], force=True)
        rma = req.rma_id or ""
        app.returns.approve(rma, override=True)
        with pytest.raises(RemoteError):
            app.returns.refund(rma)  # pending, lease released, nothing paid
        outcome: list[Any] = []

        def resume() -> None:
            try:
                outcome.append(app.returns.refund(rma))
            except Exception as exc:
                outcome.append(exc)

        with app.store.session() as tick:  # the tick's transaction, as reconcile_refunds takes it
            row = tick.scalars(select(RefundRow).where(RefundRow.rma_id == rma)
                               .with_for_update(skip_locked=True)).one()
            row.lease_until = NOW + timedelta(minutes=2)
            row.attempts += 1
            tick.flush()
            caller = threading.Thread(target=resume)
            caller.start()
            time.sleep(2)  # the caller is waiting on the row now
        caller.join(timeout=60)
        assert len(outcome) == 1
        assert isinstance(outcome[0], RefundInFlightError), outcome
        assert shop.payments() == []
    finally:
        app.close()
