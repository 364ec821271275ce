"""WooCommerce's status and reason tables, row by row, and the payload conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aftersales_woocommerce import mapping
from aftersales_woocommerce.schemas import WcOrder, WcRefund, WcReview

from aftersales.models import Refund, RefundLine, ReturnReason, ReturnStatus
from aftersales.money import Money

from .conftest import body

STATUS_ROWS = [
    ("pending", None),
    ("processing", None),
    ("on-hold", None),
    ("completed", None),
    ("cancelled", ReturnStatus.CANCELLED),
    ("refunded", ReturnStatus.REFUNDED),
    ("failed", None),
    ("trash", ReturnStatus.CANCELLED),
    ("checkout-draft", None),
]

REASON_ROWS = [
    ("Damaged in transit", ReturnReason.DAMAGED_IN_TRANSIT),
    ("arrived damaged", ReturnReason.DAMAGED_IN_TRANSIT),
    ("Wrong size", ReturnReason.WRONG_SIZE),
    ("a bit too small", ReturnReason.WRONG_SIZE),
    ("way too large", ReturnReason.WRONG_SIZE),
    ("too big for me", ReturnReason.WRONG_SIZE),
    ("Wrong item sent", ReturnReason.WRONG_ITEM),
    ("Not as described", ReturnReason.NOT_AS_DESCRIBED),
    ("one part missing", ReturnReason.MISSING_ITEM),
    ("Defective unit", ReturnReason.QUALITY_ISSUE),
    ("broken zipper", ReturnReason.QUALITY_ISSUE),
    ("faulty battery", ReturnReason.QUALITY_ISSUE),
    ("arrived late", ReturnReason.LATE_DELIVERY),
    ("I changed my mind", ReturnReason.CHANGED_MIND),
    ("no longer needed", ReturnReason.CHANGED_MIND),
    ("no reason given", ReturnReason.NO_REASON),
]


def test_the_status_table_has_exactly_the_documented_values() -> None:
    assert {raw for raw, _ in STATUS_ROWS} == set(mapping.ORDER_STATUS)


def test_every_reason_phrase_has_a_row() -> None:
    assert len(REASON_ROWS) == len(mapping.REASON_KEYWORDS)
    for (phrase, reason), (text, expected) in zip(
        mapping.REASON_KEYWORDS, REASON_ROWS, strict=True
    ):
        assert phrase in text.lower()
        assert reason is expected


@pytest.mark.parametrize(("raw", "status"), STATUS_ROWS)
def test_status_row(raw: str, status: ReturnStatus | None) -> None:
    assert mapping.map_order_status(raw) is status
    assert mapping.map_order_status("wc-" + raw.upper()) is status  # meta form wc-<status>


@pytest.mark.parametrize(("text", "reason"), REASON_ROWS)
def test_reason_row(text: str, reason: ReturnReason) -> None:
    assert mapping.classify_reason(text) is reason


def test_unknown_status_and_text_say_nothing() -> None:
    assert mapping.map_order_status("custom-awaiting-pickup") is None
    assert mapping.classify_reason("") is ReturnReason.OTHER
    assert mapping.classify_reason(None) is ReturnReason.OTHER


def test_order_fixture_becomes_an_order() -> None:
    order = mapping.order_from_wc(WcOrder.model_validate(body("orders_get")))
    assert order.external_id == "727"
    assert [(ln.external_id, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("315", 2, Money("3.00", "USD")), ("316", 1, Money("12.00", "USD"))]
    assert order.shipping == Money("10.00", "USD")
    assert order.total == Money("29.35", "USD")
    assert order.placed_at.isoformat() == "2017-03-22T19:28:02+00:00"  # the *_gmt time
    assert order.buyer.external_id == "guest:727"
    assert "john" not in repr(order.buyer).lower()


def test_coupon_discount_is_the_line_subtotal_minus_total() -> None:
    raw = body("orders_get") | {"discount_total": "2.00"}
    raw["line_items"] = [dict(raw["line_items"][1], total="10.00")]
    order = mapping.order_from_wc(WcOrder.model_validate(raw))
    assert order.lines[0].discount == Money("2.00", "USD")
    assert order.discount.is_zero()


def test_shipment_tracking_meta_becomes_shipments() -> None:
    raw = body("orders_get") | {"meta_data": [{"key": "_wc_shipment_tracking_items", "value": [
        {"tracking_provider": "UPS", "tracking_number": "1Z999AA1234567890",
         "date_shipped": "1700000000", "tracking_id": "abc"}]}]}
    ship = mapping.order_from_wc(WcOrder.model_validate(raw)).shipments[0]
    assert (ship.tracking_number, ship.carrier, ship.external_id) == (
        "1Z999AA1234567890", "ups", "abc")
    assert ship.shipped_at is not None


def test_refund_body_carries_lines_and_the_idempotency_key() -> None:
    refund = Refund(order_id="723", amount=Money("30", "USD"), note="Damaged in transit",
                    idempotency_key="rma-1:refund",
                    lines=[RefundLine(order_line_id="111", quantity=1,
                                      amount=Money("30", "USD"))])
    sent = mapping.refund_body(refund, api_refund=True, restock=True)
    assert sent == {
        "amount": "30.00", "reason": "Damaged in transit", "api_refund": True,
        "api_restock": True,
        "line_items": [{"id": "111", "quantity": 1, "refund_total": "30.00"}],
        "meta_data": [{"key": "_aftersales_idempotency_key", "value": "rma-1:refund"}]}
    assert mapping.refund_key(sent) == "rma-1:refund"
    assert mapping.refund_key(body("order_refunds_create")) is None


def test_created_refund_keeps_the_request_and_takes_the_store_id() -> None:
    req = Refund(order_id="723", amount=Money("10", "USD"), idempotency_key="k")
    done = mapping.refund_from_wc(WcRefund.model_validate(body("order_refunds_create")), req)
    assert (done.external_id, done.amount, done.raw_status) == (
        "726", Money("10.00", "USD"), "recorded")


def test_reviews_fixture_becomes_reviews_with_plain_text() -> None:
    first, second = (mapping.review_from_wc(WcReview.model_validate(r))
                     for r in body("products_reviews_list"))
    assert first is not None
    assert second is not None
    assert (first.external_id, first.rating, first.body) == ("22", 5, "Nice album!")
    assert second.rating == 1
    assert second.sku == "31"
    assert first.created_at.isoformat() == "2018-10-18T20:59:17+00:00"


def test_a_comment_without_stars_is_not_a_review() -> None:
    raw = body("products_reviews_list")[0] | {"rating": 0}
    assert mapping.review_from_wc(WcReview.model_validate(raw)) is None


def test_html_entities_and_tags_are_stripped() -> None:
    assert mapping.strip_html("<p>Fits &amp; looks <b>great</b></p>\n") == "Fits & looks great"


def test_notes_speak_to_the_buyer_only_when_they_should() -> None:
    approved = mapping.note_for("approved", "RMA-1", note="Print the label.")
    assert approved == {"note": "Your return request RMA-1 has been approved.\n\nPrint the label.",
                        "customer_note": True}
    assert mapping.note_for("received", "RMA-1")["customer_note"] is False
    assert "too late" in mapping.note_for("rejected", "RMA-1", reason="too late")["note"]


def test_amounts_are_decimal_not_float() -> None:
    line = WcOrder.model_validate(body("orders_get")).line_items[0]
    assert line.price == Decimal("3")
