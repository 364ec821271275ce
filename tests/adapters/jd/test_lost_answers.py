"""The lost-answer matrix through the JD adapter: each refund application approved once,
each service order reviewed once.

The fake shop approves the application (status 1, 审核通过) and then the
router's answer is lost. JD keeps no idempotency key; an application is
refunded once, so the look-up reads its state (refundapply.queryById).
A service order's review (jingdong.asc.audit.send / refuse) is likewise
written after reading the order's state, so a repeat after a lost answer
writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
from aftersales_jd import JdMarketplace

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError
from aftersales.models import ReturnStatus
from aftersales.testing.lost_answers import (
    FOLLOW_UPS,
    LOST_ANSWERS,
    lost_answer,
    settle_after_lost_answer,
)

from .conftest import NOW, FakeJdShop, FakeJos, Sleeps, make_settings

REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"


@pytest.fixture
def app(sqlite_url: str, shop: FakeJdShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = JdMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _losing(shop: FakeJdShop, jos: FakeJos, mode: str) -> Any:
    state = {"lose": True}

    def reply(params: dict[str, Any]) -> Any:
        done = shop._reply_refund(params)
        if not state["lose"]:
            return done
        answer = lost_answer(mode)
        return answer if isinstance(answer, Exception) else (answer[0], answer[2])

    jos.handle(REPLY, reply)
    return lambda: state.update(lose=False)


def _rma(app: AfterSales, external_id: str) -> str:
    return next(r.rma_id for r in app.returns.list(marketplace="jd")
                if r.external_id == external_id) or ""


@pytest.mark.parametrize("follow_up", FOLLOW_UPS)
@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_pays_exactly_once(app: AfterSales, shop: FakeJdShop, jos: FakeJos,
                                         mode: str, follow_up: str) -> None:
    rma = _rma(app, "refund-61000100")
    app.returns.approve(rma)
    heal = _losing(shop, jos, mode)
    settle_after_lost_answer(app, rma, follow_up, heal=heal)
    assert shop.approved == ["61000100"]
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED


def test_find_refund_reads_the_state(app: AfterSales, shop: FakeJdShop) -> None:
    market = app.marketplace("jd")
    request = next(r for r in app.returns.list(marketplace="jd")
                   if r.external_id == "refund-61000100")
    rma = request.rma_id or ""
    app.returns.approve(rma)
    instruction = app.returns.preview_refund(rma).to_refund(request.order_id, "k-1")
    assert market.find_refund(instruction, request) is None
    paid = app.returns.refund(rma, idempotency_key="k-1")
    found = market.find_refund(instruction, request)
    assert found is not None
    assert found.external_id == paid.external_id == "refund-61000100"
    shop.set_status("61000100", 19)  # 纠纷介入: cannot tell
    with pytest.raises(Exception, match="cannot tell"):
        market.find_refund(instruction, request)


# --------------------------------------------------------------------- service-order reviews

def _losing_review(shop: FakeJdShop, jos: FakeJos, method: str, mode: str) -> Any:
    """JD applies the review ``method``, then its answer is lost until healed."""
    state = {"lose": True}
    applied = {"jingdong.asc.audit.send": shop._audit_send,
               "jingdong.asc.audit.refuse": shop._audit_refuse}[method]

    def reply(params: dict[str, Any]) -> Any:
        done = applied(params)
        if not state["lose"]:
            return done
        answer = lost_answer(mode)
        return answer if isinstance(answer, Exception) else (answer[0], answer[2])

    jos.handle(method, reply)
    return lambda: state.update(lose=False)


@pytest.fixture
def afs_app(sqlite_url: str, shop: FakeJdShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = JdMarketplace(make_settings(vender_id="10086"), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def _quietly(call: Any) -> None:
    with suppress(AfterSalesError):
        call()


@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_review_answer_approves_exactly_once(afs_app: AfterSales, shop: FakeJdShop,
                                                    jos: FakeJos, mode: str) -> None:
    rma = _rma(afs_app, "afs-7700100")
    heal = _losing_review(shop, jos, "jingdong.asc.audit.send", mode)
    _quietly(lambda: afs_app.returns.approve(rma))
    heal()
    _quietly(lambda: afs_app.returns.approve(rma))
    _quietly(lambda: afs_app.returns.approve(rma))
    assert [m for m, _ in shop.audits] == ["jingdong.asc.audit.send"]
    assert afs_app.returns.get(rma).status is ReturnStatus.APPROVED


@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_review_answer_refuses_exactly_once(afs_app: AfterSales, shop: FakeJdShop,
                                                   jos: FakeJos, mode: str) -> None:
    rma = _rma(afs_app, "afs-7700100")
    heal = _losing_review(shop, jos, "jingdong.asc.audit.refuse", mode)

    def refuse() -> None:
        afs_app.returns.reject(rma, reason="不符合退货条件", reason_code="1102")
    _quietly(refuse)
    heal()
    _quietly(refuse)
    _quietly(refuse)
    assert [m for m, _ in shop.audits] == ["jingdong.asc.audit.refuse"]
    assert afs_app.returns.get(rma).status is ReturnStatus.REJECTED
