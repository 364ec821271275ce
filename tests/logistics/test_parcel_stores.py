"""Parcel events name the store of the parcel's order, even when two stores share a number."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.tables.core import OrderRow, OutboxRow, ShipmentRow


def test_parcel_events_carry_their_store(tmp_path: Path) -> None:
    north = SandboxMarketplace(seed=3, orders=15, name="north")
    south = SandboxMarketplace(seed=3, orders=15, clock=north.clock, name="south")
    with AfterSales(f"sqlite:///{tmp_path / 'p.db'}", marketplaces=[north, south],
                    carriers=[north.carrier()], clock=lambda: north.now) as app:
        app.sync()
        north.advance(days=10)
        app.logistics.refresh()
        with app.store.session() as s:
            owner = dict(s.execute(select(ShipmentRow.id, OrderRow.marketplace)
                                   .join(OrderRow, OrderRow.id == ShipmentRow.order_id)).all())
            numbers = s.execute(select(ShipmentRow.tracking_number, OrderRow.marketplace)
                                .join(OrderRow, OrderRow.id == ShipmentRow.order_id)).all()
            events = s.scalars(select(OutboxRow).where(OutboxRow.event_type.like("parcel.%"))
                               ).all()
    # Same seed: every tracking number is in both stores.
    assert {n for n, m in numbers if m == "north"} == {n for n, m in numbers if m == "south"}
    assert events
    for event in events:
        expected = owner[event.payload["shipment_id"]]
        assert event.payload["marketplace"] == expected
        assert event.store == expected
    assert {e.store for e in events} == {"north", "south"}
