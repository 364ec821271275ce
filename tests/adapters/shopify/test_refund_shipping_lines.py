"""Shipping refunded in Shopify's admin, read from ``refund_shipping_lines``.

From Admin API 2024-10 Shopify no longer reports refunded shipping as a
``shipping_refund`` order adjustment: it is read from the refund's
``refund_shipping_lines`` (``subtotal_amount_set``). Shops still send the
adjustment beside the line for the same money, so the two must never add up.
The fixture names its sources.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aftersales_shopify import mapping
from aftersales_shopify.schemas import RestOrder

from aftersales.errors import ValidationError
from aftersales.models import Money, PlatformRefund

from .conftest import body, fx


def _refunds(refunds: list[dict[str, Any]], **order: Any) -> list[PlatformRefund]:
    raw = copy.deepcopy(body("rest_orders_get")["order"])
    raw.update(order, refunds=refunds)
    return mapping.order_from_rest(RestOrder.model_validate(raw)).refunds


def _fixture() -> list[dict[str, Any]]:
    refunds: list[dict[str, Any]] = fx("rest_refund_shipping_lines")["refunds"]
    return copy.deepcopy(refunds)


def test_the_fixture_names_its_source() -> None:
    assert "refund_shipping_lines" in fx("rest_refund_shipping_lines")["_source"]


def test_a_shipping_line_without_an_adjustment_is_shipping_refunded() -> None:
    (refund,) = _refunds(_fixture()[:1])
    assert refund.shipping == Money("5.00", "USD")
    assert refund.other is None
    assert refund.amount == Money("5.00", "USD")


def test_a_shipping_line_and_its_adjustment_count_once_with_the_adjustments_tax() -> None:
    (refund,) = _refunds(_fixture()[1:])
    assert refund.shipping == Money("5.30", "USD")  # 5.00 once, plus the 0.30 tax
    assert refund.amount == Money("5.30", "USD")
    assert refund.other is None


def test_prices_with_tax_included_take_the_shipping_line_alone() -> None:
    (refund,) = _refunds(_fixture()[1:], taxes_included=True)
    assert refund.shipping == Money("5.00", "USD")
    assert refund.other == Money("0.30", "USD")  # the transaction's rest, named by nothing


def test_several_shipping_lines_add_up() -> None:
    refunds = _fixture()[:1]
    second = copy.deepcopy(refunds[0]["refund_shipping_lines"][0])
    second["id"] = 810000009
    refunds[0]["refund_shipping_lines"].append(second)
    refunds[0]["transactions"][0]["amount"] = "10.00"
    (refund,) = _refunds(refunds)
    assert refund.shipping == Money("10.00", "USD")


def test_the_buyers_currency_is_read_from_presentment_money() -> None:
    refunds = _fixture()[:1]
    refunds[0]["refund_shipping_lines"][0]["subtotal_amount_set"] = {
        "shop_money": {"amount": "338.50", "currency_code": "INR"},
        "presentment_money": {"amount": "5.00", "currency_code": "USD"}}
    (refund,) = _refunds(refunds)
    assert refund.shipping == Money("5.00", "USD")


@pytest.mark.parametrize("line", [
    {"id": 1, "shipping_line_id": 2},
    {"id": 1, "subtotal_amount_set": {"shop_money": {"amount": "-5.00", "currency_code": "USD"},
                                      "presentment_money": {"amount": "-5.00",
                                                            "currency_code": "USD"}}},
    {"id": 1, "subtotal_amount_set": {"shop_money": {"amount": "5.00", "currency_code": "USD"},
                                      "presentment_money": {"amount": "5.00",
                                                            "currency_code": "EUR"}}},
])
def test_a_broken_shipping_line_is_refused_naming_it(line: dict[str, Any]) -> None:
    refunds = _fixture()[:1]
    refunds[0]["refund_shipping_lines"] = [line]
    with pytest.raises(ValidationError, match="refund_shipping_lines"):
        _refunds(refunds)
