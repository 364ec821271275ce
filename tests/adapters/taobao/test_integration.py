"""The library driven end to end through the Taobao adapter against a fake TOP shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from aftersales_taobao import TaobaoMarketplace
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import TransientError
from aftersales.models import Money, ReturnKind, ReturnStatus
from aftersales.store.tables.core import OutboxRow

from .conftest import NOW, FakeShop, FakeTop, Sleeps, china_time, make_settings


@pytest.fixture
def app(sqlite_url: str, shop: FakeShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = TaobaoMarketplace(make_settings(tmall=True), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        yield app


def _by_external(app: AfterSales, external_id: str) -> str:
    found = [r for r in app.returns.list(marketplace="taobao") if r.external_id == external_id]
    assert len(found) == 1
    assert found[0].rma_id is not None
    return found[0].rma_id


def test_sync_pulls_orders_returns_and_reviews_once(app: AfterSales, shop: FakeShop) -> None:
    report = app.sync()
    assert report.counts["taobao"] == {"orders": 9, "returns": 9, "reviews": 7}
    stored = app.returns.list(marketplace="taobao")
    assert {r.external_id for r in stored} == set(shop.refunds)
    assert all(r.status is ReturnStatus.REQUESTED for r in stored)
    again = app.sync()
    assert again.total("orders") == again.total("returns") == again.total("reviews") == 0


def test_approve_and_refund_a_refund_only_request_pays_once(
    app: AfterSales, shop: FakeShop, top: FakeTop
) -> None:
    app.sync()
    rma = _by_external(app, "100001")
    assert app.returns.get(rma).kind is ReturnKind.REFUND_ONLY
    approved = app.returns.approve(rma, note="同意")
    assert approved.status is ReturnStatus.APPROVED
    assert shop.agreed == []  # approving a refund-only request moves no money on Taobao
    paid = app.returns.refund(rma, idempotency_key="rk-1")
    assert paid.amount == Money("11.50", "CNY")
    assert shop.agreed == [f"100001|1150|{shop.refunds['100001']['refund_version'] - 1}|aftersale"]
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED
    again = app.returns.refund(rma, idempotency_key="rk-1")
    assert again.amount == paid.amount
    assert len(shop.agreed) == 1


def test_approve_a_return_agrees_the_return_of_goods(app: AfterSales, shop: FakeShop) -> None:
    app.sync()
    rma = _by_external(app, "100000")
    assert app.returns.approve(rma).status is ReturnStatus.APPROVED
    assert shop.refunds["100000"]["status"] == "WAIT_BUYER_RETURN_GOODS"


def test_reject_refuses_on_taobao(app: AfterSales, shop: FakeShop, top: FakeTop) -> None:
    app.sync()
    rma = _by_external(app, "100003")
    rejected = app.returns.reject(rma, reason="商品已发出，请先拒收")
    assert rejected.status is ReturnStatus.REJECTED
    assert shop.refunds["100003"]["status"] == "SELLER_REFUSE_BUYER"
    assert top.calls[-1]["refuse_message"] == "商品已发出，请先拒收"


def test_reviews_sync_and_reply_through_explain(app: AfterSales, shop: FakeShop,
                                                top: FakeTop) -> None:
    assert app.reviews.sync() == {"taobao": 7}
    assert app.reviews.sync() == {"taobao": 0}
    oid = str(shop.rates[2]["oid"])  # a bad rating
    result = app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    assert (result.status, result.remote_id) == ("sent", oid)
    again = app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    assert again.status == "already_replied"
    sent = [c for c in top.calls if c["method"] == "taobao.traderate.explain.add"]
    assert [(c["oid"], c["reply"]) for c in sent] == [(oid, "抱歉给您带来不便")]  # once


def test_a_taobao_outage_during_sync_is_reported_and_resumes(
    app: AfterSales, shop: FakeShop, top: FakeTop, sleeps: Sleeps
) -> None:
    top.queue("taobao.refunds.receive.get", *[{"error_response": {
        "code": 15, "msg": "Remote service error", "sub_code": "isp.top-remote-connection-timeout",
    }}] * 4)
    with pytest.raises(TransientError):
        app.returns.sync()
    assert len(sleeps) == 3  # the retry layer waited (through the injected sleep) and gave up
    assert app.returns.sync() == {"taobao": 9}  # the next run starts from scratch, nothing lost


def test_refund_whose_answer_was_lost_is_paid_once_across_calls(
    app: AfterSales, shop: FakeShop, top: FakeTop
) -> None:
    """Agree 1 never arrives, agree 2 pays but its answer is lost; the next call only reads."""
    app.sync()
    rma = _by_external(app, "100001")
    app.returns.approve(rma)

    def paid_but_lost(form: dict[str, str]) -> Exception:
        shop._agree(form)
        return requests.exceptions.ReadTimeout("answer lost")

    top.queue("taobao.rp.refunds.agree", requests.exceptions.ReadTimeout("never arrived"),
              paid_but_lost)
    with pytest.raises(TransientError):
        app.returns.refund(rma, idempotency_key="rk-lost")
    assert len(shop.agreed) == 1
    paid = app.returns.refund(rma, idempotency_key="rk-lost")
    assert paid.amount == Money("11.50", "CNY")
    assert len(shop.agreed) == 1  # the retry read SUCCESS and sent nothing
    assert app.returns.get(rma).status is ReturnStatus.REFUNDED


class Later:
    """A clock the test moves on, so a later sync lists later changes."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def later() -> Later:
    return Later()


@pytest.fixture
def moving(sqlite_url: str, shop: FakeShop, sleeps: Sleeps, later: Later) -> Iterator[AfterSales]:
    market = TaobaoMarketplace(make_settings(tmall=True), clock=later, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=later,
                    migrate=False) as app:
        app.store.create_all()
        yield app


def _intervene(shop: FakeShop, later: Later, refund_id: str, cs_status: int) -> None:
    """Taobao's staff step into the refund (``cs_status``); ten minutes pass."""
    later.now += timedelta(minutes=10)
    r = shop.refunds[refund_id]
    shop.refunds[refund_id] = {**r, "cs_status": cs_status,
                               "modified": china_time(later.now - timedelta(minutes=5)),
                               "refund_version": r["refund_version"] + 1}


def _outbox(app: AfterSales, name: str) -> list[dict[str, Any]]:
    with app.store.session() as session:
        return [r.payload for r in session.scalars(
            select(OutboxRow).where(OutboxRow.event_type == name).order_by(OutboxRow.id))]


def test_cs_status_opens_one_platform_dispute_case_and_each_change_is_a_fact(
    moving: AfterSales, shop: FakeShop, later: Later
) -> None:
    app = moving
    app.sync()
    rma = _by_external(app, "100003")
    app.returns.reject(rma, reason="商品已发出，请先拒收")
    _intervene(shop, later, "100003", 2)  # the buyer asks Taobao to step in
    app.returns.sync()
    (request,) = [r for r in app.returns.list(marketplace="taobao") if r.rma_id == rma]
    assert request.dispute is not None
    assert (request.dispute.status, request.dispute.open) == ("2", True)
    assert [p["dispute"]["status"] for p in _outbox(app, "return.dispute_changed")] == ["2"]
    assert [p["rma_id"] for p in _outbox(app, "return.disputed")] == [rma]  # it was rejected
    _intervene(shop, later, "100003", 3)  # staff stepped in
    app.returns.sync()
    _intervene(shop, later, "100003", 9)  # decided for the seller
    app.returns.sync()
    app.returns.sync()  # nothing new: nothing added
    (case,) = app.cases.list(kind="platform_dispute")
    facts = app.cases.get(case.id).facts
    assert [f.source for f in facts] == ["return.dispute_changed", "return.disputed",
                                         "return.dispute_changed", "return.dispute_changed"]
    assert [f.data["dispute"]["status"] for f in facts] == ["2", "2", "3", "9"]
    assert len(_outbox(app, "return.disputed")) == 1
    assert app.cases.get(case.id).links["return"] == [rma]


def test_cs_status_on_a_request_not_rejected_is_a_platform_dispute_only(
    moving: AfterSales, shop: FakeShop, later: Later
) -> None:
    app = moving
    app.sync()
    rma = _by_external(app, "100001")
    _intervene(shop, later, "100001", 2)
    _intervene(shop, later, "100002", 1)  # 不需客服介入: no dispute, no case
    app.returns.sync()
    assert _outbox(app, "return.disputed") == []
    (case,) = app.cases.list(kind="platform_dispute")
    assert app.cases.get(case.id).links["return"] == [rma]
