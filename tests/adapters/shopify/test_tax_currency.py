"""Shopify tax and currencies: what a refund pays back agrees with Shopify to the cent.

Three orders: Shopify's own sample order 450789469 (sales tax on top, from
the official SDK's tests), a VAT order whose prices include tax, and an order
paid in CAD in a USD shop. Each full refund must equal what the buyer paid,
and a partial one what Shopify's ``refunds/calculate`` prices.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, mapping
from aftersales_shopify.schemas import RestOrder
from responses import matchers

from aftersales.errors import ValidationError
from aftersales.models import Order, Refund, ReturnKind, ReturnLine
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import RefundBreakdown, compute_refund

from .conftest import BASE, FIXTURES, GraphQL, body


def _order(name: str) -> Order:
    return mapping.order_from_rest(RestOrder.model_validate(body(name)["order"]))


def _preview(order: Order, units: dict[str, int], *, shipping: bool = False,
             amount: Money | None = None) -> RefundBreakdown:
    lines = [ReturnLine(order_line_id=k, quantity=v) for k, v in units.items()]
    return compute_refund(order, lines, kind=ReturnKind.RETURN, policy=ReturnPolicy(),
                          refund_shipping=shipping, amount=amount)


def _everything(order: Order) -> RefundBreakdown:
    return _preview(order, {ln.external_id: ln.quantity for ln in order.lines}, shipping=True)


# ---------------------------------------------------------------- taxes on top


def test_sample_order_reads_its_tax_lines() -> None:
    order = _order("rest_orders_get")
    assert order.taxes_included is False
    assert order.tax == Money("11.94", "USD")
    assert [ln.tax for ln in order.lines] == [Money("3.98", "USD")] * 3
    assert order.shop_currency is None  # the buyer paid in the shop's currency


def test_full_refund_of_the_sample_order_is_what_the_buyer_paid() -> None:
    order = _order("rest_orders_get")
    full = _everything(order)
    assert full.total == order.total == Money("598.94", "USD")
    assert full.tax == full.total_tax == Money("11.94", "USD")


def test_one_line_is_priced_as_refunds_calculate_prices_it() -> None:
    order = _order("rest_orders_get")
    calc = body("rest_refunds_calculate")["refund"]["refund_line_items"][0]
    b = _preview(order, {str(calc["line_item_id"]): calc["quantity"]})
    (line,) = b.lines
    assert line.goods - line.discount_share == Money(calc["subtotal"], "USD")  # 195.67
    assert line.amount_tax == line.tax == Money(calc["total_tax"], "USD")  # 3.98
    assert b.total == Money("199.65", "USD")


def test_two_lines_are_priced_as_shopify_recorded_their_refund() -> None:
    order = _order("rest_orders_get")
    facts = json.loads((FIXTURES / "rest_refunds_list_facts.json").read_text())
    items = facts["refund_line_items"]
    b = _preview(order, {str(i["line_item_id"]): i["quantity"] for i in items})
    # Shopify's sample refund spreads the 0.01 of discount rounding the other
    # way round between these two lines; the sums are what the buyer gets.
    assert b.goods - b.discount_share == sum((Money(i["subtotal"], "USD") for i in items),
                                             Money.zero("USD"))  # 391.33
    assert b.total_tax == sum((Money(i["total_tax"], "USD") for i in items),
                              Money.zero("USD"))  # 7.96
    assert b.total == Money("399.29", "USD")


def test_a_partial_amount_keeps_tax_in_proportion() -> None:
    order = _order("rest_orders_get")
    b = _preview(order, {"518995019": 1}, amount=Money("99.83", "USD"))
    assert b.total == Money("99.83", "USD")
    assert b.total_tax == Money("1.99", "USD")  # 3.98 × 99.83 / 199.65, half-up


# ---------------------------------------------------------------- taxes included


def test_taxes_included_order_refunds_exactly_what_was_paid() -> None:
    order = _order("rest_order_taxes_included")
    assert order.taxes_included is True
    full = _everything(order)
    assert full.total == order.total == Money("243.95", "EUR")
    assert full.tax == Money("38.00", "EUR")  # inside the goods, not added again
    assert full.shipping_tax == Money("0.95", "EUR")
    assert full.total_tax == Money("38.95", "EUR")


def test_taxes_included_one_unit_of_two() -> None:
    order = _order("rest_order_taxes_included")
    first = _preview(order, {"866550311": 1})
    assert first.total == Money("119.00", "EUR")
    assert first.total_tax == Money("19.00", "EUR")


# ---------------------------------------------------------------- two currencies


def test_multi_currency_order_is_kept_in_the_buyers_currency() -> None:
    order = _order("rest_order_multi_currency")
    assert order.currency == "CAD"
    assert order.shop_currency == "USD"
    assert order.shop_total == Money("26.30", "USD")
    assert order.lines[0].unit_price == Money("13.50", "CAD")
    assert order.tax == Money("1.76", "CAD")
    full = _everything(order)
    assert full.total == order.total == Money("35.51", "CAD")


def test_a_presentment_amount_without_its_set_is_refused() -> None:
    raw = copy.deepcopy(body("rest_order_multi_currency")["order"])
    del raw["line_items"][0]["price_set"]
    with pytest.raises(ValidationError, match="price has no presentment_money"):
        mapping.order_from_rest(RestOrder.model_validate(raw))


def _calc(http: responses.RequestsMock, order_id: str, currency: str, amount: str,
          expect: dict[str, Any]) -> None:
    # Shopify's SDK answer for this request, with the suggested transaction set
    # to the figure under test (the SDK's 41.94 reflects earlier refunds there).
    calc = copy.deepcopy(body("rest_refunds_calculate"))
    tx = calc["refund"]["transactions"][0]
    tx.update(amount=amount, maximum_refundable=amount, currency=currency,
              order_id=int(order_id))
    calc["refund"]["currency"] = currency
    if "shipping" in expect:  # the shipping asked is still refundable there
        most = expect["shipping"]["amount"]
        calc["refund"]["shipping"] = {"amount": most, "tax": "0.00", "maximum_refundable": most}
    http.post(f"{BASE}/orders/{order_id}/refunds/calculate.json", json=calc,
              match=[matchers.json_params_matcher({"refund": expect})])


def _created(amount: str, currency: str, shop: str) -> dict[str, Any]:
    return {"data": {"refundCreate": {"refund": {
        "id": "gid://shopify/Refund/1", "note": None, "createdAt": "2026-01-12T10:00:00Z",
        "totalRefundedSet": {"shopMoney": {"amount": shop, "currencyCode": "USD"},
                             "presentmentMoney": {"amount": amount, "currencyCode": currency}}},
        "userErrors": []}}}


def test_multi_currency_refund_is_sent_in_the_buyers_currency(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL
) -> None:
    order = _order("rest_order_multi_currency")
    instruction = _everything(order).to_refund(order.external_id, "rk-cad", order=order)
    _calc(http, "5150235935", "CAD", "35.51", {
        "currency": "CAD", "shipping": {"amount": "6.75"},
        "refund_line_items": [{"line_item_id": 10433434452, "quantity": 2,
                               "restock_type": "no_restock"}]})
    gql.reply("RefundCreate", _created("35.51", "CAD", "26.30"))
    done = market.refund(instruction)
    sent = gql.seen[0]["variables"]["input"]
    assert sent["currency"] == "CAD"
    assert [t["amount"] for t in sent["transactions"]] == ["35.51"]
    assert sent["shipping"] == {"amount": "6.75"}
    assert done.amount == Money("35.51", "CAD")  # never the shop-currency 26.30


def test_a_suggestion_in_another_currency_pays_nothing(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    # The refund is in CAD (the buyer's money); a calculation answered in the shop's USD
    # gives payment maxima in USD, which must never cap (or pay) a CAD amount.
    order = _order("rest_order_multi_currency")
    instruction = _everything(order).to_refund(order.external_id, "rk-usd", order=order)
    _calc(http, "5150235935", "USD", "100.00", {
        "currency": "CAD", "shipping": {"amount": "6.75"},
        "refund_line_items": [{"line_item_id": 10433434452, "quantity": 2,
                               "restock_type": "no_restock"}]})
    with pytest.raises(ValidationError, match="USD") as err:
        market.refund(instruction)
    assert err.value.field == "transactions.currency"
    assert not [c for c in http.calls if "graphql" in c.request.url]  # refundCreate never sent


# ---------------------------------------------------------------- Shopify's own figures


@pytest.mark.parametrize(("suggested", "sent"), [
    ("199.65", "199.65"),  # Shopify agrees with us
    ("199.64", "199.64"),  # a cent lower by Shopify's rounding: Shopify's figure is paid
    ("199.66", "199.65"),  # a cent higher: never more than the refund asked and recorded
])
def test_refund_pays_shopifys_suggested_transactions(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
    suggested: str, sent: str,
) -> None:
    order = _order("rest_orders_get")
    instruction = _preview(order, {"518995019": 1}).to_refund(order.external_id, "rk-1",
                                                              order=order)
    _calc(http, "450789469", "USD", suggested, {
        "currency": "USD", "refund_line_items": [
            {"line_item_id": 518995019, "quantity": 1, "restock_type": "no_restock"}]})
    gql.reply("RefundCreate", _created(sent, "USD", sent))
    market.refund(instruction)
    assert [t["amount"] for t in gql.seen[0]["variables"]["input"]["transactions"]] == [sent]


def test_a_smaller_refund_is_spread_over_the_suggested_transactions(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL
) -> None:
    order = _order("rest_orders_get")
    b = _preview(order, {"518995019": 1}, amount=Money("100.00", "USD"))
    _calc(http, "450789469", "USD", "199.65", {
        "currency": "USD", "refund_line_items": [
            {"line_item_id": 518995019, "quantity": 1, "restock_type": "no_restock"}]})
    gql.reply("RefundCreate", _created("100.00", "USD", "100.00"))
    market.refund(b.to_refund(order.external_id, "rk-2", order=order))
    assert [t["amount"] for t in gql.seen[0]["variables"]["input"]["transactions"]] == ["100.00"]


def test_refund_more_than_shopify_allows_is_refused(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    order = _order("rest_orders_get")
    instruction = _preview(order, {"518995019": 1}).to_refund(order.external_id, "rk-3",
                                                              order=order)
    _calc(http, "450789469", "USD", "41.94", {
        "currency": "USD", "refund_line_items": [
            {"line_item_id": 518995019, "quantity": 1, "restock_type": "no_restock"}]})
    with pytest.raises(ValidationError, match=r"41\.94 USD .*not 199\.65 USD"):
        market.refund(instruction)


def test_shipping_shopify_holds_already_refunded_is_not_paid_again(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    # Shopify's own calculation for order 450789469 (the SDK's answer, unchanged): its
    # shipping is refundable no more (maximum_refundable 0.00), say a refund in the admin
    # the store has not read yet. A shipping refund must not be paid from the payment.
    instruction = Refund(order_id="450789469", amount=Money("10.00", "USD"),
                         shipping=Money("10.00", "USD"), idempotency_key="rk-ship")
    http.post(f"{BASE}/orders/450789469/refunds/calculate.json",
              json=body("rest_refunds_calculate"))
    with pytest.raises(ValidationError, match=r"0\.00 USD of the shipping") as err:
        market.refund(instruction)
    assert err.value.field == "shipping"
    assert not [c for c in http.calls if "graphql" in c.request.url]  # refundCreate never sent
