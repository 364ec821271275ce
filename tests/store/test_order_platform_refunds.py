"""The refunds a platform reports on an order are stored and read back whole, by both write paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales.models import Buyer, Order, OrderLine, PlatformRefund, RefundedLine
from aftersales.money import Money
from aftersales.store.database import Store
from aftersales.store.order_page import write_order_page
from aftersales.store.orders import get_order_row, order_from_row, upsert_orders

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _order(refunds: list[PlatformRefund], at: datetime = T0) -> Order:
    return Order(
        marketplace="shop", external_id="7", buyer=Buyer(external_id="b"), currency="USD",
        lines=[OrderLine(external_id="L1", sku="S", quantity=2, unit_price=Money("10", "USD"))],
        shipping=Money("4.00", "USD"), discount=Money("0", "USD"), total=Money("24.00", "USD"),
        placed_at=T0, updated_at=at, refunds=refunds,
    )


REFUND = PlatformRefund(
    external_id="R-1", amount=Money("14.60", "USD"), shipping=Money("4.00", "USD"),
    created_at=T0, lines=[RefundedLine(order_line_id="L1", quantity=1,
                                       amount=Money("10.60", "USD"), tax=Money("0.60", "USD"))])


@pytest.mark.parametrize("write", ["upsert_orders", "write_order_page"])
def test_platform_refunds_round_trip(db_url: str, write: str) -> None:
    store = Store(db_url)
    store.create_all()
    writer = upsert_orders if write == "upsert_orders" else write_order_page
    with store.session() as session:
        writer(session, [_order([])])
    with store.session() as session:  # a later sync brings a refund made in the admin
        writer(session, [_order([REFUND], T0 + timedelta(hours=1))])
    with store.session() as session:
        row = get_order_row(session, "shop", "7")
        assert row is not None
        assert order_from_row(row).refunds == [REFUND]
    store.dispose()
