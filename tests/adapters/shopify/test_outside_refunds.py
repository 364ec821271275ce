"""Refunds made in Shopify's admin, outside the library, count against the refund caps.

Shopify's own sample order 450789469 (the official Ruby SDK's REST order
test, ``rest_orders_get.json``) already carries refund 509562969: lines
703073504 and 466157049, one unit each, 195.66 + 3.98 and 195.67 + 3.98 tax.
Shopify reports what is left as ``current_total_price`` 199.65 while
``total_price`` stays 598.94. A full refund through the library must pay
199.65, never the 598.94 the order was first worth.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings, mapping
from aftersales_shopify.schemas import RestOrder

from aftersales.app import AfterSales
from aftersales.errors import ValidationError
from aftersales.models import Money, Order

from .conftest import BASE, TOKEN, body

REFUND = "gid://shopify/Refund/509562969"


def _order() -> Order:
    return mapping.order_from_rest(RestOrder.model_validate(body("rest_orders_get")["order"]))


def test_the_sample_orders_refund_is_mapped_line_by_line() -> None:
    order = _order()
    (refund,) = order.refunds
    assert refund.external_id == REFUND  # the id refundCreate returns, as the store keeps it
    assert [(ln.order_line_id, ln.quantity, ln.amount, ln.tax) for ln in refund.lines] == [
        ("703073504", 1, Money("199.64", "USD"), Money("3.98", "USD")),
        ("466157049", 1, Money("199.65", "USD"), Money("3.98", "USD")),
    ]
    assert refund.shipping is None
    assert refund.amount == Money("399.29", "USD")
    raw = body("rest_orders_get")["order"]
    # What Shopify says is left: the order's total less its refund.
    assert order.total == Money(raw["total_price"], "USD")
    assert order.total - refund.amount == Money(raw["current_total_price"], "USD")


def test_a_shipping_refund_adjustment_counts_as_shipping_refunded() -> None:
    raw = body("rest_orders_get")["order"]
    raw["refunds"][0]["order_adjustments"] = [
        {"kind": "shipping_refund", "amount": "-5.00", "tax_amount": "-0.30"}]
    (refund,) = mapping.order_from_rest(RestOrder.model_validate(raw)).refunds
    assert refund.shipping == Money("5.30", "USD")
    assert refund.amount == Money("404.59", "USD")


@pytest.fixture
def app(sqlite_url: str, http: responses.RequestsMock) -> Iterator[AfterSales]:
    http.get(f"{BASE}/orders/450789469.json", json=body("rest_orders_get"))
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token=TOKEN),
                                sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        yield app


def _request(app: AfterSales, lines: dict[str, int], key: str) -> str:
    opened = app.returns.request("shopify", "450789469", lines, reason="damaged_in_transit",
                                 kind="refund_only", idempotency_key=key, auto=False)
    assert opened.rma_id is not None
    return opened.rma_id


def test_a_full_refund_pays_what_is_left_after_the_admins_refund(app: AfterSales) -> None:
    rma = _request(app, {"518995019": 1, "703073504": 1, "466157049": 1}, "all-three")
    preview = app.returns.preview_refund(rma, refund_shipping=True)
    assert preview.total == Money("199.65", "USD")  # current_total_price, not 598.94
    assert preview.total_tax == Money("3.98", "USD")  # current_total_tax
    assert preview.outside_refunds == [REFUND]
    assert preview.refunded_outside == Money("399.29", "USD")
    by_line = {ln.order_line_id: ln.amount for ln in preview.lines}
    assert by_line == {"518995019": Money("199.65", "USD"), "703073504": Money("0", "USD"),
                       "466157049": Money("0", "USD")}


def test_a_line_refunded_in_the_admin_has_nothing_left(app: AfterSales) -> None:
    rma = _request(app, {"703073504": 1}, "refunded-line")
    assert app.returns.preview_refund(rma).total == Money("0", "USD")
    app.returns.approve(rma)
    with pytest.raises(ValidationError, match="nothing is left to refund"):
        app.returns.refund(rma, idempotency_key="again")


def test_a_partial_amount_above_what_is_left_is_refused(app: AfterSales) -> None:
    rma = _request(app, {"518995019": 1, "703073504": 1}, "two")
    with pytest.raises(ValidationError, match=r"at most 199\.65"):
        app.returns.preview_refund(rma, amount=Money(Decimal("200.00"), "USD"))
