"""Two processes running one bulk file at the same instant: each row applied once, and the
run that finds a row applied by the other says so, never "integrity error"."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.orders import order_from_row
from aftersales.store.tables.core import AuditRow, OrderRow
from aftersales.store.tables.returns import BulkKeyRow, ReturnRow


def _app(url: str) -> AfterSales:
    shop = SandboxMarketplace(seed=0, orders=300)
    return AfterSales(url, marketplaces=[shop], clock=lambda: shop.now, migrate=False)


def _run(url: str, path: str, batch: int, gate: Any, out: Any, index: int) -> None:
    """One process: wait at the gate, run the file, send back each row's outcome."""
    app = _app(url)
    seen: list[tuple[int, str, str]] = []
    try:
        gate.wait()
        app.returns.bulk_file(path, batch_size=batch,
                              on_outcome=lambda o: seen.append((o.row, o.outcome, o.detail)))
    except BaseException as exc:
        seen.append((0, "crash", repr(exc)))
        raise
    finally:
        out.put((index, seen))
        app.close()


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 50])
def test_two_runs_of_one_file_at_once_apply_each_row_once_and_say_so(
        db_url: str, tmp_path: Path, batch: int) -> None:
    app = _app(db_url)
    try:
        app.store.create_all()
        app.sync_orders("sandbox")
        with app.store.session() as s:
            orders = [order_from_row(r) for r in s.scalars(
                select(OrderRow).where(OrderRow.delivered_at >= app.now() - timedelta(days=6))
                .order_by(OrderRow.id))]
        half = len(orders) // 2
        rows = []
        for i, order in enumerate(orders[:half]):
            rma = app.returns.request("sandbox", order.external_id,
                                      {order.lines[0].external_id: 1}, reason="no_reason",
                                      force=True).rma_id
            rows.append(f"{('approve', 'cancel', 'reject')[i % 3]},{rma},,,,,\n")
        rows += [f"create,,sandbox,{o.external_id},{o.lines[0].sku},1,return,wrong_size\n"
                 for o in orders[half:]]
        path = tmp_path / "in.csv"
        path.write_text("action,rma_id,marketplace,order_id,sku,quantity,kind,reason\n"
                        + "".join(rows), encoding="utf-8")
        ctx = multiprocessing.get_context("fork")
        gate, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_run, args=(db_url, str(path), batch, gate, out, i))
                 for i in range(2)]
        for p in procs:
            p.start()
        results = dict(out.get(timeout=300) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        outcomes = [x for i in (0, 1) for x in results[i]]
        wrong = [x for x in outcomes if x[1] not in ("ok", "skipped")]
        assert wrong == [], wrong[:5]
        per_row = Counter(r for r, outcome, _ in outcomes if outcome == "ok")
        assert sorted(per_row) == list(range(1, len(rows) + 1))
        assert set(per_row.values()) == {1}  # each row applied by one of the two
        with app.store.session() as s:
            assert s.scalar(select(func.count()).select_from(BulkKeyRow)) == len(rows)
            assert s.scalar(select(func.count()).select_from(ReturnRow)) == len(orders)
            moves = s.scalar(select(func.count()).select_from(AuditRow).where(
                AuditRow.to_status.in_(["approved", "cancelled", "rejected"])))
            assert moves == half
    finally:
        app.close()
