"""A parcel listed without its carrier is stored once per order, too.

The unique index of migration 0007 holds parcels of a known carrier; a row
with no carrier never conflicts there (NULLs are distinct). Migration 0010
merges the no-carrier parcels stored twice before it (into the one carrier's
parcel of that number when the order has exactly one, else among
themselves) and adds a partial unique index on the no-carrier rows, so two
processes storing one order's no-carrier parcel at the same instant store it
once, on SQLite and on PostgreSQL.
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

RACER = Path(__file__).with_name("parcel_racer.py")
WRITER = Path(__file__).with_name("parcel_writer.py")
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _parcel(order_id: int, number: str, carrier: str | None, **more: Any) -> ShipmentRow:
    more.setdefault("direction", "outbound")
    return ShipmentRow(order_id=order_id, store="sandbox", tracking_number=number,
                       carrier=carrier, **more)


def test_the_migration_merges_no_carrier_parcels_and_adds_the_index(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade("0009")
    with store.session() as s:
        [(order, _, _)] = upsert_orders(s, [_order(0, [])])
        rows = [
            # 0..2: one carrier's parcel and two listings of it without carrier
            _parcel(order.id, "sf123456789012", None, status="delivered", terminal=True,
                    last_event_at=T0 + timedelta(days=2), delivered_at=T0 + timedelta(days=2)),
            _parcel(order.id, "SF 1234 5678 9012", "sf"),
            _parcel(order.id, "SF-1234-5678-9012", None, rma_id="RMA-1"),
            # 3..5: two carriers share the number: the no-carrier ones merge among themselves
            _parcel(order.id, "4321 1234 5678", "zto"),
            _parcel(order.id, "432112345678", "sto"),
            _parcel(order.id, "4321-1234-5678", None),
            _parcel(order.id, "4321.1234.5678", None, status="in_transit",
                    last_event_at=T0),
            # 7..8: no carrier's parcel at all: the first written is kept
            _parcel(order.id, "YT 9999 0000", None),
            _parcel(order.id, "yt99990000", None, rma_id="RMA-2"),
            # 9: another direction is another parcel
            _parcel(order.id, "sf123456789012", None, direction="return"),
        ]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
        s.add_all(TrackingEventRow(shipment_id=ids[i], fingerprint=f, occurred_at=T0,
                                   status="in_transit")
                  for i, f in ((0, "a"), (0, "b"), (1, "b"), (2, "c"), (6, "d")))
    store.upgrade()
    with store.session() as s:
        kept = s.execute(select(ShipmentRow.id, ShipmentRow.tracking_number, ShipmentRow.carrier,
                                ShipmentRow.status, ShipmentRow.rma_id, ShipmentRow.terminal)
                         .order_by(ShipmentRow.id)).all()
        events = s.execute(select(TrackingEventRow.shipment_id, TrackingEventRow.fingerprint)
                           .order_by(TrackingEventRow.fingerprint)).all()
    assert [tuple(k) for k in kept] == [
        (ids[1], "SF 1234 5678 9012", "sf", "delivered", "RMA-1", True),
        (ids[3], "4321 1234 5678", "zto", "pending", None, False),
        (ids[4], "432112345678", "sto", "pending", None, False),
        (ids[5], "4321-1234-5678", None, "in_transit", None, False),
        (ids[7], "YT 9999 0000", None, "pending", "RMA-2", False),
        (ids[9], "sf123456789012", None, "pending", None, False),
    ]
    assert [tuple(e) for e in events] == [
        (ids[1], "a"), (ids[1], "b"), (ids[1], "c"), (ids[5], "d")]
    with pytest.raises(StorageError, match="integrity"), store.session() as s:
        s.add(_parcel(order.id, "YT-9999-0000", None))
    with store.session() as s:  # another order's, or another direction's: another parcel
        [(other, _, _)] = upsert_orders(s, [_order(0, []).model_copy(
            update={"external_id": "O2"})])
        s.add(_parcel(other.id, "YT-9999-0000", None))
        s.add(_parcel(order.id, "YT-9999-0000", None, direction="return"))
    command.downgrade(store.alembic_config(), "0009")
    with store.session() as s:  # the index is gone; merged parcels stay merged
        s.add(_parcel(order.id, "YT-9999-0000", None))
    store.dispose()


def test_two_processes_storing_one_no_carrier_parcel_at_once_store_it_once(
    db_url: str, tmp_path: Path,
) -> None:
    store = Store(db_url)
    store.upgrade()
    with store.session() as s:
        [(order, _, _)] = upsert_orders(s, [_order(0, [])])
    flags = tmp_path / "flags"
    flags.mkdir()
    racers = []
    for name, number, *rma in (("a", "YT 5555 6666 7777"), ("b", "yt555566667777", "RMA-9")):
        racers.append(subprocess.Popen(
            [sys.executable, str(RACER), db_url, str(order.id), number, str(flags), name,
             *rma],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    for proc in racers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outs.append(out.strip())
    assert outs == ["done", "done"]  # the return's insert waited, then stored nothing
    with store.session() as s:
        parcels = s.execute(select(ShipmentRow.tracking_number, ShipmentRow.carrier,
                                   ShipmentRow.rma_id)
                            .where(ShipmentRow.tracking_key == "YT555566667777")).all()
    # one parcel, as the first writer spelled it, linked to the return that met it
    assert [tuple(p) for p in parcels] == [("YT 5555 6666 7777", None, "RMA-9")]
    store.dispose()


def test_a_page_storing_a_no_carrier_parcel_stored_meanwhile_leaves_it(db_url: str) -> None:
    """The order sync's set-based insert: a no-carrier parcel another writer stored after
    the page read its order's parcels is left as it is (not a failed page)."""
    from aftersales.store.parcel_keys import insert_parcels

    store = Store(db_url)
    store.upgrade()
    with store.session() as s:
        [(order, _, _)] = upsert_orders(s, [_order(0, [])])
        s.add(_parcel(order.id, "YT 9999 0000", None, rma_id="RMA-1"))
    row = {"order_id": order.id, "store": "sandbox", "direction": "outbound",
           "tracking_number": "yt99990000", "tracking_key": "YT99990000", "carrier": None,
           "shipped_at": None, "version": 1, "created_at": T0, "updated_at": T0}
    with store.session() as s:
        insert_parcels(s, [row, {**row, "carrier": "yto"}])
    with store.session() as s:
        parcels = s.execute(select(ShipmentRow.tracking_number, ShipmentRow.carrier,
                                   ShipmentRow.rma_id).order_by(ShipmentRow.id)).all()
    assert [tuple(p) for p in parcels] == [("YT 9999 0000", None, "RMA-1"),
                                           ("yt99990000", "yto", None)]
    store.dispose()


def test_an_order_sync_listing_a_return_parcel_without_carrier_while_the_return_stores_it(
    db_url: str, sandbox: Any, tmp_path: Path,
) -> None:
    """The buyer's "shipped" (carrier named) holds its write open; the order's sync lists
    the parcel with no carrier and reads the order's parcels meanwhile. Two indexes, no
    conflict: the sync must see the return's parcel once it may write, not add a second."""
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
        back = subprocess.Popen([*args, "held-return", "SF 5555 6666 7777", str(tmp_path),
                                 order.external_id, request.rma_id],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sync = subprocess.Popen([*args, "late-sync", "sf555566667777", str(tmp_path),
                                 order.external_id],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outs = []
        for proc in (back, sync):
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-2000:]
            outs.append(out.strip())
        assert outs == ["done", "done"]
        with app.store.session() as s:
            parcels = s.execute(select(ShipmentRow.tracking_number, ShipmentRow.carrier,
                                       ShipmentRow.rma_id)
                                .where(ShipmentRow.tracking_key == "SF555566667777")).all()
        assert [tuple(p) for p in parcels] == [("SF 5555 6666 7777", "sf", request.rma_id)]
    finally:
        app.close()
