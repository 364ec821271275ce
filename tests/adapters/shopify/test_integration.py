"""The library driven end to end through the Shopify adapter against a fake shop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings

from aftersales.app import AfterSales
from aftersales.errors import UnsupportedOperationError
from aftersales.models import Money, ReturnKind, ReturnStatus

from .conftest import TOKEN
from .fake_shopify import FakeShop


@pytest.fixture
def shop(http: responses.RequestsMock) -> FakeShop:
    return FakeShop(http)


@pytest.fixture
def app(sqlite_url: str, shop: FakeShop) -> Iterator[AfterSales]:
    market = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token=TOKEN,
                                                page_size=3), sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        yield app


def _rma(app: AfterSales, order: int) -> str:
    found = [r for r in app.returns.list(marketplace="shopify")
             if r.external_id == f"gid://shopify/Return/{order}00"]
    assert len(found) == 1
    assert found[0].rma_id is not None
    return found[0].rma_id


def test_sync_pulls_orders_and_returns_once(app: AfterSales, shop: FakeShop) -> None:
    report = app.sync()
    assert report.counts["shopify"] == {"orders": 7, "returns": 7}
    stored = app.returns.list(marketplace="shopify")
    assert all(r.status is ReturnStatus.REQUESTED for r in stored)
    assert {r.kind for r in stored} == {ReturnKind.RETURN}
    again = app.sync()
    assert again.total("orders") == again.total("returns") == 0


def test_approve_receive_and_refund_pays_once_and_closes(app: AfterSales,
                                                         shop: FakeShop) -> None:
    app.sync()
    rma = _rma(app, 2)
    assert app.returns.approve(rma, note="ok").status is ReturnStatus.APPROVED
    assert shop.returns[2]["status"] == "OPEN"
    app.returns.mark_shipped(rma, tracking_number="1Z999AA10123456784", carrier="ups")
    assert app.returns.receive(rma).status is ReturnStatus.RECEIVED
    paid = app.returns.refund(rma, idempotency_key="rk-2")
    assert (paid.external_id or "").startswith("gid://shopify/Refund/")
    assert paid.amount.currency == "USD"
    assert paid.amount > Money("0", "USD")
    assert list(shop.refunds) == ["rk-2"]
    assert shop.returns[2]["status"] == "CLOSED"  # refunded, so closed on Shopify too
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED
    again = app.returns.refund(rma, idempotency_key="rk-2")
    assert again.amount == paid.amount
    assert list(shop.refunds) == ["rk-2"]  # paid once


def test_reject_declines_on_shopify(app: AfterSales, shop: FakeShop) -> None:
    app.sync()
    rma = _rma(app, 3)
    rejected = app.returns.reject(rma, reason="final_sale", note="Final sale items.")
    assert rejected.status is ReturnStatus.REJECTED
    assert shop.returns[3]["status"] == "DECLINED"


def test_a_change_on_shopify_comes_back_with_the_next_sync(app: AfterSales,
                                                           shop: FakeShop) -> None:
    app.sync()
    shop.returns[5]["status"] = "CANCELED"
    shop.touch(5)
    report = app.sync()
    assert report.counts["shopify"]["returns"] == 1
    assert app.returns.get(_rma(app, 5)).status is ReturnStatus.CANCELLED


def test_reviews_are_not_synced_from_shopify(app: AfterSales) -> None:
    assert "reviews" not in app.sync().counts["shopify"]
    assert app.reviews.sync().get("shopify", 0) == 0
    with pytest.raises(UnsupportedOperationError, match="shopify"):
        next(iter(app.marketplace("shopify").list_reviews()))
