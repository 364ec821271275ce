"""Shipping refunded in Shopify's admin, read from ``refund_shipping_lines``.

From Admin API 2024-10 Shopify no longer reports refunded shipping as a
``shipping_refund`` order adjustment: it is read from the refund's
``refund_shipping_lines`` (``subtotal_amount_set``). Shops still send the
adjustment beside the line for the same money, so the two must never add up.
The fixture names its sources.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings, mapping
from aftersales_shopify.schemas import RestOrder

from aftersales.app import AfterSales
from aftersales.errors import ValidationError
from aftersales.models import Money, PlatformRefund

from .conftest import BASE, TOKEN, body, fx


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


def _shipped_order() -> dict[str, Any]:
    """Sample order 450789469 with 10.00 shipping, refunded in the admin: its refund
    509562969 and a 10.00 shipping refund reported the 2024-10 way (no adjustment)."""
    raw = copy.deepcopy(body("rest_orders_get"))
    order = raw["order"]
    money = {"shop_money": {"amount": "10.00", "currency_code": "USD"},
             "presentment_money": {"amount": "10.00", "currency_code": "USD"}}
    order["shipping_lines"][0].update(price="10.00", price_set=money, discounted_price="10.00",
                                      discounted_price_set=money)
    order["total_price"] = "608.94"
    order["total_price_set"] = {"shop_money": {"amount": "608.94", "currency_code": "USD"},
                                "presentment_money": {"amount": "608.94",
                                                      "currency_code": "USD"}}
    shipping_refund = _fixture()[0]
    shipping_refund["refund_shipping_lines"][0]["subtotal_amount_set"] = money
    shipping_refund["transactions"][0]["amount"] = "10.00"
    order["refunds"].append(shipping_refund)
    return raw


@pytest.fixture
def app(sqlite_url: str, http: responses.RequestsMock) -> Iterator[AfterSales]:
    http.get(f"{BASE}/orders/450789469.json", json=_shipped_order())
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token=TOKEN),
                                sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        yield app


def test_shipping_refunded_in_the_admin_is_not_offered_again(app: AfterSales) -> None:
    opened = app.returns.request("shopify", "450789469", {"518995019": 1},
                                 reason="damaged_in_transit", kind="refund_only",
                                 idempotency_key="ship-once", auto=False)
    assert opened.rma_id is not None
    preview = app.returns.preview_refund(opened.rma_id, refund_shipping=True)
    assert preview.shipping == Money("0", "USD")
    assert preview.total == Money("199.65", "USD")
