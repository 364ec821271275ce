"""The one multi-currency refund Shopify documents: a USD shop, a buyer who paid in EUR.

Shopify's ``order`` query reference asks ``suggestedRefund`` for one unit of
line 983004162 of order 469306983 and answers 7.0 EUR (8.26 USD in the
shop's money). Shopify does not publish that order, so the order here is
built around the documented line (see each fixture's ``_source``); what is
asserted against Shopify's own figures is the refund of that unit: in the
buyer's currency, 7.00 EUR, never the shop's 8.26.
"""

from __future__ import annotations

import copy
from typing import Any

import responses
from aftersales_shopify import ShopifyMarketplace, mapping
from aftersales_shopify.schemas import RestOrder
from responses import matchers

from aftersales.models import Order, ReturnKind, ReturnLine
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import RefundBreakdown, compute_refund

from .conftest import BASE, GraphQL, body, fx

LINE = "983004162"


def _order() -> Order:
    return mapping.order_from_rest(RestOrder.model_validate(
        body("rest_order_469306983_multi_currency")["order"]))


def _shopify_subtotal() -> dict[str, Any]:
    subtotal: dict[str, Any] = body("graphql_suggested_refund_multi_currency_docs")[
        "data"]["order"]["suggestedRefund"]["subtotalSet"]
    return subtotal


def _one_unit(order: Order) -> RefundBreakdown:
    return compute_refund(order, [ReturnLine(order_line_id=LINE, quantity=1)],
                          kind=ReturnKind.RETURN, policy=ReturnPolicy())


def test_the_fixtures_name_their_sources() -> None:
    for name in ("graphql_suggested_refund_multi_currency_docs",
                 "rest_order_469306983_multi_currency"):
        assert fx(name)["_source"].strip()


def test_the_order_is_kept_in_the_buyers_currency_beside_the_shops() -> None:
    order = _order()
    assert (order.currency, order.shop_currency) == ("EUR", "USD")
    assert order.line(LINE).unit_price == Money("7.00", "EUR")
    assert order.shop_total == Money("8.26", "USD")


def test_one_unit_is_priced_as_shopifys_suggested_refund_prices_it() -> None:
    subtotal = _shopify_subtotal()
    presentment, shop = subtotal["presentmentMoney"], subtotal["shopMoney"]
    b = _one_unit(_order())
    assert b.goods - b.discount_share == Money(presentment["amount"],
                                               presentment["currencyCode"])  # 7.00 EUR
    assert b.total.currency == "EUR"
    assert b.total != Money(shop["amount"], "EUR")  # never the shop's 8.26 relabelled


def test_the_full_refund_is_what_the_buyer_paid() -> None:
    order = _order()
    assert _one_unit(order).total == order.total == Money("7.00", "EUR")


def test_the_refund_is_sent_in_euros_for_shopifys_figure(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
) -> None:
    order = _order()
    instruction = _one_unit(order).to_refund(order.external_id, "rk-eur", order=order)
    calc = copy.deepcopy(body("rest_refunds_calculate"))
    calc["refund"]["currency"] = "EUR"
    calc["refund"]["transactions"] = [{
        "order_id": 469306983, "kind": "suggested_refund", "gateway": "bogus",
        "parent_id": 1001, "amount": "7.00", "currency": "EUR", "maximum_refundable": "7.00"}]
    http.post(f"{BASE}/orders/469306983/refunds/calculate.json", json=calc, match=[
        matchers.json_params_matcher({"refund": {"currency": "EUR", "refund_line_items": [
            {"line_item_id": int(LINE), "quantity": 1, "restock_type": "no_restock"}]}})])
    subtotal = _shopify_subtotal()
    gql.reply("RefundCreate", {"data": {"refundCreate": {"refund": {
        "id": "gid://shopify/Refund/1", "totalRefundedSet": subtotal}, "userErrors": []}}})
    paid = market.refund(instruction)
    sent = gql.seen[0]["variables"]["input"]
    assert sent["currency"] == "EUR"
    assert [t["amount"] for t in sent["transactions"]] == ["7.00"]
    assert paid.amount == Money("7.0", "EUR")  # Shopify's presentment figure, not 8.26 USD
