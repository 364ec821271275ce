"""The database holds "one parcel per order, direction, folded number and carrier".

Migration 0007 merges the parcels stored twice before it (the first written
is kept, with the others' scans, newer status and return request) and adds
the unique index; two processes storing one order's return parcel at the
same instant, spelled two ways (the order's sync and the buyer's "shipped"),
then store it once, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select

from aftersales.errors import StorageError
from aftersales.store import Store
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.core import ShipmentRow, TrackingEventRow

from .test_parcel_spellings import _order

WRITER = Path(__file__).with_name("parcel_writer.py")
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _parcel(order_id: int, number: str, carrier: str, **more: Any) -> ShipmentRow:
    more.setdefault("direction", "outbound")
    return ShipmentRow(order_id=order_id, store="sandbox", tracking_number=number,
                       carrier=carrier, **more)


def test_the_migration_merges_parcels_stored_twice_and_adds_the_index(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade("0006")
    with store.session() as s:
        [(order, _, _)] = upsert_orders(s, [_order(0, [])])
        rows = [
            _parcel(order.id, "SF 1234 5678 9012", "sf"),
            _parcel(order.id, "sf123456789012", "sf", status="delivered", terminal=True,
                    last_event_at=T0 + timedelta(days=2), delivered_at=T0 + timedelta(days=2)),
            _parcel(order.id, "ＳＦ１２３４５６７８９０１２", "sf", rma_id="RMA-1"),
            _parcel(order.id, "4321 1234 5678", "zto"),
            _parcel(order.id, "432112345678", "sto"),
            _parcel(order.id, "SF123456789012", "sf", direction="return"),
        ]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
        s.add_all(TrackingEventRow(shipment_id=ids[i], fingerprint=f, occurred_at=T0,
                                   status="in_transit")
                  for i, f in ((0, "a"), (0, "b"), (1, "b"), (1, "c")))
    store.upgrade()
    with store.session() as s:
        kept = s.execute(select(ShipmentRow.id, ShipmentRow.tracking_number, ShipmentRow.status,
                                ShipmentRow.rma_id, ShipmentRow.terminal)
                         .order_by(ShipmentRow.id)).all()
        events = s.execute(select(TrackingEventRow.shipment_id, TrackingEventRow.fingerprint)
                           .order_by(TrackingEventRow.fingerprint)).all()
    assert [tuple(k) for k in kept] == [
        (ids[0], "SF 1234 5678 9012", "delivered", "RMA-1", True),
        (ids[3], "4321 1234 5678", "pending", None, False),
        (ids[4], "432112345678", "pending", None, False),
        (ids[5], "SF123456789012", "pending", None, False),
    ]
    assert [tuple(e) for e in events] == [(ids[0], "a"), (ids[0], "b"), (ids[0], "c")]
    with pytest.raises(StorageError, match="integrity"), store.session() as s:
        s.add(_parcel(order.id, "SF-1234-5678-9012", "sf"))
    command.downgrade(store.alembic_config(), "0006")
    with store.session() as s:  # the index is gone; merged parcels stay merged
        s.add(_parcel(order.id, "SF-1234-5678-9012", "sf"))
    store.dispose()


def test_two_processes_storing_one_return_parcel_at_once_store_it_once(
    db_url: str, sandbox: Any, tmp_path: Path,
) -> None:
    from aftersales.app import AfterSales

    app = AfterSales(db_url, marketplaces=[sandbox], clock=lambda: sandbox.now)
    try:
        app.sync_orders("sandbox")
        order = next(o for page in sandbox.list_orders(None) for o in page.items
                     if o.delivered_at is not None)
        request = app.returns.request("sandbox", order.external_id,
                                      {order.lines[0].external_id: 1},
                                      reason="wrong_size", force=True, auto=False)
        assert request.rma_id is not None
        app.returns.approve(request.rma_id, override=True)
        args = [sys.executable, str(WRITER), db_url]
        sync = subprocess.Popen([*args, "sync", "SF 5555 6666 7777", str(tmp_path),
                                 order.external_id],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        back = subprocess.Popen([*args, "return", "sf555566667777", str(tmp_path),
                                 order.external_id, request.rma_id],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outs = []
        for proc in (sync, back):
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-2000:]
            outs.append(out.strip())
        assert outs[0] == "done"
        assert outs[1] == "done" or (outs[1].startswith("error: ") and "\n" not in outs[1])
        with app.store.session() as s:
            parcels = s.execute(select(ShipmentRow.tracking_number, ShipmentRow.rma_id)
                                .where(ShipmentRow.tracking_key == "SF555566667777")).all()
        status = app.returns.get(request.rma_id).status.value
        if outs[1] == "done":  # the buyer's write waited, then found the sync's parcel
            assert [tuple(p) for p in parcels] == [("SF 5555 6666 7777", request.rma_id)]
            assert status == "return_shipped"
        else:  # refused whole: nothing half-written
            assert [tuple(p) for p in parcels] == [("SF 5555 6666 7777", None)]
            assert status == "approved"
    finally:
        app.close()
