"""Payloads WooCommerce never documented, the way a broken plugin, proxy or attacker sends them.

Each bad value is refused with a library error naming the payload and the
field, never the value, or read exactly; nothing raises a raw pydantic,
``ValueError`` or ``OverflowError``; an answer about another order is refused
before a refund is sent; a server that ignores the page number does not keep
the walk going. Payloads start from the REST docs' examples in ``fixtures``
(``orders_get``: order 727; ``order_refunds_create``; ``products_reviews_list``).
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
import responses
from aftersales_woocommerce import WooCommerceMarketplace
from aftersales_woocommerce.webhooks import parse_order_webhook

from aftersales.errors import (
    AfterSalesError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.models import Refund, RefundLine
from aftersales.money import Money
from aftersales.returns.refund_settle import refused
from aftersales.signing import hmac_sha256_base64
from aftersales.testing import digest_comparisons

from .conftest import BASE, KEY, SECRET, body, fx

ORDER_URL = f"{BASE}/orders/727"
PII = ("Jane Roe", "jane.roe@example.org", "+1 555 0100", "42 Hostile Lane")


def _order(**change: Any) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(body("orders_get"))
    order["billing"].update(first_name="Jane", last_name="Roe", email=PII[1], phone=PII[2])
    order["shipping"]["address_1"] = PII[3]
    order.update(change)
    return order


def _line(**change: Any) -> dict[str, Any]:
    order = _order()
    order["line_items"][0].update(change)
    return order


def _tracking(**item: Any) -> dict[str, Any]:
    return _order(meta_data=[{"key": "_wc_shipment_tracking_items", "value": [
        {"tracking_provider": "UPS", "tracking_number": "1Z999AA1234567890", **item}]}])


def _clean(exc: BaseException) -> None:
    text = str(exc)
    assert "\n" not in text
    assert len(text) < 600
    for secret in (*PII, KEY, SECRET, "wc-secret-0123"):
        assert secret not in text
    assert exc.__cause__ is None or isinstance(exc.__cause__, AfterSalesError)


@pytest.mark.parametrize(("order", "field"), [
    (_order(total="-29.35"), "total"),
    (_order(total="1e3"), "total"),
    (_order(total="9" * 40), "total"),
    (_order(total=True), "total"),
    (_order(total="29.355"), "total"),  # a tenth of a cent
    (_order(currency="JPY", total="29.35"), "total"),  # no sen in a yen total
    (_order(currency=""), "currency"),
    (_order(currency="XX"), "currency"),
    (_order(currency=None), "currency"),
    (_order(id=True), "id"),
    (_order(id=-727), "id"),
    (_order(date_created_gmt=1490211000, date_modified_gmt=None), "date_created_gmt"),
    (_order(date_modified_gmt="9999-03-22T19:28:08"), "date_modified_gmt"),
    (_order(date_modified_gmt="22/03/2017 19:28"), "date_modified_gmt"),
    (_order(date_created_gmt=None, date_modified_gmt=None), "date_created_gmt"),
    (_line(quantity=True), "quantity"),
    (_line(subtotal="-6.00"), "subtotal"),
    (_line(price="NaN"), "price"),
    (_tracking(date_shipped="99999999999999"), "date_shipped"),  # past the year 9999
    (_tracking(date_shipped="5"), "date_shipped"),  # 1970
    (_tracking(tracking_number={"n": PII[1]}), "tracking_number"),
    (_tracking(tracking_number="1Z\x00" * 40_000), "tracking_number"),
])
def test_a_bad_order_field_is_refused_by_name(market: WooCommerceMarketplace,
                                              http: responses.RequestsMock,
                                              order: dict[str, Any], field: str) -> None:
    http.get(ORDER_URL, json=order)
    with pytest.raises((ValidationError, ResponseParseError)) as caught:
        market.get_order("727")
    assert field in str(caught.value)
    _clean(caught.value)


def test_json_number_prices_and_empty_times_are_read(market: WooCommerceMarketplace,
                                                     http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json=_line(price=9.95, quantity=1, subtotal="0.00", total="9.95")
             | {"date_completed_gmt": ""})
    order = market.get_order("727")
    assert order.lines[0].unit_price == Money("9.95", "USD")


def test_an_order_answered_for_another_id_is_refused(market: WooCommerceMarketplace,
                                                     http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json=_order(id=728))
    with pytest.raises(ResponseParseError, match="another order"):
        market.get_order("727")


def test_a_list_with_an_item_that_is_no_object_is_refused(market: WooCommerceMarketplace,
                                                          http: responses.RequestsMock) -> None:
    http.get(f"{BASE}/orders", json=[_order(), "Jane Roe", None])
    with pytest.raises(ResponseParseError, match="not a JSON object"):
        next(iter(market.list_orders()))


def test_a_server_that_ignores_the_page_number_is_not_walked_forever(
    market: WooCommerceMarketplace, http: responses.RequestsMock,
) -> None:
    asked: list[str] = []

    def same(request: Any) -> tuple[int, dict[str, str], str]:
        asked.append(request.url)
        assert len(asked) < 6, "the walk never ends"
        return 200, {"X-WP-TotalPages": "999999"}, json.dumps(
            [_order(id=1), _order(id=2)])

    http.add_callback(responses.GET, f"{BASE}/orders", callback=same)
    pages = list(market.list_orders())
    assert sum(len(p.items) for p in pages) == 2
    assert len(asked) == 2


@pytest.mark.parametrize(("answer", "ctype"), [
    ("<html><body>Briefly unavailable for scheduled maintenance.</body></html>", "text/html"),
    ('[{"id": 727, "line_items": [', "application/json"),
    ('{"code": "woocommerce_rest_cannot_view", "message": "Sorry"}', "application/json"),
])
def test_a_broken_answer_with_http_200_is_a_parse_error(market: WooCommerceMarketplace,
                                                        http: responses.RequestsMock,
                                                        answer: str, ctype: str) -> None:
    http.get(f"{BASE}/orders", body=answer, content_type=ctype)
    with pytest.raises(ResponseParseError):
        next(iter(market.list_orders()))


# ---------------------------------------------------------------- refunds

REFUNDS = f"{BASE}/orders/723/refunds"


def _refund(**kw: Any) -> Refund:
    return Refund(**{"order_id": "723", "amount": Money("10.00", "USD"),
                     "idempotency_key": "rk-1",
                     "lines": [RefundLine(order_line_id="315", quantity=1,
                                          amount=Money("10.00", "USD"))], **kw})


def test_another_orders_shipping_lines_never_go_into_a_refund(
    market: WooCommerceMarketplace, http: responses.RequestsMock,
) -> None:
    http.get(REFUNDS, json=[], headers={"X-WP-TotalPages": "1"})
    http.get(f"{BASE}/orders/723", json=_order(id=999))  # asked 723, answered 999
    with pytest.raises(ValidationError, match="another order") as caught:
        market.refund(_refund(shipping=Money("10.00", "USD"), amount=Money("20.00", "USD")))
    assert refused(caught.value)  # the refund was never posted (no POST is mocked)


def test_an_answer_with_another_refunds_key_is_an_unknown_outcome(
    market: WooCommerceMarketplace, http: responses.RequestsMock,
) -> None:
    http.get(REFUNDS, json=[], headers={"X-WP-TotalPages": "1"})
    other = dict(body("order_refunds_create"), meta_data=[
        {"key": "_aftersales_idempotency_key", "value": "someone-else"}])
    http.post(REFUNDS, json=other, status=201)
    with pytest.raises(ResponseParseError, match="another refund") as caught:
        market.refund(_refund())
    assert not refused(caught.value)  # it may have paid: looked up by key, never re-sent


@pytest.mark.parametrize("change", [{"amount": "-10.00"}, {"amount": "1e1"},
                                    {"date_created_gmt": 1490130431}, {"id": None}])
def test_a_paid_refunds_odd_answer_is_an_unknown_outcome_not_a_refusal(
    market: WooCommerceMarketplace, http: responses.RequestsMock, change: dict[str, Any],
) -> None:
    http.get(REFUNDS, json=[], headers={"X-WP-TotalPages": "1"})
    http.post(REFUNDS, json=dict(body("order_refunds_create"), **change), status=201)
    with pytest.raises(ResponseParseError) as caught:
        market.refund(_refund())
    assert not refused(caught.value)
    _clean(caught.value)


# ---------------------------------------------------------------- reviews


@pytest.mark.parametrize(("change", "field"), [
    ({"rating": 99}, "rating"),  # not clamped to 5
    ({"rating": True}, "rating"),
    ({"rating": -1}, "rating"),
    ({"date_created_gmt": 1490130431}, "date_created_gmt"),
    ({"date_created_gmt": "2999-01-01T00:00:00"}, "date_created_gmt"),
    ({"id": "1\x00"}, "id"),
])
def test_a_bad_review_is_refused_by_name(market: WooCommerceMarketplace,
                                         http: responses.RequestsMock,
                                         change: dict[str, Any], field: str) -> None:
    reviews = body("products_reviews_list")[:1]
    reviews[0].update(change)
    http.get(f"{BASE}/products/reviews", json=reviews, headers={"X-WP-TotalPages": "1"})
    with pytest.raises((ValidationError, ResponseParseError)) as caught:
        list(market.list_reviews())
    assert field in str(caught.value)
    _clean(caught.value)


@pytest.mark.parametrize("change", [{"rating": 99}, {"rating": "x"},
                                    {"date_created_gmt": "garbage"}, {"review": None}])
def test_a_bad_review_is_named_by_its_id(market: WooCommerceMarketplace,
                                        http: responses.RequestsMock,
                                        change: dict[str, Any]) -> None:
    """One bad review stops the review sync: the error named only "woocommerce
    WcReview", so the shop could not tell which review to fix."""
    reviews = body("products_reviews_list")[:1]
    reviews[0].update(id=4242, **change)
    http.get(f"{BASE}/products/reviews", json=reviews, headers={"X-WP-TotalPages": "1"})
    with pytest.raises((ValidationError, ResponseParseError)) as caught:
        list(market.list_reviews())
    assert "product review 4242" in str(caught.value)
    _clean(caught.value)


def test_a_review_dated_in_the_future_does_not_stop_the_review_sync(
    market: WooCommerceMarketplace, http: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``date_created_gmt`` in 2099 (inside the 2000–2100 bound) was handed out
    and carried the cursor there: every later listing asked ``after=2099``."""
    def review(n: int, created: str) -> dict[str, Any]:
        item: dict[str, Any] = copy.deepcopy(body("products_reviews_list")[0])
        item.update(id=n, date_created_gmt=created, rating=4)
        return item

    first = [review(1, "2025-07-01T10:00:00"), review(2, "2099-01-01T00:00:00")]
    http.get(f"{BASE}/products/reviews", json=first, headers={"X-WP-TotalPages": "1"})
    with caplog.at_level(logging.WARNING):
        pages = list(market.list_reviews())
    assert [r.external_id for p in pages for r in p.items] == ["1"]
    assert "review 2" in caplog.text
    http.replace(responses.GET, f"{BASE}/products/reviews",
                 json=[*first, review(3, "2025-07-02T10:00:00")],
                 headers={"X-WP-TotalPages": "1"})
    resumed = list(market.list_reviews(pages[-1].cursor))
    assert [r.external_id for p in resumed for r in p.items] == ["3"]
    assert "2099" not in http.calls[-1].request.url


# ---------------------------------------------------------------- webhooks


def _signed(raw: bytes, topic: str = "order.updated") -> dict[str, str]:
    return {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Signature": hmac_sha256_base64("wc-secret-0123", raw)}


@pytest.mark.parametrize("signature", ["", "AAAA", "not base64\x00", "é" * 44,
                                       hmac_sha256_base64("wrong-secret", b"{}")])
def test_a_webhook_with_a_bad_or_missing_signature_is_refused(
    market: WooCommerceMarketplace, signature: str,
) -> None:
    raw = fx("webhook_order_updated")["request"]["raw_body"].encode()
    headers = {**_signed(raw), "X-WC-Webhook-Signature": signature}
    with pytest.raises(SignatureError):
        market.parse_order_webhook(raw, headers)
    with pytest.raises(SignatureError):
        market.parse_order_webhook(raw, {"X-WC-Webhook-Topic": "order.updated"})


def test_the_webhook_signature_is_compared_in_constant_time(
    market: WooCommerceMarketplace,
) -> None:
    raw = fx("webhook_order_updated")["request"]["raw_body"].encode()
    with digest_comparisons() as calls, pytest.raises(SignatureError):
        market.parse_order_webhook(raw, {**_signed(raw), "X-WC-Webhook-Signature": "AAAA"})
    assert calls


@pytest.mark.parametrize(("data", "field"), [
    ({"id": "727\x00"}, "id"), ({"id": "9" * 100_000}, "id"), ({"id": True}, "id"),
    ({"id": 727, "status": "processing", "currency": "USD", "total": "-1"}, "total"),
    ({"id": 727, "status": "processing", "currency": "USD",
      "date_created_gmt": "2017-03-22T19:28:02", "billing": {"email": 5}}, "billing"),
])
def test_a_signed_webhook_with_a_bad_field_names_it(data: dict[str, Any], field: str) -> None:
    raw = json.dumps(data).encode()
    with pytest.raises(ValidationError, match=f"field '{field}") as caught:
        parse_order_webhook(raw, _signed(raw), secret="wc-secret-0123")
    _clean(caught.value)


def test_a_huge_topic_is_named_not_echoed() -> None:
    raw = b'{"id": 727}'
    for topic in ("product." + PII[1] * 3000, "order." + PII[1] * 3000 + "\x00"):
        with pytest.raises(ValidationError, match="X-WC-Webhook-Topic") as caught:
            parse_order_webhook(raw, _signed(raw, topic), secret="wc-secret-0123")
        _clean(caught.value)


# ---------------------------------------------------------------- logs


def test_a_failing_sync_at_debug_leaks_no_buyer_and_no_secret(
    market: WooCommerceMarketplace, http: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    http.get(f"{BASE}/orders", json=[_order(total="-1")])
    http.get(ORDER_URL, json=_order(currency=PII[1]))
    http.get(f"{BASE}/orders/728", status=400, json={
        "code": "rest_invalid_param", "message": f"Invalid parameter(s): {PII[1]} {PII[2]}",
        "data": {"status": 400}})
    errors = []
    for call in (lambda: next(iter(market.list_orders())), lambda: market.get_order("727"),
                 lambda: market.get_order("728")):
        with pytest.raises(AfterSalesError) as caught:
            call()
        errors.append(caught.value)
    for exc in errors:
        _clean(exc)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (*PII, KEY, SECRET):
        assert secret not in logged


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for n, value in enumerate(obj[:2]):
            out += _paths(value, (*prefix, n))
    return out


@pytest.mark.parametrize("value", [None, True, -1, 1.5, 10**30, "", "1e3", "0.001",
                                   "Jane Roe", "Jane Roe\x00" * 3, [], {"n": "Jane Roe"},
                                   "9999-01-01T00:00:00"])
def test_any_field_of_a_signed_order_webhook_is_read_or_named(value: Any) -> None:
    # Every field of the docs' order in turn: an order, or a named library error that
    # quotes nothing, never a raw exception.
    base = body("orders_get")
    for path in _paths(base):
        order = copy.deepcopy(base)
        spot = order
        for key in path[:-1]:
            spot = spot[key]
        spot[path[-1]] = copy.deepcopy(value)
        raw = json.dumps(order).encode()
        try:
            parse_order_webhook(raw, _signed(raw), secret="wc-secret-0123")
        except AfterSalesError as exc:
            _clean(exc)
