"""``get_return``: one JD request read by its id, as the listing reads it.

A refund application (``refund-<id>``) is read by queryById and given its
order's lines as the listing gives them; a service order (``afs-<id>``) by
jingdong.asc.query.list with its ``serviceId``. Both are mapped by the
listing's own mapping, so a request read by id equals the listed one. The
returns area asks it before sending again an approval whose answer was
lost: shown done, nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aftersales_jd import JdMarketplace
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import RemoteError, RemoteNotFoundError, ValidationError
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.store.tables.returns import ActionClaimRow
from aftersales.testing.lost_answers import lost_answer

from .conftest import NOW, FakeJdShop, FakeJos, Sleeps, body, make_settings

BY_ID = "jingdong.pop.afs.soa.refundapply.queryById"
PAGE = "jingdong.pop.afs.soa.refundapply.queryPageList"
ORDER = "jingdong.pop.order.get"
LIST = "jingdong.asc.query.list"
SEND = "jingdong.asc.audit.send"


def test_the_fixture_application_reads_by_id_as_the_listing_reads_it(
    market: JdMarketplace, jos: FakeJos,
) -> None:
    jos.handle(BY_ID, lambda p: body("refundapply_query_by_id"))
    jos.handle(PAGE, lambda p: body("refundapply_query_page_list"))
    jos.handle(ORDER, lambda p: body("pop_order_get"))
    listed = {r.external_id: r for page in market.list_returns() for r in page.items}
    found = market.get_return("refund-61000001")
    assert found == listed["refund-61000001"]
    assert len(found.lines) == len(body("pop_order_get")["jingdong_pop_order_get_responce"][
        "orderDetailInfo"]["orderInfo"]["itemInfoList"])  # the order's lines, as listed
    assert jos.calls[-2] == (BY_ID, {"id": "61000001"})


def test_every_request_of_both_kinds_reads_by_id_as_listed(shop: FakeJdShop,
                                                           jos: FakeJos) -> None:
    market = JdMarketplace(make_settings(vender_id="10086"), clock=lambda: NOW)
    listed = [r for page in market.list_returns() for r in page.items]
    assert {(r.external_id or "").split("-")[0] for r in listed} == {"refund", "afs"}
    for request in listed:
        assert market.get_return(request.external_id or "") == request


def test_an_application_reads_its_order_afresh(market: JdMarketplace, shop: FakeJdShop,
                                               jos: FakeJos) -> None:
    listed = [r for page in market.list_returns() for r in page.items]
    order_id = listed[0].order_id
    shop.orders[order_id]["itemInfoList"] = [*shop.orders[order_id]["itemInfoList"]] * 2
    shop.orders[order_id]["itemInfoList"][1] = dict(
        shop.orders[order_id]["itemInfoList"][1], skuId="100099990000")
    assert len(market.get_return(listed[0].external_id or "").lines) == 2


def test_an_unknown_or_foreign_id(market: JdMarketplace, shop: FakeJdShop,
                                  jos: FakeJos) -> None:
    with pytest.raises(RemoteNotFoundError):
        market.get_return("refund-1")
    with pytest.raises(ValidationError, match="external_id"):
        market.get_return("61000100")
    assert jos.methods() == [BY_ID]  # the foreign id was refused before any call


@pytest.fixture
def app(sqlite_url: str, shop: FakeJdShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = JdMarketplace(make_settings(vender_id="10086"), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def test_a_lost_approval_is_looked_up_and_not_sent_again(
    app: AfterSales, shop: FakeJdShop, jos: FakeJos, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = next(r.rma_id for r in app.returns.list(marketplace="jd")
               if r.external_id == "afs-7700100") or ""  # a return awaiting review
    lose = {"once": True}

    def send(p: dict[str, Any]) -> Any:
        done = shop._audit_send(p)  # JD approves the service order ...
        if not lose.pop("once", False):
            return done
        reply = lost_answer("500")  # ... and its answer is lost
        return reply if isinstance(reply, Exception) else (reply[0], reply[2])

    jos.handle(SEND, send)
    with pytest.raises(RemoteError):
        app.returns.approve(rma, override=True)
    assert [m for m, _ in shop.audits] == [SEND]

    market = app.marketplace("jd")
    sent: list[ReturnRequest] = []
    monkeypatch.setattr(market, "approve_return",
                        lambda request, **kw: sent.append(request))
    before = len(jos.calls)
    assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
    assert jos.methods()[before:] == [LIST]  # looked up once, nothing sent
    assert sent == []
    assert [m for m, _ in shop.audits] == [SEND]
    with app.store.session() as session:
        assert session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma)) is None
    audit = app.returns.history(rma)[-1]
    assert (audit.actor, audit.to_status) == ("merchant", ReturnStatus.APPROVED.value)
