"""The lost-answer matrix through the Taobao adapter: each buyer's refund agreed once.

The fake shop agrees the refund (it becomes ``SUCCESS``) and then the TOP
answer is lost. Taobao keeps no idempotency key; a buyer's refund request
is paid once, so the look-up reads its state (``taobao.refund.get``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aftersales_taobao import TaobaoMarketplace

from aftersales.app import AfterSales
from aftersales.models import ReturnStatus
from aftersales.testing.lost_answers import (
    FOLLOW_UPS,
    LOST_ANSWERS,
    lost_answer,
    settle_after_lost_answer,
)

from .conftest import NOW, FakeShop, FakeTop, Sleeps, make_settings


@pytest.fixture
def app(sqlite_url: str, shop: FakeShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = TaobaoMarketplace(make_settings(tmall=True), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _losing(shop: FakeShop, top: FakeTop, mode: str) -> Any:
    state = {"lose": True}

    def agree(form: dict[str, str]) -> Any:
        done = shop._agree(form)
        if not state["lose"]:
            return done
        reply = lost_answer(mode)
        return reply if isinstance(reply, Exception) else (reply[0], reply[2])

    top.handle("taobao.rp.refunds.agree", agree)
    return lambda: state.update(lose=False)


@pytest.mark.parametrize("follow_up", FOLLOW_UPS)
@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_pays_exactly_once(app: AfterSales, shop: FakeShop, top: FakeTop,
                                         mode: str, follow_up: str) -> None:
    rma = next(r.rma_id for r in app.returns.list(marketplace="taobao")
               if r.external_id == "100001") or ""
    app.returns.approve(rma)
    heal = _losing(shop, top, mode)
    settle_after_lost_answer(app, rma, follow_up, heal=heal)
    assert len(shop.agreed) == 1
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED


def test_find_refund_reads_the_refund_state(app: AfterSales, shop: FakeShop) -> None:
    market = app.marketplace("taobao")
    request = next(r for r in app.returns.list(marketplace="taobao")
                   if r.external_id == "100001")
    rma = request.rma_id or ""
    app.returns.approve(rma)
    preview = app.returns.preview_refund(rma)
    instruction = preview.to_refund(request.order_id, "k-1")
    assert market.find_refund(instruction, request) is None  # waits for the seller: unpaid
    paid = app.returns.refund(rma, idempotency_key="k-1")
    found = market.find_refund(instruction, request)
    assert found is not None
    assert found.external_id == paid.external_id == "100001"
