"""The library driven end to end through the WooCommerce adapter against a fake store.

WooCommerce has no return object: requests are opened in the shop's own
portal (``app.returns.request``); each step reaches the store as an order
note, and the refund as a real order refund.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings

from aftersales.app import AfterSales
from aftersales.models import ReturnStatus

from .conftest import KEY, SECRET
from .fake_woocommerce import FakeStore


def _app(url: str) -> AfterSales:
    market = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key=KEY, consumer_secret=SECRET, page_size=3),
        sleep=lambda _: None)
    app = AfterSales(url, marketplaces=[market], carriers=[], migrate=False)
    app.store.create_all()
    return app


@pytest.fixture
def store(http: responses.RequestsMock) -> FakeStore:
    return FakeStore(http)


@pytest.fixture
def app(sqlite_url: str, store: FakeStore) -> Iterator[AfterSales]:
    with _app(sqlite_url) as app:
        yield app


@pytest.fixture
def reader(sqlite_url: str, http: responses.RequestsMock) -> Iterator[AfterSales]:
    """An app on a store that accepts no writes: any write would fail the test."""
    FakeStore(http, writes=False)
    with _app(sqlite_url) as app:
        yield app


def test_sync_pulls_orders_and_reviews_once(reader: AfterSales) -> None:
    report = reader.sync()
    assert report.counts["woocommerce"] == {"orders": 7, "reviews": 7}
    again = reader.sync()
    assert again.total("orders") == again.total("reviews") == 0


def test_reviews_sync_alone(reader: AfterSales) -> None:
    assert reader.reviews.sync() == {"woocommerce": 7}
    assert reader.reviews.sync() == {"woocommerce": 0}


def test_a_portal_return_is_approved_received_and_refunded_once(
    app: AfterSales, store: FakeStore
) -> None:
    app.sync()
    opened = app.returns.request("woocommerce", "3", {"315": 1}, reason="wrong_size",
                                 idempotency_key="portal-1", auto=False)
    assert opened.status is ReturnStatus.REQUESTED
    assert opened.rma_id is not None
    rma = opened.rma_id
    assert app.returns.approve(rma, note="Print the label.").status is ReturnStatus.APPROVED
    assert any("Print the label." in n["note"] for n in store.notes)
    app.returns.mark_shipped(rma, tracking_number="1Z999AA10123456784", carrier="ups")
    assert app.returns.receive(rma).status is ReturnStatus.RECEIVED
    paid = app.returns.refund(rma, idempotency_key="rk-3")
    refunds = store.refunds[3]
    assert len(refunds) == 1
    assert refunds[0]["meta_data"] == [{"key": "_aftersales_idempotency_key", "value": "rk-3"}]
    assert refunds[0]["amount"] == paid.amount.rounded().amount.to_eng_string()
    assert paid.external_id == str(refunds[0]["id"])
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED
    app.returns.refund(rma, idempotency_key="rk-3")
    assert len(store.refunds[3]) == 1  # paid once


def test_a_portal_request_is_rejected_with_a_note_to_the_buyer(
    app: AfterSales, store: FakeStore
) -> None:
    app.sync()
    opened = app.returns.request("woocommerce", "4", {"316": 1}, reason="changed_mind",
                                 auto=False)
    assert opened.rma_id is not None
    rejected = app.returns.reject(opened.rma_id, reason="Used items cannot be returned")
    assert rejected.status is ReturnStatus.REJECTED
    notes = [n for n in store.notes if n["order_id"] == 4]
    assert len(notes) == 1
    assert "Used items cannot be returned" in notes[0]["note"]
