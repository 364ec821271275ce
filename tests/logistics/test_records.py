"""Stored parcels read back with ``get`` and ``list``, with the store found through the order."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.errors import NotFoundError
from aftersales.logistics import Parcel
from aftersales.models import ParcelStatus
from aftersales.store.tables.core import OrderRow, ShipmentRow

from .conftest import T0, add_parcels, numbers


def _order(app: Any, store: str, external_id: str) -> int:
    from decimal import Decimal

    with app.store.session() as session:
        row = OrderRow(marketplace=store, external_id=external_id, buyer_id="b1", buyer={},
                       currency="CNY", shipping=Decimal(0), discount=Decimal(0),
                       total=Decimal(10), placed_at=T0, remote_updated_at=T0)
        session.add(row)
        session.flush()
        return row.id


def test_get_and_list_read_stored_parcels_with_their_store(make_app: Any) -> None:
    app = make_app()
    east, west = _order(app, "shop-east", "O-1"), _order(app, "shop-west", "O-1")
    ids = add_parcels(app, numbers(3))
    with app.store.session() as session:
        for parcel_id, order_id in zip(ids, (east, west, None), strict=True):
            row = session.get(ShipmentRow, parcel_id)
            assert row is not None
            row.order_id = order_id
        last = session.get(ShipmentRow, ids[2])
        assert last is not None
        last.status, last.terminal = ParcelStatus.DELIVERED.value, True

    parcel = app.logistics.get(ids[0])
    assert isinstance(parcel, Parcel)
    assert (parcel.store, parcel.order_id, parcel.tracking_number) == (
        "shop-east", "O-1", numbers(3)[0])
    assert [p.id for p in app.logistics.list(store="shop-west")] == [ids[1]]
    assert [p.id for p in app.logistics.list()] == sorted(ids, reverse=True)
    assert [p.id for p in app.logistics.list(open_only=True)] == sorted(ids[:2], reverse=True)
    assert [p.id for p in app.logistics.list(status="delivered")] == [ids[2]]
    assert app.logistics.get(ids[2]).store is None  # neither order nor return: no store
    assert len(app.logistics.list(limit=1)) == 1


def test_get_of_an_unknown_parcel_is_not_found(make_app: Any) -> None:
    with pytest.raises(NotFoundError, match="parcel"):
        make_app().logistics.get(999)


def test_synced_parcels_keep_their_store_on_the_row(tmp_path: Any) -> None:
    from sqlalchemy import select

    from aftersales.app import AfterSales
    from aftersales.sandbox import SandboxMarketplace

    app = AfterSales(f"sqlite:///{tmp_path}/two.db", carriers=[], marketplaces=[
        SandboxMarketplace(name="east", seed=1, orders=30),
        SandboxMarketplace(name="west", seed=2, orders=30)])
    try:
        for store in ("east", "west"):
            app.sync_orders(store)
        with app.store.session() as session:
            rows = session.execute(select(ShipmentRow.store, OrderRow.marketplace).join(
                OrderRow, OrderRow.id == ShipmentRow.order_id)).all()
        assert {store for store, _ in rows} == {"east", "west"}
        assert all(store == marketplace for store, marketplace in rows)
        assert {p.store for p in app.logistics.list(store="west", limit=500)} == {"west"}
    finally:
        app.close()
