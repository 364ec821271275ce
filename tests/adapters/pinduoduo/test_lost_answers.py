"""The lost-answer matrix through the Pinduoduo adapter: each after-sales order agreed once.

The fake mall agrees the refund (the status becomes 4, 商家同意退款) and then
the router's answer is lost. Pinduoduo keeps no idempotency key; an
after-sales order is paid once, so the look-up reads its state
(pdd.refund.information.get).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aftersales_pinduoduo import PinduoduoMarketplace

from aftersales.app import AfterSales
from aftersales.models import FulfilmentStage, ReturnStatus
from aftersales.testing.lost_answers import (
    FOLLOW_UPS,
    LOST_ANSWERS,
    lost_answer,
    settle_after_lost_answer,
)

from .conftest import NOW, FakeMall, FakeRouter, Sleeps, make_settings


@pytest.fixture
def app(sqlite_url: str, mall: FakeMall, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = PinduoduoMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _losing(mall: FakeMall, router: FakeRouter, mode: str) -> Any:
    state = {"lose": True}

    def agree(form: dict[str, str]) -> Any:
        done = mall._agree(form)
        if not state["lose"]:
            return done
        reply = lost_answer(mode)
        return reply if isinstance(reply, Exception) else (reply[0], reply[2])

    router.handle("pdd.refund.agree", agree)
    return lambda: state.update(lose=False)


def _rma(app: AfterSales, external_id: str) -> str:
    return next(r.rma_id for r in app.returns.list(marketplace="pinduoduo")
                if r.external_id == external_id) or ""


@pytest.mark.parametrize("follow_up", FOLLOW_UPS)
@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_pays_exactly_once(app: AfterSales, mall: FakeMall, router: FakeRouter,
                                         mode: str, follow_up: str) -> None:
    rma = _rma(app, "9000")  # a refund-only request awaiting the shop
    app.returns.approve(rma)
    heal = _losing(mall, router, mode)
    settle_after_lost_answer(app, rma, follow_up, heal=heal)
    assert mall.agreed == ["9000"]
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED


def test_find_refund_reads_the_state(app: AfterSales, mall: FakeMall) -> None:
    market = app.marketplace("pinduoduo")
    request = next(r for r in app.returns.list(marketplace="pinduoduo")
                   if r.external_id == "9000")
    rma = request.rma_id or ""
    assert request.stage is FulfilmentStage.NOT_SHIPPED  # synced and stored with the request
    assert request.platform_deadline is not None
    assert request.platform_deadline.due_at.isoformat() == "2024-11-23T01:40:00+00:00"
    assert rma in {r.rma_id for r in app.returns.list(stage=FulfilmentStage.NOT_SHIPPED)}
    app.returns.approve(rma)
    instruction = app.returns.preview_refund(rma).to_refund(request.order_id, "k-1")
    assert market.find_refund(instruction, request) is None  # awaits the shop: unpaid
    paid = app.returns.refund(rma, idempotency_key="k-1")
    found = market.find_refund(instruction, request)
    assert found is not None
    assert found.external_id == paid.external_id == "9000"
    mall.set_status("9000", 8)  # the platform arbitrates: cannot tell
    with pytest.raises(Exception, match="cannot tell"):
        market.find_refund(instruction, request)


def test_the_tick_pushes_no_refund_whose_lease_is_nearly_out(
        app: AfterSales, mall: FakeMall, router: FakeRouter,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tick takes the leases of all the refunds it settles at once, then pushes them
    one after another: one whose lease has (nearly) run out by its turn makes no call at
    all, so another worker taking it over never pushes beside it. It is left pending,
    lease released, and the next tick pays it once."""
    from datetime import timedelta

    from aftersales.errors import RemoteError
    from aftersales.returns import refund_claim

    rma = _rma(app, "9000")
    app.returns.approve(rma)
    heal = _losing(mall, router, "500")
    with pytest.raises(RemoteError):  # the answer is lost
        app.returns.refund(rma)
    heal()
    mall.set_status("9000", 2)  # as if the lost agree never reached Pinduoduo
    mall.agreed.clear()
    calls = len(router.calls)
    monkeypatch.setattr(refund_claim, "PUSH_LEASE", timedelta(seconds=0.5))
    monkeypatch.setattr(refund_claim, "PUSH_MARGIN", timedelta(seconds=0.5))
    report = app.returns.reconcile_refunds(app.runtime.now() + timedelta(minutes=5))
    assert (report.settled, report.pending) == (0, 1)
    assert "time budget" in next(iter(report.reasons.values()))
    assert len(router.calls) == calls  # not even the look-up
    monkeypatch.undo()
    report = app.returns.reconcile_refunds(app.runtime.now() + timedelta(minutes=10))
    assert (report.settled, report.pending) == (1, 0)
    assert mall.agreed == ["9000"]
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED
