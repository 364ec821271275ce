"""A stored order read back without validation is the order validation reads back.

``order_from_row`` builds the model directly when the stored columns are
already what validation would keep (a returns sync page reads hundreds of
orders); anything else goes through validation. Both must give the same
model: the same values, the same fields set, the same repr.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from aftersales.models import Buyer, Order, OrderLine, PlatformRefund, Shipment, TaxLine
from aftersales.money import Money
from aftersales.store import Store
from aftersales.store.orders import get_order_row, order_from_row, order_validated, upsert_orders

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))


def _order(n: int, **over: Any) -> Order:
    data: dict[str, Any] = {
        "marketplace": "sandbox", "external_id": f"o-{n}",
        "buyer": Buyer(external_id="b-1"), "currency": "CNY",
        "lines": [OrderLine(external_id="l-1", sku="TEE-M", quantity=2,
                            unit_price=Money("59.90", "CNY")),
                  OrderLine(external_id="l-2", sku="CAP", title="Cap", category="hats",
                            quantity=1, unit_price=Money("0.10", "CNY"),
                            discount=Money("0.01", "CNY"))],
        "shipping": Money("8.00", "CNY"), "discount": Money("0", "CNY"),
        "total": Money("127.89", "CNY"), "placed_at": T0, "updated_at": T0,
    }
    data.update(over)
    return Order.model_validate(data)


ORDERS = [
    _order(1),
    _order(2, buyer=Buyer(external_id="b-2", name="王小明", email="w@example.com",
                          timezone="Asia/Shanghai"), delivered_at=T0 + timedelta(days=2),
           raw_status="delivered", discount=Money("10.005", "CNY"), taxes_included=True),
    _order(3, currency="USD", lines=[OrderLine(
        external_id="l-1", sku="A", quantity=1, unit_price=Money("10", "USD"),
        taxes=[TaxLine(amount=Money("0.60", "USD"), rate_id="7", rate=Decimal("0.06"))])],
        shipping=Money("5", "USD"), discount=Money("0", "USD"), total=Money("15.60", "USD"),
        shipping_taxes=[TaxLine(amount=Money("0.30", "USD"), title="Ship tax")]),
    _order(4, shop_currency="USD", shop_total=Money("17.50", "USD")),
    _order(5, refunds=[PlatformRefund(external_id="r-1", amount=Money("5", "CNY"),
                                      created_at=datetime(2026, 3, 2, tzinfo=UTC))]),
    _order(6, shipments=[Shipment(tracking_number="SF1", carrier="sf")]),
]


def _same(a: Any, b: Any) -> None:
    """Equal models with equal fields sets, all the way down."""
    assert type(a) is type(b)
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, type(a).__name__
        assert a.__pydantic_extra__ == b.__pydantic_extra__
        assert a.__pydantic_private__ == b.__pydantic_private__
        assert list(a.__dict__) == list(b.__dict__)
        for name in a.__dict__:
            _same(a.__dict__[name], b.__dict__[name])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("order", ORDERS, ids=lambda o: o.external_id)
def test_a_stored_order_reads_back_as_validation_reads_it(db_url: str, order: Order) -> None:
    store = Store(db_url)
    store.create_all()
    try:
        with store.session() as session:
            upsert_orders(session, [order])
        with store.session() as session:
            row = get_order_row(session, "sandbox", order.external_id)
            assert row is not None
            fast, checked = order_from_row(row), order_validated(row)
            _same(fast, checked)
            assert fast == checked
            assert repr(fast) == repr(checked)
            assert fast.model_dump() == checked.model_dump()
    finally:
        store.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("change", [
    {"quantity": 0}, {"title": None}, {"currency": "cny"}, {"sku": 7},
    {"buyer": {"external_id": "b-1", "nickname": "x"}}, {"buyer": {"name": "no id"}},
    {"buyer": {"external_id": "b-9", "timezone": "UTC"}}, {"category": None},
])
def test_a_stored_row_validation_would_change_or_refuse_is_validated(
    db_url: str, change: dict[str, Any],
) -> None:
    """What validation would refuse is still refused; what it would change, it changes;
    a buyer stored with fewer fields keeps only those as set."""
    store = Store(db_url)
    store.create_all()
    try:
        with store.session() as session:
            upsert_orders(session, [_order(1)])
        with store.session() as session:
            row = get_order_row(session, "sandbox", "o-1")
            assert row is not None
            for name, value in change.items():
                setattr(row.lines[0] if hasattr(row.lines[0], name) else row, name, value)
            try:
                checked = order_validated(row)
            except Exception as exc:  # whatever validation raises
                with pytest.raises(type(exc)):
                    order_from_row(row)
            else:
                _same(order_from_row(row), checked)
            session.rollback()
    finally:
        store.dispose()
