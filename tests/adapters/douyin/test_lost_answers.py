"""The lost-answer matrix through the Douyin adapter: each buyer's refund agreed once.

The fake shop agrees the refund (status 12, refund state 3) and then the
answer is lost. Douyin keeps no idempotency key; an after-sales request is
paid once, so the look-up reads its state (afterSale/Detail).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aftersales_douyin import DouyinMarketplace

from aftersales.app import AfterSales
from aftersales.models import ReturnStatus
from aftersales.testing.lost_answers import (
    FOLLOW_UPS,
    LOST_ANSWERS,
    lost_answer,
    settle_after_lost_answer,
)

from .conftest import NOW, FakeDoudian, FakeShop, Sleeps, make_settings

#: Request 0 is a refund-only request before shipment, awaiting the shop.
TARGET = "7140000000000000100"


@pytest.fixture
def app(sqlite_url: str, shop: FakeShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = DouyinMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _losing(shop: FakeShop, api: FakeDoudian, mode: str) -> Any:
    state = {"lose": True}

    def operate(call: dict[str, Any]) -> Any:
        done = shop._operate(call)
        if not state["lose"]:
            return done
        reply = lost_answer(mode)
        return reply if isinstance(reply, Exception) else (reply[0], reply[2])

    api.handle("/afterSale/operate", operate)
    return lambda: state.update(lose=False)


@pytest.mark.parametrize("follow_up", FOLLOW_UPS)
@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_pays_exactly_once(app: AfterSales, shop: FakeShop, api: FakeDoudian,
                                         mode: str, follow_up: str) -> None:
    rma = next(r.rma_id for r in app.returns.list(marketplace="douyin")
               if r.external_id == TARGET) or ""
    app.returns.approve(rma)
    heal = _losing(shop, api, mode)
    settle_after_lost_answer(app, rma, follow_up, heal=heal)
    assert [code for code, _ in shop.operated] == [201]
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED


def test_find_refund_reads_the_state(app: AfterSales, shop: FakeShop) -> None:
    market = app.marketplace("douyin")
    request = next(r for r in app.returns.list(marketplace="douyin") if r.external_id == TARGET)
    rma = request.rma_id or ""
    app.returns.approve(rma)
    instruction = app.returns.preview_refund(rma).to_refund(request.order_id, "k-1")
    assert market.find_refund(instruction, request) is None  # awaits the shop: unpaid
    paid = app.returns.refund(rma, idempotency_key="k-1")
    found = market.find_refund(instruction, request)
    assert found is not None
    assert found.external_id == paid.external_id == TARGET
