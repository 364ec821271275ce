"""One parcel per folded number and carrier, whichever writer stores it and however it is spelled.

A marketplace may list an order's parcel as "SF 1234 5678 9012" and later
as "sf123456789012" or in full-width digits, with or without its carrier;
the returns area records the buyer's return parcel as the buyer typed it.
Each writer of ``shipments`` stores the parcel once, under the spelling
first written. Two carriers' parcels sharing a digits-only number stay two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.models import Buyer, Order, OrderLine, Shipment, ShipmentDirection
from aftersales.money import Money
from aftersales.store import Store
from aftersales.store.order_page import write_order_page
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.core import ShipmentRow

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FIRST = "SF 1234 5678 9012"
SPELLINGS = ["sf123456789012", "ＳＦ１２３４５６７８９０１２", "SF-1234-5678-9012"]


def _order(minute: int, shipments: Sequence[tuple[str, str | None]]) -> Order:
    return Order(
        marketplace="sandbox", external_id="O1", buyer=Buyer(external_id="B1"), currency="CNY",
        lines=[OrderLine(external_id="l1", sku="S", quantity=1,
                         unit_price=Money(Decimal("5"), "CNY"))],
        shipping=Money(Decimal(0), "CNY"), discount=Money(Decimal(0), "CNY"),
        total=Money(Decimal("5"), "CNY"), placed_at=T0,
        updated_at=T0 + timedelta(minutes=minute),
        shipments=[Shipment(tracking_number=n, carrier=c) for n, c in shipments])


def _by_rows(session: Any, orders: Sequence[Order]) -> None:
    upsert_orders(session, orders)


def _by_page(session: Any, orders: Sequence[Order]) -> None:
    write_order_page(session, orders)


@pytest.fixture
def store(sqlite_url: str) -> Any:
    s = Store(sqlite_url)
    s.create_all()
    yield s
    s.dispose()


def _parcels(store: Store) -> list[tuple[str, str | None]]:
    with store.session() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(ShipmentRow.tracking_number, ShipmentRow.carrier).order_by(ShipmentRow.id))]


@pytest.mark.parametrize("write", [_by_rows, _by_page], ids=["per-order", "page"])
def test_a_parcel_listed_again_under_another_spelling_is_stored_once(
    store: Store, write: Any,
) -> None:
    with store.session() as s:
        write(s, [_order(0, [(FIRST, "sf"), (SPELLINGS[0], "SF")])])
    with store.session() as s:
        write(s, [_order(1, [(n, "sf") for n in SPELLINGS] + [(FIRST, None)])])
    assert _parcels(store) == [(FIRST, "sf")]


@pytest.mark.parametrize("write", [_by_rows, _by_page], ids=["per-order", "page"])
def test_two_carriers_sharing_a_number_stay_two_parcels(store: Store, write: Any) -> None:
    with store.session() as s:
        write(s, [_order(0, [("4321 1234 5678", "zto"), ("432112345678", "sto")])])
    with store.session() as s:
        write(s, [_order(1, [("432112345678", "zto"), ("4321-1234-5678", None)])])
    assert _parcels(store) == [("4321 1234 5678", "zto"), ("432112345678", "sto")]


def test_a_return_parcel_the_order_sync_listed_is_the_returns_parcel(
    sqlite_url: str, sandbox: Any,
) -> None:
    from aftersales.app import AfterSales

    app = AfterSales(sqlite_url, marketplaces=[sandbox], clock=lambda: sandbox.now)
    try:
        app.sync_orders("sandbox")
        order = next(o for page in sandbox.list_orders(None) for o in page.items
                     if o.delivered_at is not None)
        with app.store.session() as s:
            order_id = s.scalar(select(ShipmentRow.order_id).where(
                ShipmentRow.tracking_number == order.shipments[0].tracking_number))
            s.add(ShipmentRow(order_id=order_id, store="sandbox", direction="return",
                              tracking_number="sf 5555 6666 7777", carrier="sf"))
        request = app.returns.request("sandbox", order.external_id,
                                      {order.lines[0].external_id: 1},
                                      reason="wrong_size", force=True, auto=False)
        assert request.rma_id is not None
        app.returns.approve(request.rma_id, override=True)
        app.returns.mark_shipped(request.rma_id, "SF555566667777", "SF")
        with app.store.session() as s:
            returns = s.execute(select(ShipmentRow.tracking_number, ShipmentRow.rma_id)
                                .where(ShipmentRow.direction == ShipmentDirection.RETURN.value)
                                .where(ShipmentRow.order_id == order_id)).all()
        # one parcel, as first written, now the return's (its delivery receives it)
        assert [tuple(r) for r in returns] == [("sf 5555 6666 7777", request.rma_id)]
    finally:
        app.close()


@pytest.mark.parametrize(("number", "carrier", "field"), [
    ("A" * 200, None, "tracking_number"),
    ("SF\x00123456", None, "tracking_number"),
    ("S F " * 30, None, "tracking_number"),  # folds short, but longer than the column
    ("SF1234567890\nSF5678901234", None, "tracking_number"),  # two numbers pasted as one
    ("SF1234567890\tYT1234567890", None, "tracking_number"),
    ("SF1234567890", "x" * 100, "carrier"),
    ("SF1234567890", "s\x00f", "carrier"),
])
def test_a_return_parcel_that_is_no_tracking_number_is_refused_by_name(
    db_url: str, sandbox: Any, number: str, carrier: str | None, field: str,
) -> None:
    """The buyer's "shipped" stores the parcel as typed: a number or carrier that is
    none (or overflows its column) is refused naming the field, and nothing is written."""
    from aftersales.app import AfterSales
    from aftersales.errors import ValidationError

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
        with app.store.session() as s:
            before = s.scalar(select(func.count()).select_from(ShipmentRow))
        with pytest.raises(ValidationError) as caught:
            app.returns.mark_shipped(request.rma_id, number, carrier)
        assert caught.value.field == field
        assert "\n" not in str(caught.value)
        with app.store.session() as s:
            assert s.scalar(select(func.count()).select_from(ShipmentRow)) == before
        assert app.returns.get(request.rma_id).status.value == "approved"
    finally:
        app.close()


def test_a_return_parcels_carrier_given_by_name_is_stored_as_its_code(
    sqlite_url: str, sandbox: Any,
) -> None:
    from aftersales.app import AfterSales

    app = AfterSales(sqlite_url, marketplaces=[sandbox], clock=lambda: sandbox.now)
    try:
        app.sync_orders("sandbox")
        order = next(o for page in sandbox.list_orders(None) for o in page.items
                     if o.delivered_at is not None)
        request = app.returns.request("sandbox", order.external_id,
                                      {order.lines[0].external_id: 1},
                                      reason="wrong_size", force=True, auto=False)
        assert request.rma_id is not None
        app.returns.approve(request.rma_id, override=True)
        app.returns.mark_shipped(request.rma_id, "SF555566667777", "顺丰速运")
        with app.store.session() as s:
            carrier = s.scalar(select(ShipmentRow.carrier)
                               .where(ShipmentRow.tracking_key == "SF555566667777"))
        assert carrier == "sf"  # what the providers are asked by, not the name as typed
    finally:
        app.close()
