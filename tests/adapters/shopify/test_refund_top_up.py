"""A top-up refunds money, never the request's units a second time.

``RefundLineItemInput.quantity`` is "the quantity of the associated line
item to be refunded" (Shopify's GraphQL Admin reference, refundCreate and
RefundLineItemInput), and ``refunds/calculate`` suggests the money of the
units it is given. A partial refund of a request already refunds its units;
the top-up that pays the rest (here the rest of the goods and the
shipping) must name none of them again, or Shopify refunds (and restocks)
further units of the order, or refuses the quantity.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings

from aftersales.app import AfterSales
from aftersales.money import Money

from .conftest import TOKEN
from .test_lost_answers import LosingShop


class RecordingShop(LosingShop):
    """Keeps each refundCreate input and each calculation asked for."""

    inputs: list[dict[str, Any]]
    asked: list[dict[str, Any]]

    def _op_RefundCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        self.inputs.append(v["input"])
        return super()._op_RefundCreate(v)

    def _calculate(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.asked.append(json.loads(request.body)["refund"])
        return super()._calculate(request)


@pytest.fixture
def shop(http: responses.RequestsMock) -> RecordingShop:
    made = RecordingShop(http)
    made.inputs, made.asked = [], []
    return made


@pytest.fixture
def app(sqlite_url: str, shop: RecordingShop) -> Iterator[AfterSales]:
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token=TOKEN,
                                                page_size=3), sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def test_a_top_up_names_no_unit_the_partial_refund_already_refunded(
        app: AfterSales, shop: RecordingShop) -> None:
    rma = next(r.rma_id for r in app.returns.list(marketplace="shopify")
               if r.external_id == "gid://shopify/Return/200") or ""
    app.returns.approve(rma)
    app.returns.mark_shipped(rma, tracking_number="1Z999AA10123456784", carrier="ups")
    app.returns.receive(rma)
    whole = app.returns.preview_refund(rma, refund_shipping=True)
    units = {ln.order_line_id: ln.quantity for ln in whole.lines}
    first = app.returns.refund(rma, amount=Money("1.00", whole.currency),
                               refund_shipping=True, idempotency_key="part")
    rest = app.returns.preview_refund(rma, refund_shipping=True)
    assert rest.total == whole.total - first.amount
    app.returns.refund(rma, refund_shipping=True, idempotency_key="rest")
    assert len(shop.inputs) == 2
    sent: dict[str, int] = {}
    for given in shop.inputs:
        for item in given["refundLineItems"]:
            line = item["lineItemId"].rsplit("/", 1)[-1]
            sent[line] = sent.get(line, 0) + item["quantity"]
    assert sent == {line.rsplit("/", 1)[-1]: n for line, n in units.items()}
    assert shop.inputs[1]["refundLineItems"] == []
    assert shop.asked[-1].get("refund_line_items") == []
    # what the top-up paid: the rest, the shipping's rest included
    paid = sum((Money(t["amount"], whole.currency) for t in shop.inputs[1]["transactions"]),
               Money.zero(whole.currency))
    assert paid == rest.total
