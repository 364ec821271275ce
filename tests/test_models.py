"""Model validation: bad data is refused with the field named; personal data is masked."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic
import pytest

from aftersales.models import (
    Buyer,
    Order,
    OrderLine,
    ParcelStatus,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    Review,
    Tracking,
    TrackingEvent,
)
from aftersales.money import Money

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _order(**over: object) -> Order:
    data: dict[str, object] = {
        "marketplace": "sandbox",
        "external_id": "o1",
        "buyer": Buyer(external_id="b1"),
        "currency": "CNY",
        "lines": [OrderLine(external_id="l1", sku="S", quantity=1, unit_price=Money("10", "CNY"))],
        "shipping": Money("0", "CNY"),
        "discount": Money("0", "CNY"),
        "total": Money("10", "CNY"),
        "placed_at": NOW,
        "updated_at": NOW,
    }
    data.update(over)
    return Order.model_validate(data)


def test_naive_datetime_is_refused_naming_the_field() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        _order(placed_at=datetime(2026, 1, 5))
    assert info.value.errors()[0]["loc"] == ("placed_at",)
    assert "timezone info" in str(info.value)


def test_order_needs_a_line() -> None:
    with pytest.raises(pydantic.ValidationError, match="lines"):
        _order(lines=[])


def test_quantity_must_be_positive() -> None:
    with pytest.raises(pydantic.ValidationError, match="quantity"):
        OrderLine(external_id="l", sku="S", quantity=0, unit_price=Money("1", "CNY"))


def test_unknown_field_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="colour"):
        ReturnLine.model_validate({"order_line_id": "l1", "quantity": 1, "colour": "red"})


def test_rating_is_between_one_and_five() -> None:
    with pytest.raises(pydantic.ValidationError, match="rating"):
        Review(marketplace="m", external_id="r", rating=6, created_at=NOW, updated_at=NOW)


def test_bad_enum_value_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="kind"):
        ReturnRequest.model_validate(
            {
                "marketplace": "m",
                "order_id": "o",
                "kind": "swap",
                "lines": [{"order_line_id": "l", "quantity": 1}],
            }
        )
    assert (
        ReturnRequest(
            marketplace="m",
            order_id="o",
            kind=ReturnKind.EXCHANGE,
            lines=[ReturnLine(order_line_id="l", quantity=1)],
        ).status
        == "requested"
    )


def test_buyer_repr_masks_contact_details() -> None:
    buyer = Buyer(
        external_id="b1",
        name="Wang Fang",
        email="wang.fang@example.com",
        phone="+86 138 1234 5678",
        address="1 Nanjing Road, Shanghai",
    )
    text = repr(buyer) + str(buyer)
    for secret in ("wang.fang@example.com", "138 1234 5678", "Nanjing", "Wang Fang"):
        assert secret not in text
    assert "***5678" in text


def test_tracking_events_are_kept_oldest_first() -> None:
    late = TrackingEvent(time=datetime(2026, 1, 6, tzinfo=UTC), status=ParcelStatus.DELIVERED)
    early = TrackingEvent(time=NOW, status=ParcelStatus.PICKED_UP)
    t = Tracking(carrier="sf", number="SF1", events=[late, early])
    assert [e.status for e in t.events] == [ParcelStatus.PICKED_UP, ParcelStatus.DELIVERED]
    assert ParcelStatus.DELIVERED.is_terminal
    assert not ParcelStatus.IN_TRANSIT.is_terminal


def test_line_totals() -> None:
    line = OrderLine(
        external_id="l",
        sku="S",
        quantity=3,
        unit_price=Money("9.90", "CNY"),
        discount=Money("2", "CNY"),
    )
    assert line.gross == Money("29.70", "CNY")
    assert line.net == Money("27.70", "CNY")
