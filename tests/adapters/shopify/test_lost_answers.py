"""The lost-answer matrix through the Shopify adapter: exactly one refund per cell.

The fake shop creates the refund (deduplicated by its ``@idempotent`` key,
as Shopify does) and then loses the answer, on every retry while the loss
lasts. Shopify stores no key on a refund, so the next attempt finds it by
amount, lines and time through ``Order.refunds``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings

from aftersales.app import AfterSales
from aftersales.models import ReturnStatus
from aftersales.testing.lost_answers import (
    FOLLOW_UPS,
    LOST_ANSWERS,
    lost_answer,
    settle_after_lost_answer,
)

from .conftest import TOKEN
from .fake_shopify import FakeShop


class LosingShop(FakeShop):
    """Records each refund's order, lines and time; loses ``refundCreate`` answers on demand."""

    lose: str | None = None

    def _graphql(self, request: Any) -> Any:
        answer = super()._graphql(request)
        if self.lose and "refundCreate" in json.loads(request.body)["query"]:
            return lost_answer(self.lose)
        return answer

    def _op_RefundCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        fresh = v["key"] not in self.refunds
        out = super()._op_RefundCreate(v)
        if fresh:
            made = self.refunds[v["key"]]
            made["createdAt"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            made["_order"] = v["input"]["orderId"]
            made["refundLineItems"] = {"pageInfo": {"hasNextPage": False}, "nodes": [
                {"quantity": x["quantity"], "lineItem": {"id": x["lineItemId"]}}
                for x in v["input"].get("refundLineItems", [])]}
        return out

    def _op_OrderRefunds(self, v: dict[str, Any]) -> dict[str, Any]:
        listed = [{k: r[k] for k in r if not k.startswith("_")}
                  for r in self.refunds.values() if r.get("_order") == v["id"]]
        return {"order": {"id": v["id"], "refunds": listed}}


@pytest.fixture
def shop(http: responses.RequestsMock) -> LosingShop:
    return LosingShop(http)


@pytest.fixture
def app(sqlite_url: str, shop: LosingShop) -> Iterator[AfterSales]:
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token=TOKEN,
                                                page_size=3), sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _received(app: AfterSales) -> str:
    found = [r for r in app.returns.list(marketplace="shopify")
             if r.external_id == "gid://shopify/Return/200"]
    rma = found[0].rma_id or ""
    app.returns.approve(rma)
    app.returns.mark_shipped(rma, tracking_number="1Z999AA10123456784", carrier="ups")
    app.returns.receive(rma)
    return rma


@pytest.mark.parametrize("follow_up", FOLLOW_UPS)
@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_pays_exactly_once(app: AfterSales, shop: LosingShop, mode: str,
                                         follow_up: str) -> None:
    rma = _received(app)
    shop.lose = mode

    def heal() -> None:
        shop.lose = None

    settle_after_lost_answer(app, rma, follow_up, heal=heal)
    assert len(shop.refunds) == 1
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED
    # The refund found after the lost answer closes the Shopify return, as a paid one does.
    assert shop.returns[shop._ret_index("gid://shopify/Return/200")]["status"] == "CLOSED"


def test_find_refund_skips_refunds_already_recorded(app: AfterSales, shop: LosingShop) -> None:
    rma = _received(app)
    paid = app.returns.refund(rma)
    market = app.marketplace("shopify")
    assert market.find_refund(paid) is not None
    assert market.find_refund(paid, exclude=[paid.external_id or ""]) is None
    other = paid.model_copy(update={"amount": paid.amount + paid.amount})
    assert market.find_refund(other) is None
    assert re.match(r"gid://shopify/Refund/\d+", paid.external_id or "")
