"""What ``refundCreate`` answers about the money: its transactions' statuses.

Shopify records a refund even when the payment gateway declines its
transactions (``OrderTransactionStatus`` ``FAILURE``/``ERROR``); its own
``refundCreate`` examples read each transaction's ``status``. A refund whose
transactions were all declined paid nothing: it is a refusal (the core marks
it failed and a new attempt may pay), not a payment, and the lost-answer
look-up never takes it for one.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace
from aftersales_shopify.schemas import Connection, GqlRefund
from responses import matchers

from aftersales.errors import RemoteRejectedError, ResponseParseError
from aftersales.models import Refund
from aftersales.money import Money
from aftersales.returns.refund_settle import refused

from .conftest import BASE, GraphQL, body, fx

ORDER = "734509473"


def _docs_answer(*statuses: str, more: bool = False) -> dict[str, Any]:
    """Shopify's documented answer, its transactions set to ``statuses`` (and ``more``)."""
    answer = copy.deepcopy(body("graphql_refund_create_shipping_docs"))
    refund = answer["data"]["refundCreate"]["refund"]
    refund["transactions"] = {"pageInfo": {"hasNextPage": more},
                              "edges": [{"node": {"kind": "REFUND", "status": s}}
                                        for s in statuses]}
    return answer


def _instruction(**kw: Any) -> Refund:
    return Refund(order_id=ORDER, amount=Money("16.99", "CAD"), shipping=Money("6.99", "CAD"),
                  idempotency_key="rk-docs", **kw)


def _calculate(http: responses.RequestsMock) -> None:
    # Shopify's suggestion for the same shipping refund: the parent transaction
    # and gateway of the documented example, in the order's currency.
    calc = copy.deepcopy(body("rest_refunds_calculate"))
    calc["refund"]["currency"] = "CAD"
    calc["refund"]["transactions"] = [{
        "order_id": int(ORDER), "kind": "suggested_refund", "gateway": "foo",
        "parent_id": 723599266, "amount": "16.99", "currency": "CAD",
        "maximum_refundable": "16.99"}]
    calc["refund"]["shipping"] = {"amount": "6.99", "tax": "0.00", "maximum_refundable": "6.99"}
    http.post(f"{BASE}/orders/{ORDER}/refunds/calculate.json", json=calc, match=[
        matchers.json_params_matcher({"refund": {
            "currency": "CAD", "refund_line_items": [], "shipping": {"amount": "6.99"}}})])


def test_the_fixture_names_its_source() -> None:
    assert fx("graphql_refund_create_shipping_docs")["_source"].strip()


def test_shopifys_documented_shipping_refund_is_sent_and_read_as_shopify_shows_it(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
) -> None:
    _calculate(http)
    gql.reply("RefundCreate", body("graphql_refund_create_shipping_docs"))
    paid = market.refund(_instruction())
    sent = gql.seen[0]["variables"]["input"]
    documented = fx("graphql_refund_create_shipping_docs")["request"]["variables"]["input"]
    assert [{k: t[k] for k in ("orderId", "parentId", "kind", "gateway", "amount")}
            for t in sent["transactions"]] == documented["transactions"]
    assert sent["shipping"] == documented["shipping"]
    assert sent["currency"] == "CAD"
    assert paid.external_id == "gid://shopify/Refund/929361464"
    assert paid.amount == Money("16.99", "CAD")


@pytest.mark.parametrize("statuses", [("FAILURE",), ("ERROR",), ("FAILURE", "ERROR")])
def test_a_refund_whose_transactions_the_gateway_declined_is_a_refusal(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
    statuses: tuple[str, ...],
) -> None:
    _calculate(http)
    gql.reply("RefundCreate", _docs_answer(*statuses))
    with pytest.raises(RemoteRejectedError, match="declined refund gid://shopify/Refund/"
                                                   "929361464") as caught:
        market.refund(_instruction())
    assert refused(caught.value)  # the core marks it failed: no money moved
    assert caught.value.code == statuses[0]
    assert gql.ops() == ["RefundCreate"]  # nothing closed on the strength of it


@pytest.mark.parametrize("statuses", [("SUCCESS",), ("PENDING",), ("AWAITING_RESPONSE",),
                                      ("FAILURE", "SUCCESS"), ()])
def test_a_refund_with_a_transaction_under_way_or_done_is_paid(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
    statuses: tuple[str, ...],
) -> None:
    _calculate(http)
    gql.reply("RefundCreate", _docs_answer(*statuses))
    assert market.refund(_instruction()).external_id == "gid://shopify/Refund/929361464"


def _listed(*statuses: str, more: bool = False, more_lines: bool = False) -> dict[str, Any]:
    refund = _docs_answer(*statuses, more=more)["data"]["refundCreate"]["refund"]
    return {**refund, "createdAt": "2026-01-12T10:00:00Z",
            "refundLineItems": {"pageInfo": {"hasNextPage": more_lines}, "nodes": []}}


@pytest.mark.parametrize(("statuses", "found"), [
    (("SUCCESS",), True), (("FAILURE",), False), (("ERROR", "FAILURE"), False)])
def test_the_lost_answer_look_up_never_takes_a_declined_refund_for_a_payment(
    market: ShopifyMarketplace, gql: GraphQL, statuses: tuple[str, ...], found: bool,
) -> None:
    gql.reply("OrderRefunds", {"data": {"order": {"id": f"gid://shopify/Order/{ORDER}",
                                                  "refunds": [_listed(*statuses)]}}})
    pending = _instruction(created_at=datetime(2026, 1, 12, 9, 59, tzinfo=UTC))
    match = market.find_refund(pending)
    assert (match is not None) is found


def test_connections_are_read_from_edges_as_shopifys_examples_write_them() -> None:
    # Shopify's refundCreate and returnApproveRequest examples select edges { node }.
    refund = GqlRefund.model_validate(
        body("graphql_refund_create_shipping_docs")["data"]["refundCreate"]["refund"])
    assert [t.status for t in refund.transactions.nodes] == ["SUCCESS"]
    approved = Connection[dict[str, Any]].model_validate(
        {"edges": [{"node": {"id": "gid://shopify/ReturnLineItem/677614676"}}]})
    assert approved.nodes == [{"id": "gid://shopify/ReturnLineItem/677614676"}]


# ---------------------------------------------------------------- lists longer than read


def test_declined_transactions_with_more_unread_are_no_refusal(
    market: ShopifyMarketplace, http: responses.RequestsMock, gql: GraphQL,
) -> None:
    # Refund.transactions is an OrderTransactionConnection: an unread one may have paid,
    # so "declined" (a new attempt may pay) cannot be said; the outcome is unknown.
    _calculate(http)
    gql.reply("RefundCreate", _docs_answer("FAILURE", more=True))
    with pytest.raises(ResponseParseError) as caught:
        market.refund(_instruction())
    assert not refused(caught.value)
    assert caught.value.code == "LONGER_THAN_READ"
    assert "transactions of refund gid://shopify/Refund/929361464" in str(caught.value)
    assert gql.ops() == ["RefundCreate"]


def _look_up(market: ShopifyMarketplace, gql: GraphQL, refunds: list[dict[str, Any]]) -> Any:
    gql.reply("OrderRefunds", {"data": {"order": {"id": f"gid://shopify/Order/{ORDER}",
                                                  "refunds": refunds}}})
    return market.find_refund(_instruction(created_at=datetime(2026, 1, 12, 9, 59,
                                                                tzinfo=UTC)))


@pytest.mark.parametrize(("listed", "named"), [
    (_listed("FAILURE", more=True), "the transactions of refund"),
    (_listed("SUCCESS", more_lines=True), "the refundLineItems of refund")])
def test_the_lost_answer_look_up_refuses_a_refund_longer_than_read(
    market: ShopifyMarketplace, gql: GraphQL, listed: dict[str, Any], named: str,
) -> None:
    with pytest.raises(ResponseParseError) as caught:
        _look_up(market, gql, [listed])
    assert caught.value.code == "LONGER_THAN_READ"
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_lost_answer_look_up_refuses_as_many_refunds_as_it_asked_for(
    market: ShopifyMarketplace, gql: GraphQL,
) -> None:
    # Order.refunds is a plain list ([Refund!]! with first): no pageInfo, so 100 of the
    # 100 asked for may hide the one paid, and "not found" would have it paid twice.
    other = {**_listed("SUCCESS"), "id": "gid://shopify/Refund/1",
             "createdAt": "2026-01-01T00:00:00Z"}
    assert _look_up(market, gql, [other] * 99) is None
    with pytest.raises(ResponseParseError, match="only the first 100 can be read") as caught:
        _look_up(market, gql, [other] * 100)
    assert caught.value.code == "LONGER_THAN_READ"
    assert "\n" not in str(caught.value)
