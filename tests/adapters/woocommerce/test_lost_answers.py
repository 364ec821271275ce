"""The lost-answer matrix through the WooCommerce adapter: exactly one order refund per cell.

The fake store makes the refund (keeping its ``meta_data``) and then loses
the answer; WooCommerce has no idempotency header, so what stops a second
payment is the key in ``meta_data`` and ``find_refund`` searching for it,
including under the keys of earlier attempts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings

from aftersales.app import AfterSales
from aftersales.models import ReturnStatus
from aftersales.testing.lost_answers import (
    FOLLOW_UPS,
    LOST_ANSWERS,
    lost_answer,
    settle_after_lost_answer,
)

from .conftest import KEY, SECRET
from .fake_woocommerce import FakeStore


class LosingStore(FakeStore):
    """Makes each refund, then answers with ``lose`` while it is set."""

    lose: str | None = None

    def _refund(self, request: Any) -> Any:
        made = super()._refund(request)
        return lost_answer(self.lose) if self.lose else made


@pytest.fixture
def store(http: responses.RequestsMock) -> LosingStore:
    return LosingStore(http)


@pytest.fixture
def app(sqlite_url: str, store: LosingStore) -> Iterator[AfterSales]:
    market = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key=KEY, consumer_secret=SECRET, page_size=3),
        sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _received(app: AfterSales) -> str:
    opened = app.returns.request("woocommerce", "3", {"315": 1}, reason="wrong_size",
                                 auto=False)
    rma = opened.rma_id or ""
    app.returns.approve(rma)
    app.returns.mark_shipped(rma, tracking_number="1Z999AA10123456784", carrier="ups")
    app.returns.receive(rma)
    return rma


@pytest.mark.parametrize("follow_up", FOLLOW_UPS)
@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_pays_exactly_once(app: AfterSales, store: LosingStore, mode: str,
                                         follow_up: str) -> None:
    rma = _received(app)
    store.lose = mode

    def heal() -> None:
        store.lose = None

    settle_after_lost_answer(app, rma, follow_up, heal=heal)
    assert len(store.refunds[3]) == 1
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED


def test_find_refund_finds_an_earlier_attempts_key(app: AfterSales, store: LosingStore) -> None:
    """A refund paid under an earlier key is found, not paid again under the new one."""
    market = app.marketplace("woocommerce")
    rma = _received(app)
    paid = app.returns.refund(rma, idempotency_key="first-key")
    instruction = paid.model_copy(update={"idempotency_key": "second-key"})
    found = market.find_refund(instruction, keys=["first-key"])
    assert found is not None
    assert found.idempotency_key == "first-key"
    assert market.find_refund(instruction) is None
