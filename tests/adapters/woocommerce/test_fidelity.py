"""WooCommerce's documented payloads through the adapter, its version floor and its auth.

Each fixture used here names its source in ``_source``; the value lists are
those of the REST API v3 docs and the plugin's controllers (checked 2026-12-02).
"""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
import responses
from aftersales_woocommerce import WooCommerceMarketplace, adapter, mapping
from aftersales_woocommerce.schemas import WcReview
from responses import matchers

from aftersales.errors import ConfigurationError
from aftersales.models import ReviewVisibility
from aftersales.money import Money

from .conftest import BASE, KEY, SECRET, body, fx

#: ``Order.status`` options in the docs (``_orders.md``), plus ``checkout-draft``,
#: which core registers for the block checkout and the docs leave out.
ORDER_STATUSES = ["pending", "processing", "on-hold", "completed", "cancelled", "refunded",
                  "failed", "trash", "checkout-draft"]
#: Product review ``status`` options in the docs (``_product-reviews.md``).
REVIEW_STATUSES = ["approved", "hold", "spam", "unspam", "trash", "untrash"]
#: Of those, the ones only ever sent as actions, never answered.
REVIEW_ACTIONS = ["unspam", "untrash"]
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
NEW = ("products_review_update_docs", "products_review_delete_docs", "products_review_get_docs",
       "products_reviews_batch_docs", "orders_update_completed_docs",
       "error_400_invalid_orderby")


def test_every_new_fixture_names_its_source() -> None:
    for name in NEW:
        assert fx(name)["_source"].strip()


# ------------------------------------------------------------ WooCommerce's payloads


def test_documented_reviews_are_listed_with_their_moderation_state(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    items = [body("products_review_update_docs"), body("products_review_get_docs")]
    http.get(f"{BASE}/products/reviews", json=items, headers={"X-WP-TotalPages": "1"},
             match=[matchers.query_param_matcher({
                 "status": "all", "orderby": "date_gmt", "order": "asc", "per_page": "2",
                 "page": "1"})])
    reviews = [r for page in market.list_reviews() for r in page.items]
    assert [(r.external_id, r.rating, r.sku, r.body) for r in reviews] == [
        ("20", 5, "31", "Now works just fine."), ("22", 5, "22", "Nice album!")]
    assert {r.visibility for r in reviews} == {ReviewVisibility.PUBLISHED}
    assert all(r.created_at.utcoffset() is not None for r in reviews)
    assert "john.doe@example.com" not in reviews[0].model_dump_json()


def test_the_deleted_review_of_the_docs_is_hidden() -> None:
    previous = body("products_review_delete_docs")["previous"]
    review = mapping.review_from_wc(WcReview.model_validate(previous))
    assert review is not None
    assert (review.external_id, review.visibility) == ("20", ReviewVisibility.HIDDEN)


def test_the_batch_answer_of_the_docs_maps_every_review() -> None:
    answer = body("products_reviews_batch_docs")
    reviews = [mapping.review_from_wc(WcReview.model_validate(r))
               for r in [*answer["create"], *answer["update"]]]
    assert [(r.external_id, r.rating) for r in reviews if r] == [("25", 4), ("26", 5), ("7", 3)]
    assert all(r and r.visibility is ReviewVisibility.PUBLISHED for r in reviews)


def test_the_completed_order_of_the_docs_maps_right(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    http.get(f"{BASE}/orders/727", json=body("orders_update_completed_docs"),
             match=[matchers.header_matcher({"Authorization": BASIC})])
    order = market.get_order("727")
    assert (order.external_id, order.raw_status) == ("727", "completed")
    assert mapping.map_order_status("completed") is None  # a completed order says nothing
    assert [(ln.external_id, ln.quantity) for ln in order.lines] == [("315", 2), ("316", 1)]
    assert order.lines[1].title == "Ship Your Idea – Color: Black, Size: M Test"
    assert order.lines[0].unit_price == Money(Decimal("3.00"), "USD")
    assert order.shipping == Money(Decimal("10.00"), "USD")
    assert order.total == Money(Decimal("29.35"), "USD")
    assert order.updated_at.utcoffset() is not None
    assert order.updated_at.hour == 19  # the *_gmt time, not the site's local one


# ------------------------------------------------------------ the version floor


def test_the_adapter_documents_its_minimum_version_and_when_it_was_checked() -> None:
    doc = adapter.__doc__ or ""
    assert "Minimum WooCommerce: 5.8" in doc
    assert "2026-12-02" in doc
    assert adapter.MIN_WOOCOMMERCE == "5.8"
    assert "5.8" in (WooCommerceMarketplace.__doc__ or "")


def test_a_store_too_old_for_orderby_modified_is_a_configuration_error(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    error = fx("error_400_invalid_orderby")["response"]
    http.get(f"{BASE}/orders", json=error["body"], status=error["status"])
    with pytest.raises(ConfigurationError, match=r"WooCommerce 5\.8 or later"):
        list(market.list_orders())
    assert len(http.calls) == 1  # a refusal is not retried


def test_another_refusal_is_not_blamed_on_the_version(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    http.get(f"{BASE}/orders", status=400,
             json={"code": "woocommerce_rest_invalid_thing", "message": "no", "data": {}})
    with pytest.raises(Exception, match="no") as info:
        list(market.list_orders())
    assert not isinstance(info.value, ConfigurationError)


def test_a_store_that_ignores_modified_after_is_still_read_right(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    old = {**body("orders_update_completed_docs"), "id": 1,
           "date_modified_gmt": "2017-03-22T19:30:35"}
    new = {**body("orders_update_completed_docs"), "id": 2,
           "date_modified_gmt": "2025-07-02T09:00:00"}
    http.get(f"{BASE}/orders", json=[new], headers={"X-WP-TotalPages": "1"})
    (first,) = list(market.list_orders())
    # A 5.7 store drops modified_after silently and answers everything again.
    http.get(f"{BASE}/orders", json=[old, new], headers={"X-WP-TotalPages": "1"})
    resumed = [o.external_id for p in market.list_orders(first.cursor) for o in p.items]
    assert resumed == []


# ------------------------------------------------------------ auth


def test_every_call_authenticates_in_the_header_never_in_the_url(
    market: WooCommerceMarketplace, http: responses.RequestsMock
) -> None:
    http.get(f"{BASE}/orders", json=[body("orders_update_completed_docs")],
             headers={"X-WP-TotalPages": "1"})
    http.get(f"{BASE}/orders/727", json=body("orders_update_completed_docs"))
    http.post(f"{BASE}/orders/727/notes", json=body("order_notes_create"), status=201)
    list(market.list_orders())
    order = market.get_order("727")
    market.approve_return(_request(order.external_id))
    for call in http.calls:
        assert call.request.headers["Authorization"] == BASIC
        assert KEY not in call.request.url  # the line urllib3 logs at DEBUG
        assert SECRET not in call.request.url


def _request(order_id: str) -> object:
    from aftersales.models import ReturnKind, ReturnLine, ReturnRequest

    return ReturnRequest(marketplace="woocommerce", order_id=order_id, kind=ReturnKind.RETURN,
                         lines=[ReturnLine(order_line_id="315", quantity=1)], rma_id="RMA-1")


# ------------------------------------------------------------ value lists


def test_the_order_status_table_covers_every_status() -> None:
    assert sorted(mapping.ORDER_STATUS) == sorted(ORDER_STATUSES)


def test_the_review_status_table_covers_every_answered_status() -> None:
    answered = [s for s in REVIEW_STATUSES if s not in REVIEW_ACTIONS]
    assert sorted(mapping.REVIEW_STATUS) == sorted(answered)
    assert mapping.REVIEW_STATUS["hold"] is ReviewVisibility.PENDING
    assert mapping.REVIEW_STATUS["spam"] is ReviewVisibility.HIDDEN
