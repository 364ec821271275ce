"""The Shopify adapter against mocked HTTP shaped like the reference payloads."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
from typing import Any

import pytest
import requests
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings
from responses import matchers

from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    UnsupportedOperationError,
)
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import (
    Message,
    Refund,
    RefundLine,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from aftersales.money import Money

from .conftest import BASE, NO_MORE, TOKEN, GraphQL, Sleeps, body, fx, rest_url

ORDER_URL = f"{BASE}/orders/450789469.json"
ORDERS_URL = f"{BASE}/orders.json"


def _request(external_id: str = "gid://shopify/Return/945000959") -> ReturnRequest:
    return ReturnRequest(marketplace="shopify", order_id="450789469", kind=ReturnKind.RETURN,
                         external_id=external_id,
                         lines=[ReturnLine(order_line_id="518995019", quantity=1)])


def _order(n: int, updated: str) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(body("rest_orders_get")["order"])
    order.update(id=n, updated_at=updated)
    return order


# ---------------------------------------------------------------- declaration


def test_it_is_a_marketplace_declaring_no_reviews() -> None:
    market = ShopifyMarketplace(ShopifySettings(shop="s", access_token="t"))
    assert isinstance(market, Marketplace)
    assert Capability.LIST_REVIEWS not in market.capabilities
    assert Capability.REPLY_REVIEW not in market.capabilities
    assert Capability.REFUND in market.capabilities
    assert set(market.raw_return_statuses) == {"REQUESTED", "OPEN", "DECLINED", "CLOSED",
                                               "CANCELED"}


@pytest.mark.parametrize("call", [
    lambda m: next(iter(m.list_reviews())),
    lambda m: m.send_message(Message(to="b", body="x", idempotency_key="k")),
    lambda m: m.ship_exchange(_request(), None),
])
def test_undeclared_operations_raise_unsupported(market: ShopifyMarketplace, call: Any) -> None:
    with pytest.raises(UnsupportedOperationError, match="shopify"):
        call(market)


# ---------------------------------------------------------------- orders (REST)


def test_get_order_sends_the_token_to_the_pinned_version(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    http.get(ORDER_URL, json=body("rest_orders_get"),
             match=[matchers.header_matcher({"X-Shopify-Access-Token": TOKEN})])
    order = market.get_order("gid://shopify/Order/450789469")
    assert order.external_id == "450789469"
    assert len(order.lines) == 3


def test_list_shipments_reads_tracking_numbers(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    http.get(rest_url("rest_fulfillments_list"), json=body("rest_fulfillments_list_success"))
    ships = market.list_shipments("450789469")
    assert [(s.tracking_number, s.carrier) for s in ships] == [
        ("123456789", "my-custom-shipping-company")]


def test_list_shipments_skips_a_failed_fulfillment(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    # Shopify's example: status "failure" with a USPS tracking number that never moved.
    http.get(rest_url("rest_fulfillments_list"), json=body("rest_fulfillments_list"))
    assert market.list_shipments("450789469") == []


def test_list_orders_follows_page_info_over_three_pages_and_resumes(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    pages = [[_order(1, "2025-07-01T10:00:00Z"), _order(2, "2025-07-01T11:00:00Z")],
             [_order(3, "2025-07-01T11:00:00Z"), _order(4, "2025-07-02T09:00:00Z")],
             [_order(5, "2025-07-03T09:00:00Z")]]
    link = '<{}?limit=2&page_info={}>; rel="next"'
    http.get(ORDERS_URL, json={"orders": pages[0]}, headers={"Link": link.format(ORDERS_URL, "p2")},
             match=[matchers.query_param_matcher(
                 {"status": "any", "order": "updated_at asc", "limit": "2"})])
    http.get(ORDERS_URL, json={"orders": pages[1]}, headers={"Link": link.format(ORDERS_URL, "p3")},
             match=[matchers.query_param_matcher({"limit": "2", "page_info": "p2"})])
    http.get(ORDERS_URL, json={"orders": pages[2]},
             match=[matchers.query_param_matcher({"limit": "2", "page_info": "p3"})])
    got = list(market.list_orders())
    assert [[o.external_id for o in p.items] for p in got] == [["1", "2"], ["3", "4"], ["5"]]

    # resume after page 1: Shopify answers from 11:00 inclusive; order 2 is not repeated
    http.get(ORDERS_URL, json={"orders": [pages[0][1], *pages[1], *pages[2]]},
             match=[matchers.query_param_matcher({
                 "status": "any", "order": "updated_at asc", "limit": "2",
                 "updated_at_min": "2025-07-01T11:00:00+00:00"})])
    resumed = list(market.list_orders(got[0].cursor))
    assert [o.external_id for p in resumed for o in p.items] == ["3", "4", "5"]


def test_an_order_updated_in_the_future_does_not_stop_the_order_sync(
    market: ShopifyMarketplace, http: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``updated_at`` in 2099 (inside the 2000-2100 bound) was handed out and
    carried the cursor there: every later sync asked ``updated_at_min=2099``."""
    first = [_order(1, "2025-07-01T10:00:00Z"), _order(2, "2099-01-01T00:00:00Z")]
    http.get(ORDERS_URL, json={"orders": first})
    with caplog.at_level(logging.WARNING):
        pages = list(market.list_orders())
    assert [o.external_id for p in pages for o in p.items] == ["1"]
    assert caplog.text.count("order 2:") == 1
    http.replace(responses.GET, ORDERS_URL,
                 json={"orders": [*first, _order(3, "2025-07-02T10:00:00Z")]})
    resumed = list(market.list_orders(pages[-1].cursor))
    assert [o.external_id for p in resumed for o in p.items] == ["3"]
    assert "2099" not in http.calls[-1].request.url


def test_rest_429_waits_retry_after_then_succeeds(
    market: ShopifyMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    throttled = fx("rest_error_429_throttled")["response"]
    http.get(ORDER_URL, json=throttled["body"], status=429, headers={"Retry-After": "2.0"})
    http.get(ORDER_URL, json=body("rest_orders_get"))
    assert market.get_order("450789469").external_id == "450789469"
    assert sleeps == [2.0]


def test_rest_429_that_never_clears_is_a_rate_limit_error(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    for _ in range(4):
        http.get(ORDER_URL, json={"errors": "Exceeded 2 calls per second"}, status=429,
                 headers={"Retry-After": "2.0"})
    with pytest.raises(RateLimitError) as err:
        market.get_order("450789469")
    assert err.value.retry_after == 2.0


def test_bad_credentials_are_an_authentication_error_without_the_token(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token="shpat_wrong"),
                                sleep=sleeps)
    http.get(ORDER_URL, status=401, json={
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    with pytest.raises(AuthenticationError) as err:
        market.get_order("450789469")
    assert err.value.status == 401
    assert "shpat_wrong" not in str(err.value) + (err.value.body or "")
    assert sleeps == []  # credentials are not retried


def test_malformed_json_is_a_parse_error(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    http.get(ORDER_URL, body='{"order": {"id": 450789469, "line_items": [',
             content_type="application/json")
    with pytest.raises(ResponseParseError, match="not valid JSON"):
        market.get_order("450789469")


def test_an_html_error_page_is_a_parse_error(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    http.get(ORDER_URL, body="<!DOCTYPE html><html><body>Shop unavailable</body></html>",
             content_type="text/html")
    with pytest.raises(ResponseParseError, match="HTML"):
        market.get_order("450789469")


def test_an_html_503_is_retried_then_succeeds(
    market: ShopifyMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    http.get(ORDER_URL, body="<html><h1>503 Service Unavailable</h1></html>", status=503,
             content_type="text/html")
    http.get(ORDER_URL, json=body("rest_orders_get"))
    assert market.get_order("450789469").external_id == "450789469"
    assert len(sleeps) == 1


def test_a_wrong_shape_is_a_parse_error(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    http.get(ORDER_URL, json={"order": {"id": "not a number"}})
    with pytest.raises(ResponseParseError, match="RestOrder"):
        market.get_order("450789469")


# ---------------------------------------------------------------- returns (GraphQL)


def _orders_page(nodes: list[dict[str, Any]], end: str | None) -> dict[str, Any]:
    return {"data": {"orders": {"pageInfo": {"hasNextPage": end is not None, "endCursor": end},
                                "nodes": nodes}}}


def _order_node(n: int, updated: str, with_return: bool = True) -> dict[str, Any]:
    ret = copy.deepcopy(body("graphql_return_get")["data"]["return"])
    ret["id"] = f"gid://shopify/Return/{n}00"
    return {"id": f"gid://shopify/Order/{n}", "updatedAt": updated,
            "returns": {"pageInfo": NO_MORE, "nodes": [ret] if with_return else []}}


def test_list_returns_pages_through_three_graphql_pages_and_resumes(
    market: ShopifyMarketplace, gql: GraphQL
) -> None:
    gql.reply("ListReturns", _orders_page([_order_node(1, "2025-07-01T10:00:00Z"),
                                           _order_node(2, "2025-07-01T11:00:00Z", False)], "c1"))
    gql.reply("ListReturns", _orders_page([_order_node(3, "2025-07-02T10:00:00Z"),
                                           _order_node(4, "2025-07-02T11:00:00Z")], "c2"))
    gql.reply("ListReturns", _orders_page([_order_node(5, "2025-07-03T10:00:00Z")], None))
    pages = list(market.list_returns())
    assert [[r.order_id for r in p.items] for p in pages] == [["1"], ["3", "4"], ["5"]]
    assert [s["variables"]["after"] for s in gql.seen] == [None, "c1", "c2"]
    assert pages[0].items[0].status is ReturnStatus.REQUESTED

    gql.reply("ListReturns", _orders_page([_order_node(4, "2025-07-02T11:00:00Z"),
                                           _order_node(5, "2025-07-03T10:00:00Z")], None))
    resumed = list(market.list_returns(pages[1].cursor))
    assert [r.order_id for p in resumed for r in p.items] == ["5"]
    assert gql.seen[-1]["variables"]["query"] == "updated_at:>='2025-07-02T11:00:00Z'"


def test_a_return_of_an_order_updated_in_the_future_does_not_stop_the_return_sync(
    market: ShopifyMarketplace, gql: GraphQL, caplog: pytest.LogCaptureFixture,
) -> None:
    """An order ``updatedAt`` 2099 carried the returns cursor there: every
    later sync searched ``updated_at:>='2099-...'`` and found nothing again."""
    first = [_order_node(1, "2025-07-01T10:00:00Z"), _order_node(2, "2099-01-01T00:00:00Z")]
    gql.reply("ListReturns", _orders_page(first, None))
    with caplog.at_level(logging.WARNING):
        pages = list(market.list_returns())
    assert [r.order_id for p in pages for r in p.items] == ["1"]
    assert caplog.text.count("gid://shopify/Order/2:") == 1
    gql.reply("ListReturns", _orders_page([*first, _order_node(3, "2025-07-02T10:00:00Z")],
                                          None))
    resumed = list(market.list_returns(pages[-1].cursor))
    assert [r.order_id for p in resumed for r in p.items] == ["3"]
    assert "2099" not in gql.seen[-1]["variables"]["query"]


def test_graphql_throttled_waits_for_the_bucket_then_retries(
    market: ShopifyMarketplace, gql: GraphQL, sleeps: Sleeps
) -> None:
    gql.reply("ListReturns", body("graphql_error_throttled"))  # HTTP 200 carrying THROTTLED
    gql.reply("ListReturns", body("graphql_error_throttled"), status=429)  # or a 429
    gql.reply("ListReturns", _orders_page([], None))
    assert [p.items for p in market.list_returns()] == [[]]
    # (752 requested - 666 available) / 50 restored per second
    assert list(sleeps) == pytest.approx([1.72, 1.72])


def test_graphql_access_denied_is_an_authentication_error(
    market: ShopifyMarketplace, gql: GraphQL, sleeps: Sleeps
) -> None:
    gql.reply("ListReturns", {"errors": [{"message": "Access denied for returns field.",
                                          "extensions": {"code": "ACCESS_DENIED"}}]})
    with pytest.raises(AuthenticationError, match="Access denied"):
        list(market.list_returns())
    assert sleeps == []


def test_approve_sends_the_return_gid_and_notifies(
    market: ShopifyMarketplace, gql: GraphQL
) -> None:
    gql.reply("ReturnApproveRequest", body("graphql_return_approve_request"))
    market.approve_return(_request())
    assert gql.seen[0]["variables"] == {
        "input": {"id": "gid://shopify/Return/945000959", "notifyCustomer": True}}


def test_approve_user_error_is_refused_with_its_code(
    market: ShopifyMarketplace, gql: GraphQL
) -> None:
    gql.reply("ReturnApproveRequest", body("graphql_return_approve_user_error"))
    with pytest.raises(RemoteRejectedError, match="not approvable") as err:
        market.approve_return(_request("gid://shopify/Return/945000961"))
    assert err.value.code == "INVALID_STATE"


def test_a_request_without_a_shopify_id_cannot_be_approved(market: ShopifyMarketplace) -> None:
    with pytest.raises(RemoteRejectedError, match="no Shopify return id"):
        market.approve_return(_request(external_id="").model_copy(update={"external_id": None}))


def test_reject_declines_with_the_mapped_reason(market: ShopifyMarketplace, gql: GraphQL) -> None:
    gql.reply("ReturnDeclineRequest", body("graphql_return_decline_request"))
    market.reject_return(_request(), reason="return_period_ended",
                         note="The 30-day return window has passed.")
    assert gql.seen[0]["variables"]["input"] == {
        "id": "gid://shopify/Return/945000959", "declineReason": "RETURN_PERIOD_ENDED",
        "declineNote": "The 30-day return window has passed.", "notifyCustomer": True}


def test_confirm_received_disposes_the_reverse_fulfillment(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token=TOKEN,
                                                location_id="487838322"), sleep=sleeps)
    gql = GraphQL(http)
    gql.reply("ReturnReverse", {"data": {"return": {
        "id": "gid://shopify/Return/945000959", "reverseFulfillmentOrders": {"pageInfo": NO_MORE, "nodes": [{
            "id": "gid://shopify/ReverseFulfillmentOrder/1", "lineItems": {"pageInfo": NO_MORE, "nodes": [
                {"id": "gid://shopify/ReverseFulfillmentOrderLineItem/7", "totalQuantity": 1}]}}]}}}})
    gql.reply("Dispose", {"data": {"reverseFulfillmentOrderDispose": {
        "reverseFulfillmentOrderLineItems": [{"id": "x"}], "userErrors": []}}})
    market.confirm_return_received(_request())
    assert gql.seen[1]["variables"]["inputs"] == [{
        "reverseFulfillmentOrderLineItemId": "gid://shopify/ReverseFulfillmentOrderLineItem/7",
        "quantity": 1, "dispositionType": "RESTOCKED",
        "locationId": "gid://shopify/Location/487838322"}]


def test_close_tolerates_an_already_closed_return(market: ShopifyMarketplace, gql: GraphQL) -> None:
    gql.reply("ReturnClose", {"data": {"returnClose": {"return": None, "userErrors": [
        {"code": "INVALID_STATE", "field": ["id"], "message": "already closed"}]}}})
    market.close_return(_request())
    gql.reply("ReturnClose", body("graphql_return_close"))
    market.close_return(_request())


# ---------------------------------------------------------------- refunds


def _refund_request() -> Refund:
    return Refund(order_id="450789469", amount=Money("41.94", "USD"), note="wrong size",
                  idempotency_key="rma-7:refund:1",
                  lines=[RefundLine(order_line_id="518995019", quantity=1,
                                    amount=Money("41.94", "USD"))])


def _calculate(http: responses.RequestsMock) -> None:
    http.post(f"{BASE}/orders/450789469/refunds/calculate.json", json=body("rest_refunds_calculate"),
              match=[matchers.json_params_matcher({"refund": {
                  "currency": "USD", "refund_line_items": [
                      {"line_item_id": 518995019, "quantity": 1, "restock_type": "no_restock"}]}})])


def test_refund_creates_with_an_idempotent_key_and_closes_the_return(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL
) -> None:
    _calculate(http)
    gql.reply("RefundCreate", body("graphql_refund_create"))
    gql.reply("ReturnClose", body("graphql_return_close"))
    done = market.refund(_refund_request(), _request())
    assert done.external_id == "gid://shopify/Refund/929361472"
    assert done.amount == Money("41.94", "USD")
    sent = gql.seen[0]
    assert "@idempotent(key: $key)" in sent["query"]
    assert sent["variables"]["key"] == "rma-7:refund:1"
    assert sent["variables"]["input"]["transactions"] == [{
        "orderId": "gid://shopify/Order/450789469",
        "parentId": "gid://shopify/OrderTransaction/801038806", "gateway": "bogus",
        "kind": "REFUND", "amount": "41.94"}]
    assert gql.ops() == ["RefundCreate", "ReturnClose"]


def test_a_refund_retried_after_a_timeout_is_paid_once(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL, sleeps: Sleeps
) -> None:
    payments: dict[str, dict[str, Any]] = {}  # Shopify's side: one refund per idempotency key
    keys: list[str] = []

    def shopify(sent: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        key = sent["variables"]["key"]
        keys.append(key)
        first = key not in payments
        payments.setdefault(key, body("graphql_refund_create"))
        if first:  # the refund is made, but the answer is lost on the way back
            raise requests.exceptions.ReadTimeout("read timed out")
        return 200, {"Content-Type": "application/json"}, payments[key]

    _calculate(http)
    gql.reply_with("RefundCreate", shopify)
    gql.reply_with("RefundCreate", shopify)
    done = market.refund(_refund_request())
    assert done.external_id == "gid://shopify/Refund/929361472"
    assert keys == ["rma-7:refund:1", "rma-7:refund:1"]  # the same key on the retry
    assert len(payments) == 1  # paid once
    assert len(sleeps) == 1


def test_refund_user_error_is_refused(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL
) -> None:
    _calculate(http)
    gql.reply("RefundCreate", {"data": {"refundCreate": {"refund": None, "userErrors": [
        {"field": ["transactions"], "message": "Amount cannot exceed refundable"}]}}})
    with pytest.raises(RemoteRejectedError, match="cannot exceed"):
        market.refund(_refund_request())


def test_a_non_idempotent_mutation_is_not_resent_after_a_timeout(
    market: ShopifyMarketplace, gql: GraphQL, sleeps: Sleeps
) -> None:
    def lost(sent: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        raise requests.exceptions.ReadTimeout("read timed out")

    gql.reply_with("ReturnApproveRequest", lost)
    with pytest.raises(TransientError):
        market.approve_return(_request())
    assert sleeps == []


# ---------------------------------------------------------------- webhooks via the adapter


def test_adapter_parses_a_signed_returns_webhook(market: ShopifyMarketplace) -> None:
    hook = fx("webhook_returns_request")["request"]
    event = market.parse_returns_webhook(hook["raw_body"].encode(), hook["headers"])
    assert event.external_id == "gid://shopify/Return/3547267221"
    assert event.status is ReturnStatus.REQUESTED


def test_adapter_without_a_webhook_secret_refuses_to_guess() -> None:
    market = ShopifyMarketplace(ShopifySettings(shop="s", access_token="t"))
    with pytest.raises(ConfigurationError, match="SHOPIFY_WEBHOOK_SECRET"):
        market.parse_returns_webhook(b"{}", {})


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPIFY_SHOP", "env-shop")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_env")
    market = ShopifyMarketplace()
    assert market.settings.base_url == "https://env-shop.myshopify.com/admin/api/2026-01"
    assert "shpat_env" not in repr(market.settings)
    assert json.loads(market.settings.model_dump_json())["access_token"] == "**********"


def test_the_token_never_reaches_the_log(
    market: ShopifyMarketplace, http: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    http.get(ORDER_URL, status=429, json={"errors": "Exceeded"}, headers={"Retry-After": "1"})
    http.get(ORDER_URL, json=body("rest_orders_get"))
    with caplog.at_level("DEBUG", logger="aftersales"):
        market.get_order("450789469")
    assert "shopify GET" in caplog.text
    assert TOKEN not in caplog.text


def test_receiving_without_a_location_leaves_goods_for_processing(
    market: ShopifyMarketplace, gql: GraphQL
) -> None:
    gql.reply("ReturnReverse", {"data": {"return": {
        "id": "gid://shopify/Return/945000959", "reverseFulfillmentOrders": {"pageInfo": NO_MORE, "nodes": [{
            "id": "gid://shopify/ReverseFulfillmentOrder/1", "lineItems": {"pageInfo": NO_MORE, "nodes": [
                {"id": "gid://shopify/ReverseFulfillmentOrderLineItem/7", "totalQuantity": 2},
                {"id": "gid://shopify/ReverseFulfillmentOrderLineItem/8", "totalQuantity": 0}]}}]}}}})
    gql.reply("Dispose", {"data": {"reverseFulfillmentOrderDispose": {
        "reverseFulfillmentOrderLineItems": [], "userErrors": []}}})
    market.confirm_return_received(_request())
    assert gql.seen[1]["variables"]["inputs"] == [{
        "reverseFulfillmentOrderLineItemId": "gid://shopify/ReverseFulfillmentOrderLineItem/7",
        "quantity": 2, "dispositionType": "PROCESSING_REQUIRED"}]


def test_receiving_a_return_with_nothing_to_receive_is_refused(
    market: ShopifyMarketplace, gql: GraphQL
) -> None:
    gql.reply("ReturnReverse", {"data": {"return": {
        "id": "gid://shopify/Return/945000959", "reverseFulfillmentOrders": {"pageInfo": NO_MORE, "nodes": []}}}})
    with pytest.raises(RemoteRejectedError) as err:
        market.confirm_return_received(_request())
    assert err.value.code == "NO_REVERSE_FULFILLMENT"
    assert gql.ops() == ["ReturnReverse"]  # nothing disposed


# ---------------------------------------------------------------- a named store


def test_a_named_store_writes_its_name_into_every_model(
    settings: ShopifySettings, sleeps: Sleeps, http: responses.RequestsMock, gql: GraphQL
) -> None:
    eu = ShopifyMarketplace(settings, name="shopify-eu", sleep=sleeps)
    http.get(ORDER_URL, json=body("rest_orders_get"))
    http.get(ORDERS_URL, json={"orders": [_order(1, "2025-07-01T10:00:00Z")]})
    gql.reply("ListReturns", _orders_page([_order_node(1, "2025-07-01T10:00:00Z")], None))
    gql.reply("GetReturn", body("graphql_return_get"))
    raw = json.dumps(fx("webhook_returns_request_payload_sample")["body"]).encode()
    signed = base64.b64encode(hmac.new(b"hush", raw, hashlib.sha256).digest()).decode()
    event = eu.parse_returns_webhook(raw, {"X-Shopify-Topic": "returns/request",
                                           "X-Shopify-Hmac-Sha256": signed})
    made = [eu.get_order("450789469"), *next(iter(eu.list_orders())).items,
            *next(iter(eu.list_returns())).items, eu.get_return("945000960"), event.request]
    assert [m.marketplace if m else None for m in made] == ["shopify-eu"] * 5
