"""Payloads Shopify never documented, the way a broken proxy or an attacker sends them.

Each bad value is refused with a library error naming the payload and the
field (its path, never its value: a wrong-typed field may hold a buyer's
words) or read exactly; nothing raises a raw pydantic, ``KeyError`` or
``AttributeError``; an answer about another record than the one asked for is
refused before anything is written; a loop in the pages ends; a next link is
never followed off the shop. Payloads start from the fixtures beside
(Shopify's REST ``orders/450789469.json`` sample, ``graphql_return_get``).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace
from aftersales_shopify.client import throttle_wait

from aftersales.errors import (
    AfterSalesError,
    RateLimitError,
    RemoteRejectedError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.models import Refund, RefundLine, ReturnKind, ReturnLine, ReturnRequest
from aftersales.money import Money
from aftersales.returns.refund_settle import refused
from aftersales.testing import digest_comparisons

from .conftest import BASE, NO_MORE, TOKEN, GraphQL, Sleeps, body, fx

ORDER_URL = f"{BASE}/orders/450789469.json"
ORDERS_URL = f"{BASE}/orders.json"
JSON = {"Content-Type": "application/json; charset=utf-8"}
#: Buyer data planted in hostile payloads; none of it may reach a log or an error.
PII = ("Jane Roe", "jane.roe@example.org", "+1 555 0100", "42 Hostile Lane")


def _order(**change: Any) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(body("rest_orders_get")["order"])
    order["customer"].update(first_name="Jane", last_name="Roe", email=PII[1], phone=PII[2])
    order["shipping_address"]["address1"] = PII[3]
    order.update(change)
    return order


def _line(**change: Any) -> dict[str, Any]:
    order = _order()
    order["line_items"][0].update(change)
    return order


def _set_total(amount: Any, currency: str = "USD") -> dict[str, Any]:
    order = _order()
    for side in ("shop_money", "presentment_money"):
        order["total_price_set"][side] = {"amount": amount, "currency_code": currency}
    return order


def _clean(exc: BaseException) -> None:
    text = str(exc)
    assert "\n" not in text
    assert len(text) < 600
    for secret in (*PII, TOKEN, "hush"):
        assert secret not in text
    assert exc.__cause__ is None or isinstance(exc.__cause__, AfterSalesError)


# ---------------------------------------------------------------- orders


@pytest.mark.parametrize(("order", "field"), [
    (_line(price="-199.00"), "price"),  # a negative price
    (_line(price="1e3"), "price"),  # an exponent is no price Shopify writes
    (_line(price="9" * 40), "price"),  # beyond any order
    (_line(price=""), "price"),
    (_line(price=None), "price"),
    (_line(price=True), "price"),
    (_line(quantity=True), "quantity"),  # a flag read as one unit
    (_line(quantity=-3), "quantity"),
    (_line(id="1\x002"), "id"),
    (_set_total("-598.94"), "total_price"),
    (_set_total("1.5E+2"), "total_price"),
    (_line(price_set={"shop_money": {"amount": "199.001", "currency_code": "USD"},
                      "presentment_money": {"amount": "199.001", "currency_code": "USD"}}),
     "price"),  # a tenth of a cent
    (_set_total("598.945"), "total_price"),
    (_order(id=10**80), "id"),  # no order has that id
    (_order(id=-1), "id"),
    (_order(id=True), "id"),
    (_order(currency=None), "currency"),
    (_order(currency=""), "currency"),
    (_order(currency="XX"), "currency"),
    (_order(created_at="2026-01-01T00:00:00"), "created_at"),  # naive
    (_order(created_at="2026-01-01"), "created_at"),  # a date, no time
    (_order(created_at=1700000000), "created_at"),  # epoch seconds
    (_order(updated_at="9999-12-31T00:00:00Z"), "updated_at"),
    (_order(updated_at="0001-01-01T00:00:00Z"), "updated_at"),
    (_order(updated_at="2026-01-01T00:00:00+25:00"), "updated_at"),
    (_order(line_items=None), "line_items"),
    (_order(customer={"id": 1, "email": 5}), "customer"),
])
def test_a_bad_order_field_is_refused_by_name(market: ShopifyMarketplace,
                                              http: responses.RequestsMock,
                                              order: dict[str, Any], field: str) -> None:
    http.get(ORDER_URL, json={"order": order})
    with pytest.raises(AfterSalesError) as caught:
        market.get_order("450789469")
    assert isinstance(caught.value, ValidationError | ResponseParseError)
    assert field in str(caught.value)
    _clean(caught.value)


def test_amounts_written_as_json_numbers_are_read_exactly(
    market: ShopifyMarketplace, http: responses.RequestsMock,
) -> None:
    # Shopify's own sample writes refund amounts as JSON numbers: read from their text
    http.get(ORDER_URL, json={"order": _order()})
    refund = market.get_order("450789469").refunds[0]
    assert refund.lines[0].tax == Money(Decimal("3.98"), "USD")


def test_a_100_kb_title_or_a_nul_stays_text_and_never_reaches_an_error(
    market: ShopifyMarketplace, http: responses.RequestsMock,
) -> None:
    http.get(ORDER_URL, json={"order": _line(title="x\x00" * 50_000, price="-1")})
    with pytest.raises(AfterSalesError) as caught:
        market.get_order("450789469")
    assert "x" * 50 not in str(caught.value)


@pytest.mark.parametrize("answer", ["[]", "null", '"orders"', "{}", '{"orders": null}',
                                    '{"orders": {"id": 1}}'])
def test_an_answer_that_is_no_order_list_is_never_an_empty_page(
    market: ShopifyMarketplace, http: responses.RequestsMock, answer: str,
) -> None:
    http.get(ORDERS_URL, body=answer, headers=JSON)
    with pytest.raises(ResponseParseError):
        next(iter(market.list_orders()))


@pytest.mark.parametrize("errors", ["Not Found", {"base": ["Jane Roe jane.roe@example.org"]},
                                    "[API] Invalid API key or access token"])
def test_a_rest_errors_envelope_with_http_200_is_an_error(
    market: ShopifyMarketplace, http: responses.RequestsMock, errors: Any,
) -> None:
    http.get(ORDERS_URL, json={"errors": errors})
    with pytest.raises(RemoteRejectedError) as caught:
        next(iter(market.list_orders()))
    _clean(caught.value)
    assert "jane.roe@example.org" not in (caught.value.body or "")


@pytest.mark.parametrize(("text", "ctype"), [
    ("<html><body>502 Bad Gateway</body></html>", "text/html"),
    ('{"orders": [{"id": 450789469, "line_items": [', "application/json"),
])
def test_an_html_page_or_a_cut_body_with_http_200_is_a_parse_error(
    market: ShopifyMarketplace, http: responses.RequestsMock, text: str, ctype: str,
) -> None:
    http.get(ORDERS_URL, body=text, content_type=ctype)
    with pytest.raises(ResponseParseError):
        next(iter(market.list_orders()))


# ---------------------------------------------------------------- pagination


def test_a_link_header_that_loops_ends_the_walk_with_an_error(
    market: ShopifyMarketplace, http: responses.RequestsMock,
) -> None:
    loop = {"Link": f'<{ORDERS_URL}?limit=2&page_info=same>; rel="next"', **JSON}
    asked: list[str] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        asked.append(request.url)
        assert len(asked) <= 5, "the walk follows a looping Link header forever"
        return 200, loop, json.dumps({"orders": [_order(id=len(asked))]})

    http.add_callback(responses.GET, ORDERS_URL, callback=answer)
    with pytest.raises(ResponseParseError, match="loops"):
        list(market.list_orders())


def test_a_next_link_to_another_host_is_never_followed(
    market: ShopifyMarketplace, http: responses.RequestsMock,
) -> None:
    # Only this shop is mocked: a call to evil.example would fail the test.
    off = {"Link": '<https://evil.example/steal?page_info=abc>; rel="next"'}
    http.get(ORDERS_URL, json={"orders": [_order(id=1)]}, headers=off)
    http.get(ORDERS_URL, json={"orders": []})
    list(market.list_orders())
    assert [c.request.url.split("?")[0] for c in http.calls] == [ORDERS_URL, ORDERS_URL]
    assert "page_info=abc" in (http.calls[1].request.url or "")


def test_a_graphql_end_cursor_that_comes_back_ends_the_walk(
    market: ShopifyMarketplace, gql: GraphQL,
) -> None:
    def page(n: int) -> dict[str, Any]:
        ret = copy.deepcopy(body("graphql_return_get")["data"]["return"])
        return {"data": {"orders": {"pageInfo": {"hasNextPage": True, "endCursor": "c1"},
                                    "nodes": [{"id": f"gid://shopify/Order/{n}",
                                               "updatedAt": f"2025-07-0{n}T10:00:00Z",
                                               "returns": {"pageInfo": NO_MORE, "nodes": [ret]}}]}}}
    for n in (1, 2, 3):
        gql.reply("ListReturns", page(n))
    with pytest.raises(ResponseParseError, match="loops"):
        list(market.list_returns())


# ---------------------------------------------------------------- GraphQL answers


@pytest.mark.parametrize(("change", "field"), [
    ({"id": "gid://shopify/Return/9\x0045"}, "id"),
    ({"id": "9" * 100_000}, "id"),
    ({"createdAt": "2025-01-01T10:00:00"}, "createdAt"),
    ({"createdAt": 1735725600}, "createdAt"),
    ({"status": None}, "status"),
])
def test_a_bad_return_field_is_refused_by_name(market: ShopifyMarketplace, gql: GraphQL,
                                               change: dict[str, Any], field: str) -> None:
    answer = body("graphql_return_get")
    answer["data"]["return"].update(change)
    gql.reply("GetReturn", answer)
    with pytest.raises(ResponseParseError) as caught:
        market.get_return(str(answer["data"]["return"]["id"])[:60])
    assert field in str(caught.value)
    _clean(caught.value)


def test_a_return_line_quantity_that_is_a_flag_is_refused(market: ShopifyMarketplace,
                                                          gql: GraphQL) -> None:
    answer = body("graphql_return_get")
    answer["data"]["return"]["returnLineItems"]["nodes"][0]["quantity"] = True
    gql.reply("GetReturn", answer)
    with pytest.raises(ResponseParseError, match="quantity"):
        market.get_return("945000960")


@pytest.mark.parametrize(("cost", "wait"), [
    ({"requestedQueryCost": 10**12, "throttleStatus": {"currentlyAvailable": 0,
                                                       "restoreRate": 1}}, 300.0),
    ({"requestedQueryCost": "NaN", "throttleStatus": {"currentlyAvailable": 0,
                                                      "restoreRate": 50}}, None),
    ({"requestedQueryCost": 100, "throttleStatus": {"currentlyAvailable": 0,
                                                    "restoreRate": "inf"}}, None),
])
def test_a_throttle_figure_gone_wrong_never_waits_past_five_minutes(
    market: ShopifyMarketplace, gql: GraphQL, sleeps: Sleeps, cost: dict[str, Any],
    wait: float | None,
) -> None:
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                 "extensions": {"cost": cost}}
    for _ in range(4):
        gql.reply("GetReturn", throttled)
    with pytest.raises(RateLimitError):
        market.get_return("945000960")
    assert len(sleeps) == 3
    assert all(0 <= s <= 300 for s in sleeps)
    if wait is not None:
        assert sleeps == [wait] * 3


def test_throttle_wait_is_bounded_and_never_nan() -> None:
    huge = {"extensions": {"cost": {"requestedQueryCost": 10**12, "throttleStatus": {
        "currentlyAvailable": 0, "restoreRate": 1}}}}
    nan = {"extensions": {"cost": {"requestedQueryCost": "nan", "throttleStatus": {
        "currentlyAvailable": 0, "restoreRate": 1}}}}
    assert throttle_wait(huge) == 300.0
    assert throttle_wait(nan) == 1.0


def test_graphql_errors_with_http_200_never_echo_the_buyer(market: ShopifyMarketplace,
                                                           gql: GraphQL) -> None:
    gql.reply("GetReturn", {"errors": [{
        "message": f"Variable $input was provided invalid value for note ({PII[0]}, {PII[1]})",
        "extensions": {"code": "argumentLiteralsIncompatible"}}]})
    with pytest.raises(RemoteRejectedError) as caught:
        market.get_return("945000960")
    _clean(caught.value)


# ---------------------------------------------------------------- another record


def test_an_order_answered_for_another_id_is_refused(market: ShopifyMarketplace,
                                                     http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json={"order": _order(id=111)})
    with pytest.raises(ResponseParseError, match="another order"):
        market.get_order("450789469")


def test_fulfillments_of_another_order_are_refused(market: ShopifyMarketplace,
                                                   http: responses.RequestsMock) -> None:
    listed = body("rest_fulfillments_list_success")
    listed["fulfillments"][0]["order_id"] = 111
    http.get(f"{BASE}/orders/450789469/fulfillments.json", json=listed)
    with pytest.raises(ResponseParseError, match="another order"):
        market.list_shipments("450789469")


def test_a_return_answered_for_another_id_is_refused(market: ShopifyMarketplace,
                                                     gql: GraphQL) -> None:
    gql.reply("GetReturn", body("graphql_return_get"))  # return 945000960
    with pytest.raises(ResponseParseError, match="another return"):
        market.get_return("945000959")


def _request() -> ReturnRequest:
    return ReturnRequest(marketplace="shopify", order_id="450789469", kind=ReturnKind.RETURN,
                         external_id="gid://shopify/Return/945000959",
                         lines=[ReturnLine(order_line_id="518995019", quantity=1)])


def test_goods_of_another_return_are_never_disposed(market: ShopifyMarketplace,
                                                    gql: GraphQL) -> None:
    gql.reply("ReturnReverse", {"data": {"return": {
        "id": "gid://shopify/Return/1", "reverseFulfillmentOrders": {"pageInfo": NO_MORE, "nodes": [{
            "id": "gid://shopify/ReverseFulfillmentOrder/1", "lineItems": {"pageInfo": NO_MORE, "nodes": [
                {"id": "gid://shopify/ReverseFulfillmentOrderLineItem/7",
                 "totalQuantity": 1}]}}]}}}})
    with pytest.raises(ResponseParseError, match="another return"):
        market.confirm_return_received(_request())
    assert gql.ops() == ["ReturnReverse"]  # no Dispose sent


def _refund(**kw: Any) -> Refund:
    return Refund(order_id="450789469", amount=Money("41.94", "USD"), idempotency_key="rk-1",
                  lines=[RefundLine(order_line_id="518995019", quantity=1,
                                    amount=Money("41.94", "USD"))], **kw)


def test_a_refund_calculation_for_another_order_never_pays(
    market: ShopifyMarketplace, http: responses.RequestsMock,
) -> None:
    # GraphQL is not mocked here: a refundCreate sent anyway would fail differently.
    calc = body("rest_refunds_calculate")
    for tx in calc["refund"]["transactions"]:
        tx["order_id"] = 111  # another order's payments
    http.post(f"{BASE}/orders/450789469/refunds/calculate.json", json=calc)
    with pytest.raises(ValidationError, match="another order") as caught:
        market.refund(_refund())
    assert refused(caught.value)  # nothing left: the refund was never sent
    assert [c.request.url for c in http.calls] == [
        f"{BASE}/orders/450789469/refunds/calculate.json"]


def test_the_lost_answer_look_up_never_takes_another_orders_refund(
    market: ShopifyMarketplace, gql: GraphQL,
) -> None:
    listed = {"id": "gid://shopify/Refund/9", "createdAt": "2026-01-12T10:00:00Z",
              "totalRefundedSet": {"presentmentMoney": {"amount": "41.94",
                                                        "currencyCode": "USD"}},
              "transactions": {"nodes": [{"status": "SUCCESS", "kind": "REFUND"}]},
              "refundLineItems": {"pageInfo": NO_MORE, "nodes": [{"quantity": 1, "lineItem": {
                  "id": "gid://shopify/LineItem/518995019"}}]}}
    gql.reply("OrderRefunds", {"data": {"order": {"id": "gid://shopify/Order/111",
                                                  "refunds": [listed]}}})
    pending = _refund(created_at=datetime(2026, 1, 12, 9, 59, tzinfo=UTC))
    with pytest.raises(ResponseParseError, match="another order"):
        market.find_refund(pending)


def test_a_refund_line_id_that_is_no_number_is_refused_before_any_call(
    market: ShopifyMarketplace,
) -> None:
    bad = Refund(order_id="450789469", amount=Money("1.00", "USD"), idempotency_key="rk-2",
                 lines=[RefundLine(order_line_id="51899/../5019", quantity=1,
                                   amount=Money("1.00", "USD"))])
    with pytest.raises(ValidationError, match=r"lines\.order_line_id"):
        market.refund(bad)


def test_a_paid_refund_whose_answer_does_not_parse_is_an_unknown_outcome(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
) -> None:
    calc = body("rest_refunds_calculate")
    http.post(f"{BASE}/orders/450789469/refunds/calculate.json", json=calc)
    gql.reply("RefundCreate", {"data": {"refundCreate": {"refund": {
        "id": "gid://shopify/Refund/1", "createdAt": "2026-01-12T10:00:00",  # naive
        "totalRefundedSet": {"presentmentMoney": {"amount": "41.94", "currencyCode": "USD"}},
        "transactions": {"nodes": [{"status": "SUCCESS", "kind": "REFUND"}]}},
        "userErrors": []}}})
    with pytest.raises(ResponseParseError) as caught:
        market.refund(_refund())
    # Shopify may have paid: the refund stays pending and is looked up, never re-sent blind.
    assert not refused(caught.value)


# ---------------------------------------------------------------- webhooks


def _signed(raw: bytes, topic: str = "returns/request", secret: str = "hush") -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": digest}


@pytest.mark.parametrize("headers", [
    {},
    {"X-Shopify-Hmac-Sha256": ""},
    {"X-Shopify-Hmac-Sha256": "not base64 at all \x00"},
    {"X-Shopify-Hmac-Sha256": base64.b64encode(b"x" * 32).decode()},
    {"X-Shopify-Hmac-Sha256": "é" * 44},
])
def test_a_webhook_with_a_bad_or_missing_hmac_is_refused(
    market: ShopifyMarketplace, headers: dict[str, str],
) -> None:
    raw = fx("webhook_returns_request")["request"]["raw_body"].encode()
    with pytest.raises(SignatureError):
        market.parse_returns_webhook(raw, {"X-Shopify-Topic": "returns/request", **headers})


def test_the_webhook_signature_is_compared_in_constant_time(market: ShopifyMarketplace) -> None:
    raw = fx("webhook_returns_request")["request"]["raw_body"].encode()
    with digest_comparisons() as calls, pytest.raises(SignatureError):
        market.parse_returns_webhook(raw, {**_signed(raw), "X-Shopify-Hmac-Sha256": "AAAA"})
    assert calls


def test_a_huge_or_binary_topic_is_named_not_echoed(market: ShopifyMarketplace) -> None:
    raw = fx("webhook_returns_request")["request"]["raw_body"].encode()
    topic = "orders/" + "jane.roe@example.org\x00" * 5000
    with pytest.raises(ValidationError, match="X-Shopify-Topic") as caught:
        market.parse_returns_webhook(raw, _signed(raw, topic))
    _clean(caught.value)


@pytest.mark.parametrize(("change", "field"), [
    ({"id": True}, "id"),
    ({"id": "1\x00"}, "id"),
    ({"admin_graphql_api_id": "x" * 100_000}, "admin_graphql_api_id"),
    ({"status": ["Jane Roe"]}, "status"),
])
def test_a_signed_webhook_with_a_bad_field_names_it(market: ShopifyMarketplace,
                                                    change: dict[str, Any], field: str) -> None:
    hook = json.loads(fx("webhook_returns_request")["request"]["raw_body"])
    hook.update(change)
    raw = json.dumps(hook).encode()
    with pytest.raises(ValidationError) as caught:
        market.parse_returns_webhook(raw, _signed(raw))
    assert f"field '{field}" in str(caught.value)
    _clean(caught.value)


@pytest.mark.parametrize("amount", ["1e3", "-5.00", True, "9" * 30])
def test_a_fee_change_with_a_bad_amount_is_refused_by_name(market: ShopifyMarketplace,
                                                           amount: Any) -> None:
    hook = fx("webhook_returns_update_sample")["body"]
    hook["restocking_fees"] = {"updates": [{"admin_graphql_api_id": "gid://shopify/Fee/1",
                                            "price": {"shop_money": {"amount": amount,
                                                                     "currency_code": "USD"}}}],
                               "removals": []}
    raw = json.dumps(hook).encode()
    with pytest.raises(ValidationError, match=r"restocking_fees\.updates\.price"):
        market.parse_returns_webhook(raw, _signed(raw, "returns/update"))


# ---------------------------------------------------------------- logs


def test_a_failing_sync_at_debug_leaks_no_buyer_and_no_secret(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    http.get(ORDERS_URL, json={"orders": [_line(price="-1")]})
    http.get(ORDER_URL, json={"order": _order(created_at="2026-01-01T00:00:00")})
    http.get(f"{BASE}/orders/450789470.json", status=422,
             json={"errors": {"email": [f"{PII[1]} is invalid"], "phone": [PII[2]]}})
    gql.reply("GetReturn", {"errors": [{"message": f"bad note {PII[0]} {PII[1]}",
                                        "extensions": {"code": "BAD_USER_INPUT"}}]})
    for call in (lambda: list(market.list_orders()), lambda: market.get_order("450789469"),
                 lambda: market.get_order("450789470"), lambda: market.get_return("1")):
        with pytest.raises(AfterSalesError) as caught:
            call()
        errors.append(caught.value)
    for exc in errors:
        _clean(exc)
        assert PII[1] not in (getattr(exc, "body", None) or "")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (*PII, TOKEN):
        assert secret not in logged


def test_every_bad_order_is_a_library_error(market: ShopifyMarketplace,
                                            http: responses.RequestsMock) -> None:
    # A sweep over the sample order: each scalar replaced by hostile values in turn.
    hostile: list[Any] = [None, True, -1, 1.5, "", "\x00", "9" * 400, [], {}, "1e3",
                          "2026-13-45T99:00:00Z"]
    order = _order()
    keys = [k for k, v in order.items() if not isinstance(v, dict | list)]
    for key in keys:
        for value in hostile:
            http.get(ORDER_URL, json={"order": {**order, key: value}})
            try:
                market.get_order("450789469")
            except AfterSalesError as exc:
                _clean(exc)


@pytest.mark.parametrize("line_item", ["12695210000533", {"id": "1\x00"}, {"id": [PII[0]]},
                                       {"id": "9" * 100_000}])
def test_a_webhook_line_item_that_is_no_line_item_is_refused_by_name(
    market: ShopifyMarketplace, line_item: Any,
) -> None:
    hook = fx("webhook_returns_request_payload_sample")["body"]
    hook["return_line_items"][0]["fulfillment_line_item"]["line_item"] = line_item
    raw = json.dumps(hook).encode()
    if isinstance(line_item, str):  # no object: the return line's own id stands in
        event = market.parse_returns_webhook(raw, _signed(raw))
        assert event.request is not None
        assert event.request.lines[0].order_line_id == "6200524949"
        return
    with pytest.raises(ValidationError, match=r"line_item\.id") as caught:
        market.parse_returns_webhook(raw, _signed(raw))
    _clean(caught.value)


@pytest.mark.parametrize("user_errors", [[{"message": ["Jane Roe"], "code": "INVALID"}],
                                         [{"message": "x", "field": "note"}], "oops"])
def test_user_errors_of_an_odd_shape_are_a_parse_error(market: ShopifyMarketplace,
                                                       gql: GraphQL, user_errors: Any) -> None:
    gql.reply("ReturnApproveRequest", {"data": {"returnApproveRequest": {
        "return": None, "userErrors": user_errors}}})
    with pytest.raises(ResponseParseError) as caught:
        market.approve_return(_request())
    _clean(caught.value)


def test_an_unknown_return_status_is_named_not_echoed(market: ShopifyMarketplace,
                                                      gql: GraphQL) -> None:
    answer = body("graphql_return_get")
    for status in (PII[1] * 5000, PII[0]):
        answer["data"]["return"]["status"] = status
        gql.reply("GetReturn", answer)
        with pytest.raises(ValidationError, match="field 'status'") as caught:
            market.get_return("945000960")
        _clean(caught.value)


def test_a_refund_answer_about_another_order_is_an_unknown_outcome(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
) -> None:
    http.post(f"{BASE}/orders/450789469/refunds/calculate.json",
              json=body("rest_refunds_calculate"))
    gql.reply("RefundCreate", {"data": {"refundCreate": {"refund": {
        "id": "gid://shopify/Refund/1", "createdAt": "2026-01-12T10:00:00Z",
        "order": {"id": "gid://shopify/Order/111"},
        "totalRefundedSet": {"presentmentMoney": {"amount": "41.94", "currencyCode": "USD"}},
        "transactions": {"nodes": [{"status": "SUCCESS", "kind": "REFUND"}]}},
        "userErrors": []}}})
    with pytest.raises(ResponseParseError, match="another order") as caught:
        market.refund(_refund())
    assert not refused(caught.value)  # looked up on this order later, never paid again blind
    assert gql.ops() == ["RefundCreate"]  # and the return is not closed on its word
