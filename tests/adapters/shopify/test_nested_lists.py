"""Lists nested in a Shopify answer are read whole or refused, never cut short unseen.

Shopify's Admin GraphQL 2026-01 reference: ``Order.returns`` (``ReturnConnection``),
``Return.returnLineItems`` (``ReturnLineItemTypeConnection``),
``Return.reverseFulfillmentOrders`` (``ReverseFulfillmentOrderConnection``) and
``ReverseFulfillmentOrder.lineItems`` (``ReverseFulfillmentOrderLineItemConnection``)
are connections with ``pageInfo``. An order's returns past the listing's first
page, a return's lines past its first 50 and a reverse fulfillment order's
lines past its first 50 (``node(id:)``: the order is a ``Node``) are read with
follow-up queries from each page's ``endCursor`` (the ``ReturnLines`` answers
start from ``graphql_return_lines_follow_up``); lines that still cannot be
read whole (no cursor, another record's answer, a line twice, no end) and
reverse fulfillment orders past the page read are refused by name (one line)
before anything is written; an answer without the ``pageInfo`` asked for is refused too, since it
does not say whether more follow. Answers start from ``graphql_return_get``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from aftersales_shopify import ShopifyMarketplace
from aftersales_shopify import adapter as adapter_module

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


def _line(n: int) -> dict[str, Any]:
    """Return line ``n``, shaped like the follow-up fixture's line, on order line ``n``."""
    line: dict[str, Any] = copy.deepcopy(
        body("graphql_return_lines_follow_up")["data"]["return"]["returnLineItems"]["nodes"][0])
    line["id"] = f"gid://shopify/ReturnLineItem/{5000 + n}"
    line["fulfillmentLineItem"]["id"] = f"gid://shopify/FulfillmentLineItem/{6000 + n}"
    line["fulfillmentLineItem"]["lineItem"] = {"id": f"gid://shopify/LineItem/{7000 + n}",
                                               "sku": f"SKU-{n}"}
    return line


def _lines(numbers: range, cursor: str | None) -> dict[str, Any]:
    return {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor},
            "nodes": [_line(n) for n in numbers]}


def _follow_up(return_id: str, lines: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = copy.deepcopy(body("graphql_return_lines_follow_up"))
    answer["data"]["return"]["id"] = return_id
    answer["data"]["return"]["returnLineItems"] = lines
    return answer


def _fragments_match(query: str) -> None:
    """Every fragment spread is defined and every defined fragment spread (GraphQL
    validation: unknown or unused fragments fail the whole document)."""
    spread = set(re.findall(r"\.\.\.([A-Za-z_]\w*)", query)) - {"on"}
    defined = set(re.findall(r"fragment\s+(\w+)\s+on", query))
    assert spread == defined, (spread, defined)


def test_a_return_of_120_lines_is_read_whole_with_follow_ups(market: ShopifyMarketplace,
                                                             gql: GraphQL) -> None:
    answer = copy.deepcopy(body("graphql_return_get"))
    answer["data"]["return"]["returnLineItems"] = _lines(range(50), "c50")
    gql.reply("GetReturn", answer)
    rid = "gid://shopify/Return/945000960"
    gql.reply("ReturnLines", _follow_up(rid, _lines(range(50, 100), "c100")))
    gql.reply("ReturnLines", _follow_up(rid, _lines(range(100, 120), None)))
    got = market.get_return("945000960")
    assert [x.order_line_id for x in got.lines] == [str(7000 + n) for n in range(120)]
    assert sum(x.quantity for x in got.lines) == 240
    assert gql.ops() == ["GetReturn", "ReturnLines", "ReturnLines"]
    assert [s["variables"] for s in gql.seen[1:]] == [{"id": rid, "after": "c50"},
                                                      {"id": rid, "after": "c100"}]
    for sent in gql.seen:
        _fragments_match(sent["query"])
    assert "returnLineItems(first: 50, after: $after)" in gql.seen[1]["query"]


def test_a_listed_return_of_120_lines_is_read_whole(market: ShopifyMarketplace,
                                                    gql: GraphQL) -> None:
    ret = _return(1)
    ret["returnLineItems"] = _lines(range(50), "c50")
    gql.reply("ListReturns", _listing({"pageInfo": NO_MORE, "nodes": [ret, _return(2)]}))
    rid = "gid://shopify/Return/1"
    gql.reply("ReturnLines", _follow_up(rid, _lines(range(50, 100), "c100")))
    gql.reply("ReturnLines", _follow_up(rid, _lines(range(100, 120), None)))
    found = [r for page in market.list_returns() for r in page.items]
    assert [(r.external_id, len(r.lines)) for r in found] == [
        (rid, 120), ("gid://shopify/Return/2", 1)]
    assert found[0].order_id == "1"
    assert gql.ops() == ["ListReturns", "ReturnLines", "ReturnLines"]
    _fragments_match(gql.seen[0]["query"])


def _refused(market: ShopifyMarketplace, gql: GraphQL, follow_up: dict[str, Any],
             code: str) -> str:
    ret = _return(1)
    ret["returnLineItems"] = _lines(range(50), "c50")
    gql.reply("ListReturns", _listing({"pageInfo": NO_MORE, "nodes": [ret]}))
    gql.reply("ReturnLines", follow_up)
    with pytest.raises(ResponseParseError) as err:
        [r for page in market.list_returns() for r in page.items]
    assert err.value.code == code
    return _one_line(err.value)


def test_more_lines_without_an_end_cursor_are_refused(market: ShopifyMarketplace,
                                                      gql: GraphQL) -> None:
    lines = _lines(range(50, 100), None)
    lines["pageInfo"] = {"hasNextPage": True, "endCursor": None}
    text = _refused(market, gql, _follow_up("gid://shopify/Return/1", lines), "NO_END_CURSOR")
    assert "returnLineItems of return gid://shopify/Return/1 has more than the 50 read" in text


def test_a_follow_up_about_another_return_is_refused(market: ShopifyMarketplace,
                                                     gql: GraphQL) -> None:
    text = _refused(market, gql, _follow_up("gid://shopify/Return/2",
                                            _lines(range(50, 60), None)), "WRONG_RECORD")
    assert "another return" in text


def test_a_line_listed_on_two_pages_is_refused(market: ShopifyMarketplace,
                                               gql: GraphQL) -> None:
    text = _refused(market, gql, _follow_up("gid://shopify/Return/1",
                                            _lines(range(49, 60), None)), "DUPLICATE_LINE")
    assert "lists line gid://shopify/ReturnLineItem/5049 twice" in text


def test_a_follow_up_without_page_info_is_refused(market: ShopifyMarketplace,
                                                  gql: GraphQL) -> None:
    lines = _lines(range(50, 60), None)
    del lines["pageInfo"]
    text = _refused(market, gql, _follow_up("gid://shopify/Return/1", lines), "NO_PAGE_INFO")
    assert "does not say whether the returnLineItems of return gid://shopify/Return/1" in text


def test_lines_that_never_end_are_refused_after_the_pages_read_at_most(
    market: ShopifyMarketplace, gql: GraphQL, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(adapter_module, "RETURN_LINE_PAGES", 3)
    answer = copy.deepcopy(body("graphql_return_get"))
    answer["data"]["return"]["returnLineItems"] = _lines(range(50), "c1")
    gql.reply("GetReturn", answer)
    rid = "gid://shopify/Return/945000960"
    for page in (1, 2):  # the third follow-up is never sent
        gql.reply("ReturnLines", _follow_up(rid, _lines(range(50 * page, 50 * page + 50),
                                                        f"c{page + 1}")))
    with pytest.raises(ResponseParseError) as err:
        market.get_return("945000960")
    assert err.value.code == "LONGER_THAN_READ"
    assert "returnLineItems of return gid://shopify/Return/945000960" in _one_line(err.value)
    assert gql.ops() == ["GetReturn", "ReturnLines", "ReturnLines"]


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
    assert "returnLineItems(first: 50) { pageInfo { hasNextPage endCursor }" in query


def _reverse(orders: dict[str, Any], lines: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"return": {
        "id": "gid://shopify/Return/945000959", "reverseFulfillmentOrders": {
            "pageInfo": orders, "nodes": [{
                "id": "gid://shopify/ReverseFulfillmentOrder/1", "lineItems": {
                    "pageInfo": lines, "nodes": [
                        {"id": "gid://shopify/ReverseFulfillmentOrderLineItem/7",
                         "totalQuantity": 1}]}}]}}}}


def test_goods_are_never_disposed_in_part(market: ShopifyMarketplace, gql: GraphQL) -> None:
    gql.reply("ReturnReverse", _reverse(MORE, NO_MORE))
    with pytest.raises(ResponseParseError) as err:
        market.confirm_return_received(_request())
    assert err.value.code == "LONGER_THAN_READ"
    assert "reverseFulfillmentOrders of return gid://shopify/Return/945000959" in (
        _one_line(err.value))
    assert gql.ops() == ["ReturnReverse"]  # no Dispose sent


RFO = "gid://shopify/ReverseFulfillmentOrder/1"


def _reverse_lines(numbers: range, cursor: str | None) -> dict[str, Any]:
    return {"pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor},
            "nodes": [{"id": f"gid://shopify/ReverseFulfillmentOrderLineItem/{n}",
                       "totalQuantity": 1} for n in numbers]}


def _reverse_page(node_id: str, lines: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"node": {"id": node_id, "lineItems": lines}}}


def test_a_reverse_fulfillment_of_120_lines_is_disposed_whole(market: ShopifyMarketplace,
                                                               gql: GraphQL) -> None:
    first = _reverse(NO_MORE, NO_MORE)
    first["data"]["return"]["reverseFulfillmentOrders"]["nodes"][0]["lineItems"] = (
        _reverse_lines(range(50), "l50"))
    gql.reply("ReturnReverse", first)
    gql.reply("ReverseLines", _reverse_page(RFO, _reverse_lines(range(50, 100), "l100")))
    gql.reply("ReverseLines", _reverse_page(RFO, _reverse_lines(range(100, 120), None)))
    gql.reply("Dispose", {"data": {"reverseFulfillmentOrderDispose": {
        "reverseFulfillmentOrderLineItems": [{"id": "x"}], "userErrors": []}}})
    market.confirm_return_received(_request())
    assert gql.ops() == ["ReturnReverse", "ReverseLines", "ReverseLines", "Dispose"]
    assert [s["variables"] for s in gql.seen[1:3]] == [{"id": RFO, "after": "l50"},
                                                       {"id": RFO, "after": "l100"}]
    assert "... on ReverseFulfillmentOrder" in gql.seen[1]["query"]
    disposed = [i["reverseFulfillmentOrderLineItemId"] for i in gql.seen[3]["variables"]["inputs"]]
    assert disposed == [f"gid://shopify/ReverseFulfillmentOrderLineItem/{n}" for n in range(120)]


@pytest.mark.parametrize(("answer", "code"), [
    (_reverse_page("gid://shopify/ReverseFulfillmentOrder/2", _reverse_lines(range(50, 60), None)),
     "WRONG_RECORD"),
    (_reverse_page(RFO, {"pageInfo": {"hasNextPage": True}, "nodes": []}), "NO_END_CURSOR"),
    (_reverse_page(RFO, _reverse_lines(range(49, 60), None)), "DUPLICATE_LINE"),
])
def test_reverse_lines_that_cannot_be_read_whole_dispose_nothing(
    market: ShopifyMarketplace, gql: GraphQL, answer: dict[str, Any], code: str,
) -> None:
    first = _reverse(NO_MORE, NO_MORE)
    first["data"]["return"]["reverseFulfillmentOrders"]["nodes"][0]["lineItems"] = (
        _reverse_lines(range(50), "l50"))
    gql.reply("ReturnReverse", first)
    gql.reply("ReverseLines", answer)
    with pytest.raises(ResponseParseError) as err:
        market.confirm_return_received(_request())
    assert err.value.code == code
    _one_line(err.value)
    assert gql.ops() == ["ReturnReverse", "ReverseLines"]  # no Dispose sent
