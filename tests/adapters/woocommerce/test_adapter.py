"""The WooCommerce adapter against mocked HTTP shaped like the reference payloads."""

from __future__ import annotations

import base64
import copy
import json
import logging
from typing import Any

import pytest
import requests
import responses
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings
from responses import matchers

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteNotFoundError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import (
    Message,
    Refund,
    RefundLine,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    Review,
)
from aftersales.money import Money

from .conftest import BASE, KEY, SECRET, Sleeps, body, fx

BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
ORDER_URL = f"{BASE}/orders/727"


def _request() -> ReturnRequest:
    return ReturnRequest(marketplace="woocommerce", order_id="723", kind=ReturnKind.RETURN,
                         rma_id="RMA-0001", lines=[ReturnLine(order_line_id="315", quantity=1)])


def _order(n: int, modified: str) -> dict[str, Any]:
    order: dict[str, Any] = copy.deepcopy(body("orders_get"))
    order.update(id=n, date_modified_gmt=modified)
    return order


# ---------------------------------------------------------------- declaration


def test_capabilities_say_returns_are_the_librarys_own() -> None:
    market = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key="k", consumer_secret="s"))
    assert isinstance(market, Marketplace)
    assert Capability.LIST_RETURNS not in market.capabilities
    assert Capability.REPLY_REVIEW not in market.capabilities
    assert {Capability.REFUND, Capability.LIST_REVIEWS, Capability.APPROVE_RETURN} <= (
        market.capabilities)
    assert "no return object in core" in (type(market).__doc__ or "")


@pytest.mark.parametrize("call", [
    lambda m: next(iter(m.list_returns())),
    lambda m: m.reply_review(None, "thanks", idempotency_key="k"),
    lambda m: m.ship_exchange(_request(), None),
])
def test_undeclared_operations_raise_unsupported(market: WooCommerceMarketplace, call: Any) -> None:
    with pytest.raises(UnsupportedOperationError, match="woocommerce"):
        call(market)


# ---------------------------------------------------------------- orders


def test_get_order_uses_basic_auth(market: WooCommerceMarketplace,
                                   http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, json=body("orders_get"),
             match=[matchers.header_matcher({"Authorization": BASIC})])
    assert market.get_order("727").total == Money("29.35", "USD")


def test_query_string_auth_sends_the_pair_as_parameters(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    market = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key=KEY, consumer_secret=SECRET,
        query_string_auth=True), sleep=sleeps)
    http.get(ORDER_URL, json=body("orders_get"), match=[matchers.query_param_matcher(
        {"consumer_key": KEY, "consumer_secret": SECRET})])
    assert market.get_order("727").external_id == "727"
    assert "Authorization" not in http.calls[0].request.headers


def test_list_orders_walks_total_pages_and_resumes(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    pages = [[_order(1, "2025-07-01T10:00:00"), _order(2, "2025-07-01T11:00:00")],
             [_order(3, "2025-07-01T11:00:00"), _order(4, "2025-07-02T09:00:00")],
             [_order(5, "2025-07-03T09:00:00")]]
    base = {"status": "any", "orderby": "modified", "order": "asc", "per_page": "2"}
    for n, items in enumerate(pages, start=1):
        http.get(f"{BASE}/orders", json=items, headers={"X-WP-Total": "5", "X-WP-TotalPages": "3"},
                 match=[matchers.query_param_matcher({**base, "page": str(n)})])
    got = list(market.list_orders())
    assert [[o.external_id for o in p.items] for p in got] == [["1", "2"], ["3", "4"], ["5"]]

    http.get(f"{BASE}/orders", json=[pages[0][1], *pages[1], *pages[2]],
             headers={"X-WP-TotalPages": "1"},
             match=[matchers.query_param_matcher({
                 **base, "page": "1", "modified_after": "2025-07-01T10:59:59",
                 "dates_are_gmt": "true"})])
    resumed = list(market.list_orders(got[0].cursor))
    assert [o.external_id for p in resumed for o in p.items] == ["3", "4", "5"]


def test_an_order_modified_in_the_future_does_not_stop_the_order_sync(
    market: WooCommerceMarketplace, http: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``date_modified_gmt`` in 2099 (inside the 2000-2100 bound) was handed out
    and carried the cursor there: every later sync asked ``modified_after=2099``
    and no order changed afterwards was listed again."""
    first = [_order(1, "2025-07-01T10:00:00"), _order(2, "2099-01-01T00:00:00")]
    http.get(f"{BASE}/orders", json=first, headers={"X-WP-TotalPages": "1"})
    with caplog.at_level(logging.WARNING):
        pages = list(market.list_orders())
    assert [o.external_id for p in pages for o in p.items] == ["1"]
    assert caplog.text.count("order 2:") == 1
    http.replace(responses.GET, f"{BASE}/orders",
                 json=[*first, _order(3, "2025-07-02T10:00:00")],
                 headers={"X-WP-TotalPages": "1"})
    resumed = list(market.list_orders(pages[-1].cursor))
    assert [o.external_id for p in resumed for o in p.items] == ["3"]
    assert "2099" not in http.calls[-1].request.url


def test_missing_order_maps_the_error_object(market: WooCommerceMarketplace,
                                             http: responses.RequestsMock) -> None:
    err = fx("error_404_invalid_order")["response"]
    http.get(f"{BASE}/orders/999999", json=err["body"], status=404)
    with pytest.raises(RemoteNotFoundError, match="Invalid ID") as exc:
        market.get_order("999999")
    assert exc.value.code == "woocommerce_rest_shop_order_invalid_id"


def test_bad_credentials_are_an_authentication_error_without_secrets(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    err = fx("error_401_cannot_view")["response"]
    http.get(f"{BASE}/products/reviews", json=err["body"], status=401)
    with pytest.raises(AuthenticationError) as exc:
        list(market.list_reviews())
    assert exc.value.code == "woocommerce_rest_cannot_view"
    text = str(exc.value) + (exc.value.body or "")
    assert KEY not in text
    assert SECRET not in text
    assert sleeps == []


def test_429_waits_retry_after_then_succeeds(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    http.get(ORDER_URL, status=429, headers={"Retry-After": "3"},
             json={"code": "too_many_requests", "message": "Slow down", "data": {"status": 429}})
    http.get(ORDER_URL, json=body("orders_get"))
    assert market.get_order("727").external_id == "727"
    assert sleeps == [3.0]


def test_429_from_a_proxy_page_is_still_a_rate_limit(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    for _ in range(4):
        http.get(ORDER_URL, status=429, body="<html>Too Many Requests</html>",
                 content_type="text/html", headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError) as exc:
        market.get_order("727")
    assert exc.value.retry_after == 1.0


def test_malformed_json_is_a_parse_error(market: WooCommerceMarketplace,
                                         http: responses.RequestsMock) -> None:
    http.get(ORDER_URL, body='{"id": 727, "line_items": [', content_type="application/json")
    with pytest.raises(ResponseParseError, match="not valid JSON"):
        market.get_order("727")


def test_an_html_page_instead_of_json_is_a_parse_error(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    # e.g. permalinks off or a security plugin answering with its own page
    http.get(ORDER_URL, body="<!DOCTYPE html><html><title>Log In</title></html>",
             content_type="text/html; charset=UTF-8")
    with pytest.raises(ResponseParseError, match="HTML"):
        market.get_order("727")


def test_an_html_502_is_retried(market: WooCommerceMarketplace, http: responses.RequestsMock,
                                sleeps: Sleeps) -> None:
    http.get(ORDER_URL, status=502, body="<html>Bad gateway</html>", content_type="text/html")
    http.get(ORDER_URL, json=body("orders_get"))
    assert market.get_order("727").external_id == "727"
    assert len(sleeps) == 1


def test_a_list_that_is_not_a_list_is_a_parse_error(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    http.get(f"{BASE}/orders", json={"orders": []})
    with pytest.raises(ResponseParseError, match="list"):
        list(market.list_orders())


# ---------------------------------------------------------------- notes for the library's returns


def _note_reply(http: responses.RequestsMock, expected: dict[str, Any]) -> None:
    http.post(f"{BASE}/orders/723/notes", json=body("order_notes_create"), status=201,
              match=[matchers.json_params_matcher(expected)])


def test_approve_reject_and_receive_write_order_notes(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    _note_reply(http, {"note": "Your return request RMA-0001 has been approved.",
                       "customer_note": True})
    _note_reply(http, {"note": "Your return request RMA-0001 was declined: outside 30 days"
                               "\n\nSorry!", "customer_note": True})
    _note_reply(http, {"note": "Returned goods for RMA-0001 were received.",
                       "customer_note": False})
    market.approve_return(_request())
    market.reject_return(_request(), reason="outside 30 days", note="Sorry!")
    market.confirm_return_received(_request())


def test_send_message_is_a_customer_note_with_a_receipt(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    _note_reply(http, {"note": "How was it?\n\nTell us about your order.",
                       "customer_note": True})
    receipt = market.send_message(Message(to="buyer", subject="How was it?",
                                          body="Tell us about your order.",
                                          idempotency_key="f1", order_id="723"))
    assert receipt.message_id == "281"
    assert receipt.accepted_at.isoformat() == "2017-03-21T19:46:41+00:00"


def test_a_message_without_an_order_is_refused(market: WooCommerceMarketplace) -> None:
    with pytest.raises(ValidationError, match="order_id"):
        market.send_message(Message(to="b", body="x", idempotency_key="k"))


# ---------------------------------------------------------------- refunds


def _refund() -> Refund:
    return Refund(order_id="723", amount=Money("10.00", "USD"), note="Damaged in transit",
                  idempotency_key="rma-0001:refund:1",
                  lines=[RefundLine(order_line_id="315", quantity=1,
                                    amount=Money("10.00", "USD"))])


REFUNDS = f"{BASE}/orders/723/refunds"


def test_refund_posts_line_items_with_the_key(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    http.get(REFUNDS, json=body("order_refunds_list"), headers={"X-WP-TotalPages": "1"})
    http.post(REFUNDS, json=body("order_refunds_create"), status=201,
              match=[matchers.json_params_matcher({
                  "amount": "10.00", "reason": "Damaged in transit", "api_refund": True,
                  "api_restock": True,
                  "line_items": [{"id": "315", "quantity": 1, "refund_total": "10.00"}],
                  "meta_data": [{"key": "_aftersales_idempotency_key",
                                 "value": "rma-0001:refund:1"}]})])
    done = market.refund(_refund())
    assert (done.external_id, done.amount) == ("726", Money("10.00", "USD"))


class FakeStore:
    """WooCommerce's side of refunds: what was paid, and answers that can get lost."""

    def __init__(self, http: responses.RequestsMock, lose_first_answer: bool,
                 busy_lookups: int = 0, unavailable: int = 0) -> None:
        self.refunds: list[dict[str, Any]] = []
        self.posts = 0
        self.lookups = 0
        self.lose = lose_first_answer
        self.busy = busy_lookups  # lookups before a refund shows (the gateway is slow)
        self.unavailable = unavailable  # list requests after the POST answered with a 503
        http.add_callback(responses.GET, REFUNDS, callback=self.list_refunds)
        http.add_callback(responses.POST, REFUNDS, callback=self.create)

    def list_refunds(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.posts and self.unavailable:
            self.unavailable -= 1
            return 503, {}, json.dumps({"code": "busy", "message": "try later"})
        self.lookups += 1
        shown = self.refunds if self.lookups > 1 + self.busy else []
        return 200, {"X-WP-TotalPages": "1"}, json.dumps(shown)

    def create(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.posts += 1
        sent = json.loads(request.body)
        made = dict(body("order_refunds_create"), id=800 + len(self.refunds),
                    amount=sent["amount"], meta_data=sent["meta_data"])
        self.refunds.append(made)  # the money goes back here
        if self.lose:
            self.lose = False
            raise requests.exceptions.ReadTimeout("read timed out")
        return 201, {}, json.dumps(made)


def test_a_refund_whose_answer_was_lost_is_paid_once(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    store = FakeStore(http, lose_first_answer=True)
    done = market.refund(_refund())
    assert done.external_id == "800"
    assert len(store.refunds) == 1  # paid once
    assert store.posts == 1  # the lookup found it; no second POST


def test_a_repeated_refund_call_finds_the_first_and_pays_once(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    store = FakeStore(http, lose_first_answer=False)
    first = market.refund(_refund())
    again = market.refund(_refund())
    assert first.external_id == again.external_id == "800"
    assert len(store.refunds) == 1


def test_a_refund_the_store_shows_only_after_a_while_is_found_not_paid_again(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    store = FakeStore(http, lose_first_answer=True, busy_lookups=2)
    done = market.refund(_refund())
    assert done.external_id == "800"
    assert (len(store.refunds), store.posts) == (1, 1)  # paid once, never posted again
    assert sleeps == [1.0, 2.0]  # it waited for the store to finish


def test_a_store_too_busy_to_list_refunds_is_asked_again_not_paid_again(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    # every attempt of the first look after the lost answer meets a 503
    store = FakeStore(http, lose_first_answer=True, unavailable=4)
    done = market.refund(_refund())
    assert done.external_id == "800"
    assert (len(store.refunds), store.posts) == (1, 1)


def test_a_refund_with_a_lost_answer_that_never_shows_is_an_unknown_outcome(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    store = FakeStore(http, lose_first_answer=True, busy_lookups=99)
    with pytest.raises(TransientError, match="outcome unknown") as exc:
        market.refund(_refund())
    assert exc.value.retryable  # the returns area keeps the refund pending
    assert (len(store.refunds), store.posts) == (1, 1)  # not posted a second time
    store.busy = 0  # later, the store shows the refund it made
    assert market.refund(_refund()).external_id == "800"
    assert (len(store.refunds), store.posts) == (1, 1)


def test_a_refund_post_dropped_after_sending_is_not_sent_again(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    http.get(REFUNDS, json=[], headers={"X-WP-TotalPages": "1"})
    http.post(REFUNDS, body=requests.exceptions.ConnectionError("reset by peer"))
    with pytest.raises(TransientError, match="outcome unknown"):
        market.refund(_refund())
    assert [c.request.method for c in http.calls].count("POST") == 1


def test_a_refund_post_that_never_left_is_sent_again(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    http.get(REFUNDS, json=[], headers={"X-WP-TotalPages": "1"})
    http.post(REFUNDS, body=requests.exceptions.ConnectTimeout("connect timed out"))
    http.post(REFUNDS, json=body("order_refunds_create"), status=201)
    assert market.refund(_refund()).external_id == "726"
    assert [c.request.method for c in http.calls].count("POST") == 2


def test_a_refused_refund_keeps_the_error_code(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    http.get(REFUNDS, json=[], headers={"X-WP-TotalPages": "1"})
    err = fx("error_400_refund_amount")["response"]
    http.post(REFUNDS, json=err["body"], status=400)
    with pytest.raises(RemoteRejectedError, match="greater than zero") as exc:
        market.refund(_refund())
    assert exc.value.code == "woocommerce_rest_invalid_order_refund"


def test_a_gateway_failure_is_not_retried(
    market: WooCommerceMarketplace, http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    http.get(REFUNDS, json=[], headers={"X-WP-TotalPages": "1"})
    http.post(REFUNDS, status=500, json={"code": "woocommerce_rest_cannot_create_order_refund",
                                         "message": "Gateway declined", "data": {"status": 500}})
    with pytest.raises(Exception, match="Gateway declined") as exc:
        market.refund(_refund())
    assert not isinstance(exc.value, TransientError)
    assert sleeps == []


# ---------------------------------------------------------------- reviews


def _review(n: int, created: str, rating: int = 4) -> dict[str, Any]:
    review: dict[str, Any] = copy.deepcopy(body("products_reviews_list")[0])
    review.update(id=n, date_created_gmt=created, rating=rating)
    return review


def test_list_reviews_walks_three_pages_of_every_status_and_resumes(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    base = {"status": "all", "orderby": "date_gmt", "order": "asc", "per_page": "2"}
    pages = [[_review(1, "2025-07-01T10:00:00"), _review(2, "2025-07-01T11:00:00", rating=0)],
             [_review(3, "2025-07-02T10:00:00", rating=1), _review(4, "2025-07-02T11:00:00")],
             [_review(5, "2025-07-03T10:00:00")]]
    for n, items in enumerate(pages, start=1):
        http.get(f"{BASE}/products/reviews", json=items, headers={"X-WP-TotalPages": "3"},
                 match=[matchers.query_param_matcher({**base, "page": str(n)})])
    got = list(market.list_reviews())
    assert [[r.external_id for r in p.items] for p in got] == [["1"], ["3", "4"], ["5"]]
    assert all(isinstance(r, Review) for p in got for r in p.items)

    http.get(f"{BASE}/products/reviews", json=[r for p in pages for r in p],
             headers={"X-WP-TotalPages": "1"},
             match=[matchers.query_param_matcher({**base, "page": "1",
                                                  "after": "2025-06-30T20:00:00"})])
    resumed = list(market.list_reviews(got[0].cursor))
    assert [r.external_id for p in resumed for r in p.items] == ["3", "4", "5"]


def test_the_orders_list_fixture_parses(market: WooCommerceMarketplace,
                                        http: responses.RequestsMock) -> None:
    fixture = fx("orders_list")
    http.get(f"{BASE}/orders", json=fixture["response"]["body"],
             headers=fixture["response"]["headers"])
    # order 723 lists refunds: their lines come from the order's refund list
    http.get(f"{BASE}/orders/723/refunds", json=body("order_refunds_list"),
             headers={"X-WP-TotalPages": "1"})
    pages = list(market.list_orders())
    # the docs list newest first; the adapter hands them out in change order
    assert [o.external_id for p in pages for o in p.items] == ["723", "727"]
    refunds = {o.external_id: [r.external_id for r in o.refunds] for p in pages for o in p.items}
    assert refunds == {"723": ["726", "724"], "727": []}


def test_query_string_credentials_never_reach_the_log(
    http: responses.RequestsMock, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    market = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key=KEY, consumer_secret=SECRET,
        query_string_auth=True), sleep=sleeps)
    http.get(ORDER_URL, status=503, body="<html>busy</html>", content_type="text/html")
    http.get(ORDER_URL, json=body("orders_get"))
    with caplog.at_level("DEBUG", logger="aftersales"):
        market.get_order("727")
    assert "woocommerce GET" in caplog.text  # the calls were logged...
    assert KEY not in caplog.text  # ...without the key pair
    assert SECRET not in caplog.text


def test_a_named_store_writes_its_name_into_orders_and_reviews(
    settings: WooCommerceSettings, sleeps: Sleeps, http: responses.RequestsMock
) -> None:
    eu = WooCommerceMarketplace(settings, name="woo-eu", sleep=sleeps)
    http.get(ORDER_URL, json=body("orders_get"))
    http.get(f"{BASE}/products/reviews", json=[_review(1, "2025-07-01T10:00:00")],
             headers={"X-WP-TotalPages": "1"})
    reviews = [r for p in eu.list_reviews() for r in p.items]
    assert [eu.get_order("727").marketplace, *(r.marketplace for r in reviews)] == ["woo-eu"] * 2
