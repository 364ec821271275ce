"""Shopify's status and reason tables, row by row, and the payload conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aftersales_shopify import mapping
from aftersales_shopify.schemas import GqlReturn, RestFulfillment, RestOrder, WebhookReturn

from aftersales.errors import ValidationError
from aftersales.models import (
    Refund,
    RefundLine,
    ReturnKind,
    ReturnReason,
    ReturnStatus,
    TaxLine,
)
from aftersales.money import Money

from .conftest import body, fx

STATUS_ROWS = [
    ("REQUESTED", ReturnStatus.REQUESTED),
    ("OPEN", ReturnStatus.APPROVED),
    ("DECLINED", ReturnStatus.REJECTED),
    ("CLOSED", ReturnStatus.CLOSED),
    ("CANCELED", ReturnStatus.CANCELLED),
]

REASON_ROWS = [
    ("SIZE_TOO_SMALL", ReturnReason.WRONG_SIZE),
    ("SIZE_TOO_LARGE", ReturnReason.WRONG_SIZE),
    ("UNWANTED", ReturnReason.CHANGED_MIND),
    ("STYLE", ReturnReason.CHANGED_MIND),
    ("COLOR", ReturnReason.CHANGED_MIND),
    ("NOT_AS_DESCRIBED", ReturnReason.NOT_AS_DESCRIBED),
    ("WRONG_ITEM", ReturnReason.WRONG_ITEM),
    ("DEFECTIVE", ReturnReason.QUALITY_ISSUE),
    ("OTHER", ReturnReason.OTHER),
    ("UNKNOWN", ReturnReason.OTHER),
]


def test_the_status_table_has_exactly_the_documented_values() -> None:
    assert {raw for raw, _ in STATUS_ROWS} == set(mapping.RETURN_STATUS)


def test_the_reason_table_has_exactly_the_documented_values() -> None:
    assert {raw for raw, _ in REASON_ROWS} == set(mapping.RETURN_REASON)


@pytest.mark.parametrize(("raw", "status"), STATUS_ROWS)
def test_status_row(raw: str, status: ReturnStatus) -> None:
    assert mapping.map_return_status(raw) is status
    assert mapping.map_return_status(raw.lower()) is status  # webhooks send lower case


@pytest.mark.parametrize(("raw", "reason"), REASON_ROWS)
def test_reason_row(raw: str, reason: ReturnReason) -> None:
    assert mapping.map_reason(raw) is reason
    assert mapping.map_reason(raw.lower()) is reason


def test_an_unknown_status_is_a_validation_error_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="'status'"):
        mapping.map_return_status("LOST_IN_SPACE")


def test_an_unknown_or_missing_reason_is_other() -> None:
    assert mapping.map_reason("MERCHANT_DEFINED_42") is ReturnReason.OTHER
    assert mapping.map_reason(None) is ReturnReason.OTHER


@pytest.mark.parametrize(("reason", "code"), [
    ("return_period_ended", "RETURN_PERIOD_ENDED"), ("final sale", "FINAL_SALE"),
    ("other", "OTHER"), ("we just don't want to", "OTHER"),
])
def test_decline_reason(reason: str, code: str) -> None:
    assert mapping.decline_reason(reason) == code


def test_gid_round_trip() -> None:
    assert mapping.gid("Order", 450789469) == "gid://shopify/Order/450789469"
    assert mapping.gid("Order", "gid://shopify/Order/1") == "gid://shopify/Order/1"
    assert mapping.numeric_id("gid://shopify/Order/450789469") == "450789469"


def test_rest_order_fixture_becomes_an_order() -> None:
    order = mapping.order_from_rest(RestOrder.model_validate(body("rest_orders_get")["order"]))
    assert order.external_id == "450789469"
    assert [ln.sku for ln in order.lines] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert order.lines[0].unit_price == Money("199.00", "USD")
    # the 10.00 discount code is already spread over the lines (3.34 + 3.33 + 3.33)
    assert [ln.discount.amount for ln in order.lines if ln.discount] == [
        Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert order.discount.is_zero()
    assert order.total == Money("598.94", "USD")
    assert order.placed_at.utcoffset() is not None
    assert order.buyer.external_id == "207119551"
    # Shopify's example order has one fulfillment, and its status is "failure":
    # a parcel that never left is not a shipment.
    assert order.shipments == []
    assert "bob" not in repr(order.buyer).lower()  # personal data masked in reprs


def test_fulfillments_give_one_shipment_per_tracking_number() -> None:
    raw = body("rest_fulfillments_list")["fulfillments"][0]
    twice = {**raw, "status": "success", "tracking_numbers": ["A1", "B2"], "tracking_number": "A1"}
    cancelled = {**raw, "id": 2, "status": "cancelled"}
    ships = mapping.shipments_from_rest(
        RestFulfillment.model_validate(f) for f in (twice, cancelled))
    assert [s.tracking_number for s in ships] == ["A1", "B2"]
    assert ships[0].line_ids == ["466157049"]


def test_graphql_return_becomes_a_request() -> None:
    ret = GqlReturn.model_validate(body("graphql_return_get")["data"]["return"])
    req = mapping.return_from_gql(ret)
    assert req.external_id == "gid://shopify/Return/945000960"
    assert req.order_id == "625362839"
    assert req.status is ReturnStatus.REQUESTED
    assert req.kind is ReturnKind.RETURN
    assert req.lines[0].order_line_id == "703073504"
    assert req.lines[0].reason is ReturnReason.WRONG_ITEM
    assert req.buyer_note == "Sorry, I ordered the wrong item."


def test_a_return_without_lines_is_refused() -> None:
    ret = GqlReturn.model_validate({"id": "gid://shopify/Return/1", "status": "OPEN"})
    with pytest.raises(ValidationError, match="line items"):
        mapping.return_from_gql(ret, order_id="1")


def test_webhook_payload_sample_becomes_a_request() -> None:
    hook = WebhookReturn.model_validate(body_sample())
    req = mapping.return_from_webhook(hook)
    assert req is not None
    assert req.order_id == "5196695273621"
    assert req.lines[0].order_line_id == "12695210000533"
    assert req.lines[0].reason is ReturnReason.CHANGED_MIND
    assert req.raw_status == "REQUESTED"


def body_sample() -> dict[str, object]:
    sample: dict[str, object] = fx("webhook_returns_request_payload_sample")["body"]
    return sample


def _refund(amount: str, lines: list[RefundLine] | None = None) -> Refund:
    return Refund(order_id="450789469", amount=Money(amount, "USD"), lines=lines or [],
                  idempotency_key="k1", note="wrong size")


def test_refund_input_spreads_the_amount_over_paying_transactions() -> None:
    txs = [{"parent_id": 1, "gateway": "bogus", "amount": "0", "maximum_refundable": "10.00"},
           {"parent_id": 2, "gateway": "cash", "amount": "0", "maximum_refundable": "50.00"}]
    line = RefundLine(order_line_id="518995019", quantity=1, amount=Money("25.00", "USD"))
    data = mapping.refund_input(_refund("25.00", [line]), txs, "487838322")
    assert [(t["parentId"], t["amount"]) for t in data["transactions"]] == [
        ("gid://shopify/OrderTransaction/1", "10.00"), ("gid://shopify/OrderTransaction/2", "15.00")]
    assert data["refundLineItems"] == [{
        "lineItemId": "gid://shopify/LineItem/518995019", "quantity": 1, "restockType": "RETURN",
        "locationId": "gid://shopify/Location/487838322"}]
    assert data["orderId"] == "gid://shopify/Order/450789469"


def test_refund_input_without_location_does_not_restock() -> None:
    line = RefundLine(order_line_id="5", quantity=1, amount=Money("1.00", "USD"))
    txs = [{"parent_id": 1, "gateway": "g", "maximum_refundable": "9"}]
    data = mapping.refund_input(_refund("1.00", [line]), txs, None)
    assert data["refundLineItems"][0]["restockType"] == "NO_RESTOCK"


def test_refund_input_refuses_more_than_the_payments_can_refund() -> None:
    txs = [{"parent_id": 1, "gateway": "g", "maximum_refundable": "41.94"}]
    with pytest.raises(ValidationError, match="amount"):
        mapping.refund_input(_refund("50.00"), txs, None)


def test_refund_input_never_sends_more_than_the_refund_even_within_rounding() -> None:
    # Shopify suggests 20.00 for two lines; the refund keeps a 0.01 restocking fee back
    # (19.99). Shopify's figure is one cent more, inside the one-cent-per-line rounding
    # slack: sending it would pay the fee out and record more than was asked.
    lines = [RefundLine(order_line_id="1", quantity=1, amount=Money("9.99", "USD")),
             RefundLine(order_line_id="2", quantity=1, amount=Money("10.00", "USD"))]
    txs = [{"parent_id": 1, "gateway": "g", "amount": "20.00", "maximum_refundable": "20.00"}]
    data = mapping.refund_input(_refund("19.99", lines), txs, None)
    assert [t["amount"] for t in data["transactions"]] == ["19.99"]


def test_refund_input_takes_shopifys_lower_figure_within_rounding() -> None:
    # Shopify rounds a cent lower than the library: its own figure is sent (never more).
    lines = [RefundLine(order_line_id="1", quantity=1, amount=Money("10.00", "USD"))]
    txs = [{"parent_id": 1, "gateway": "g", "amount": "9.99", "maximum_refundable": "9.99"}]
    data = mapping.refund_input(_refund("10.00", lines), txs, None)
    assert [t["amount"] for t in data["transactions"]] == ["9.99"]


def test_refund_input_in_yen_never_sends_more_than_the_refund() -> None:
    lines = [RefundLine(order_line_id="1", quantity=1, amount=Money("999", "JPY"))]
    refund = Refund(order_id="450789469", amount=Money("999", "JPY"), lines=lines,
                    idempotency_key="k1")
    txs = [{"parent_id": 1, "gateway": "g", "amount": "1000", "maximum_refundable": "1000"}]
    data = mapping.refund_input(refund, txs, None)
    assert [t["amount"] for t in data["transactions"]] == ["999"]


def test_refund_input_refuses_more_than_shopify_values_the_named_units() -> None:
    # Shopify values the unit at 41.94 (say a refund made in its admin took the rest),
    # while the payment could still refund 500.00: the library's 199.65 would pay the
    # buyer more than the unit is refundable for.
    line = RefundLine(order_line_id="518995019", quantity=1, amount=Money("199.65", "USD"))
    txs = [{"parent_id": 1, "gateway": "g", "amount": "41.94", "maximum_refundable": "500.00"}]
    with pytest.raises(ValidationError, match=r"41\.94.*199\.65") as err:
        mapping.refund_input(_refund("199.65", [line]), txs, None)
    assert err.value.field == "amount"


def test_refund_input_tops_up_units_already_named_beyond_the_suggestion() -> None:
    # A top-up names no units (quantity 0): Shopify's suggestion for no units says
    # nothing about the money still due, so the payment's maximum is the only cap.
    line = RefundLine(order_line_id="518995019", quantity=0, amount=Money("20.00", "USD"))
    txs = [{"parent_id": 1, "gateway": "g", "amount": "0.00", "maximum_refundable": "50.00"}]
    data = mapping.refund_input(_refund("20.00", [line]), txs, None)
    assert [t["amount"] for t in data["transactions"]] == ["20.00"]


def test_refund_input_allows_shopifys_rounding_of_each_tax_line() -> None:
    # Three tax lines (state, county, city) each rounded by Shopify: its suggestion may be
    # a cent lower per tax line; that is rounding, and the library's figure is paid.
    taxes = [TaxLine(amount=Money("0.50", "USD"), rate_id=None, title=t)
             for t in ("state", "county", "city")]
    line = RefundLine(order_line_id="1", quantity=1, amount=Money("11.50", "USD"),
                      taxes=taxes)
    txs = [{"parent_id": 1, "gateway": "g", "amount": "11.47", "maximum_refundable": "50.00"}]
    data = mapping.refund_input(_refund("11.50", [line]), txs, None)
    assert [t["amount"] for t in data["transactions"]] == ["11.50"]
