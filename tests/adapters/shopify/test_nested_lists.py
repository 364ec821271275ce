"""Lists nested in a Shopify answer are read whole or refused, never cut short unseen.

Shopify's Admin GraphQL 2026-01 reference: ``Order.returns`` (``ReturnConnection``),
``Return.returnLineItems`` (``ReturnLineItemTypeConnection``),
``Return.reverseFulfillmentOrders`` (``ReverseFulfillmentOrderConnection``) and
``ReverseFulfillmentOrder.lineItems`` (``ReverseFulfillmentOrderLineItemConnection``)
are connections with ``pageInfo``. An order's returns past the listing's first
page are read with a follow-up query; a return's lines or reverse fulfillment
orders past the page read are refused by name (one line) before anything is
written; an answer without the ``pageInfo`` asked for is refused too, since it
does not say whether more follow. Answers start from ``graphql_return_get``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aftersales_shopify import ShopifyMarketplace

from aftersales.errors import ResponseParseError
from aftersales.models import ReturnKind, ReturnLine, ReturnRequest

from .conftest import NO_MORE, GraphQL, body

MORE = {"hasNextPage": True, "endCursor": "r1"}


def _return(n: int) -> dict[str, Any]:
    ret: dict[str, Any] = copy.deepcopy(body("graphql_return_get")["data"]["return"])
    ret["id"] = f"gid://shopify/Return/{n}"
    return ret


def _listing(returns: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"orders": {"pageInfo": NO_MORE, "nodes": [{
        "id": "gid://shopify/Order/1", "updatedAt": "2025-07-01T10:00:00Z",
        "returns": returns}]}}}


def _request() -> ReturnRequest:
    return ReturnRequest(marketplace="shopify", order_id="1", kind=ReturnKind.RETURN,
                         external_id="gid://shopify/Return/945000959",
                         lines=[ReturnLine(order_line_id="518995019", quantity=1)])


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    assert len(text) < 300
    return text


def test_an_orders_returns_past_the_first_page_are_read_with_a_follow_up(
    market: ShopifyMarketplace, gql: GraphQL,
) -> None:
    gql.reply("ListReturns", _listing({"pageInfo": MORE, "nodes": [_return(1)]}))
    gql.reply("OrderReturns", {"data": {"order": {"id": "gid://shopify/Order/1", "returns": {
        "pageInfo": {"hasNextPage": True, "endCursor": "r2"}, "nodes": [_return(2)]}}}})
    gql.reply("OrderReturns", {"data": {"order": {"id": "gid://shopify/Order/1", "returns": {
        "pageInfo": NO_MORE, "nodes": [_return(3)]}}}})
    found = [r for page in market.list_returns() for r in page.items]
    assert [r.external_id for r in found] == [f"gid://shopify/Return/{n}" for n in (1, 2, 3)]
    assert [r.order_id for r in found] == ["1", "1", "1"]
    assert gql.ops() == ["ListReturns", "OrderReturns", "OrderReturns"]
    assert [s["variables"] for s in gql.seen[1:]] == [
        {"id": "gid://shopify/Order/1", "after": "r1"},
        {"id": "gid://shopify/Order/1", "after": "r2"}]


def test_a_follow_up_about_another_order_is_refused(market: ShopifyMarketplace,
                                                    gql: GraphQL) -> None:
    gql.reply("ListReturns", _listing({"pageInfo": MORE, "nodes": [_return(1)]}))
    gql.reply("OrderReturns", {"data": {"order": {"id": "gid://shopify/Order/2", "returns": {
        "pageInfo": NO_MORE, "nodes": [_return(2)]}}}})
    with pytest.raises(ResponseParseError, match="another order") as err:
        [r for page in market.list_returns() for r in page.items]
    assert err.value.code == "WRONG_RECORD"


def test_more_returns_without_an_end_cursor_are_refused(market: ShopifyMarketplace,
                                                        gql: GraphQL) -> None:
    gql.reply("ListReturns", _listing({"pageInfo": {"hasNextPage": True, "endCursor": None},
                                       "nodes": [_return(1)]}))
    with pytest.raises(ResponseParseError) as err:
        [r for page in market.list_returns() for r in page.items]
    assert err.value.code == "NO_END_CURSOR"
    assert "returns of order gid://shopify/Order/1" in _one_line(err.value)
    assert gql.ops() == ["ListReturns"]


def test_a_listed_return_with_more_lines_than_read_is_refused(market: ShopifyMarketplace,
                                                              gql: GraphQL) -> None:
    ret = _return(1)
    ret["returnLineItems"]["pageInfo"] = MORE
    gql.reply("ListReturns", _listing({"pageInfo": NO_MORE, "nodes": [ret]}))
    with pytest.raises(ResponseParseError) as err:
        [r for page in market.list_returns() for r in page.items]
    assert err.value.code == "LONGER_THAN_READ"
    assert "returnLineItems of return gid://shopify/Return/1 has more than the 1 read" in (
        _one_line(err.value))


def test_a_return_with_more_lines_than_read_is_refused(market: ShopifyMarketplace,
                                                       gql: GraphQL) -> None:
    answer = copy.deepcopy(body("graphql_return_get"))
    answer["data"]["return"]["returnLineItems"]["pageInfo"] = MORE
    gql.reply("GetReturn", answer)
    with pytest.raises(ResponseParseError) as err:
        market.get_return("945000960")
    assert err.value.code == "LONGER_THAN_READ"
    assert "returnLineItems of return gid://shopify/Return/945000960" in _one_line(err.value)


def test_a_return_whose_answer_does_not_say_if_more_lines_follow_is_refused(
    market: ShopifyMarketplace, gql: GraphQL,
) -> None:
    answer = copy.deepcopy(body("graphql_return_get"))
    del answer["data"]["return"]["returnLineItems"]["pageInfo"]
    gql.reply("GetReturn", answer)
    with pytest.raises(ResponseParseError) as err:
        market.get_return("945000960")
    assert err.value.code == "NO_PAGE_INFO"
    assert "does not say whether the returnLineItems" in _one_line(err.value)


def test_the_fragment_asks_for_one_exchange_line_and_whether_more_return_lines_follow(
    market: ShopifyMarketplace, gql: GraphQL,
) -> None:
    gql.reply("GetReturn", body("graphql_return_get"))
    market.get_return("945000960")
    query = gql.seen[0]["query"]
    assert "exchangeLineItems(first: 1)" in query  # only whether one exists is read
    assert "returnLineItems(first: 50) { pageInfo { hasNextPage }" in query


def _reverse(orders: dict[str, Any], lines: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"return": {
        "id": "gid://shopify/Return/945000959", "reverseFulfillmentOrders": {
            "pageInfo": orders, "nodes": [{
                "id": "gid://shopify/ReverseFulfillmentOrder/1", "lineItems": {
                    "pageInfo": lines, "nodes": [
                        {"id": "gid://shopify/ReverseFulfillmentOrderLineItem/7",
                         "totalQuantity": 1}]}}]}}}}


@pytest.mark.parametrize(("orders", "lines", "named"), [
    (MORE, NO_MORE, "reverseFulfillmentOrders of return gid://shopify/Return/945000959"),
    (NO_MORE, MORE, "lineItems of reverse fulfillment order "
                    "gid://shopify/ReverseFulfillmentOrder/1")])
def test_goods_are_never_disposed_in_part(market: ShopifyMarketplace, gql: GraphQL,
                                          orders: dict[str, Any], lines: dict[str, Any],
                                          named: str) -> None:
    gql.reply("ReturnReverse", _reverse(orders, lines))
    with pytest.raises(ResponseParseError) as err:
        market.confirm_return_received(_request())
    assert err.value.code == "LONGER_THAN_READ"
    assert named in _one_line(err.value)
    assert gql.ops() == ["ReturnReverse"]  # no Dispose sent
