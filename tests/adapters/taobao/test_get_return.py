"""``get_return``: one buyer's refund request read from taobao.refund.get, as the listing reads it.

taobao.refund.get is asked for the listing's fields and answers the same
refund object, mapped by the listing's own mapping, so a request read by id
equals the one a sync reads from taobao.refunds.receive.get. The returns
area asks it before sending again an approval whose answer was lost: shown
done, nothing is sent.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from aftersales_taobao import TaobaoMarketplace, mapping
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import RemoteError, RemoteNotFoundError, ValidationError
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.store.tables.returns import ActionClaimRow
from aftersales.testing.lost_answers import lost_answer

from .conftest import NOW, FakeShop, FakeTop, Sleeps, body, make_settings

#: Refund 0 of the fake shop: a return of goods awaiting the seller.
TARGET = "100000"


def _listed(refund: dict[str, Any], store: str) -> ReturnRequest:
    """``refund`` as the listing maps it, inside a taobao.refunds.receive.get answer."""
    page = body("refunds_receive_get")["refunds_receive_get_response"]
    page["refunds"]["refund"] = [copy.deepcopy(refund)]  # as the client hands it over
    (request,), _ = mapping.refunds_page(page, store=store)
    return request


@pytest.mark.parametrize("fixture", ["refund_get", "refunds_receive_get"])
def test_each_fixture_refund_reads_by_id_as_the_listing_reads_it(
    market: TaobaoMarketplace, top: FakeTop, fixture: str,
) -> None:
    answer = body(fixture)
    refund = (answer["refund_get_response"]["refund"] if fixture == "refund_get"
              else answer["refunds_receive_get_response"]["refunds"]["refund"][0])
    top.queue("taobao.refund.get", {"refund_get_response": {"refund": refund,
                                                            "request_id": "r"}})
    found = market.get_return(refund["refund_id"])
    assert found == _listed(refund, market.name)
    assert found.external_id == "123456789012345678"
    assert top.calls[0]["refund_id"] == "123456789012345678"


def test_the_refund_get_fixture_is_a_return_on_its_way_back(market: TaobaoMarketplace,
                                                            top: FakeTop) -> None:
    top.queue("taobao.refund.get", body("refund_get"))
    found = market.get_return("123456789012345678")
    assert found.status is ReturnStatus.RETURN_SHIPPED  # WAIT_SELLER_CONFIRM_GOODS
    assert found.return_tracking_number == "78912345678901"


def test_every_refund_reads_by_id_as_listed_with_the_listing_fields(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop,
) -> None:
    listed = [r for page in market.list_returns() for r in page.items]
    assert len(listed) == len(shop.refunds)
    for request in listed:
        assert market.get_return(request.external_id or "") == request
    fields = {c["method"]: c["fields"] for c in top.calls}
    assert fields["taobao.refund.get"] == fields["taobao.refunds.receive.get"]


def test_an_unknown_or_empty_id(market: TaobaoMarketplace, top: FakeTop) -> None:
    top.queue("taobao.refund.get", {"refund_get_response": {"request_id": "r"}})
    with pytest.raises(RemoteNotFoundError):
        market.get_return("999")
    with pytest.raises(ValidationError, match="external_id"):
        market.get_return("")
    assert len(top.calls) == 1  # the empty id was refused before any call


@pytest.fixture
def app(sqlite_url: str, shop: FakeShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = TaobaoMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def test_a_lost_approval_is_looked_up_and_not_sent_again(
    app: AfterSales, shop: FakeShop, top: FakeTop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = next(r.rma_id for r in app.returns.list(marketplace="taobao")
               if r.external_id == TARGET) or ""
    agreed: list[str] = []
    lose = {"once": True}

    def agree(form: dict[str, str]) -> Any:
        agreed.append(form["refund_id"])
        done = shop._returngoods_agree(form)  # Taobao agrees the return ...
        if not lose.pop("once", False):
            return done
        reply = lost_answer("500")  # ... and its answer is lost
        return reply if isinstance(reply, Exception) else (reply[0], reply[2])

    top.handle("taobao.rp.returngoods.agree", agree)
    with pytest.raises(RemoteError):
        app.returns.approve(rma, override=True)
    assert agreed == [TARGET]
    assert shop.refunds[TARGET]["status"] == "WAIT_BUYER_RETURN_GOODS"

    market = app.marketplace("taobao")
    sent: list[ReturnRequest] = []
    monkeypatch.setattr(market, "approve_return",
                        lambda request, **kw: sent.append(request))
    before = len(top.calls)
    assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
    assert top.methods()[before:] == ["taobao.refund.get"]  # looked up once, nothing sent
    assert sent == []
    assert agreed == [TARGET]
    with app.store.session() as session:
        assert session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma)) is None
    audit = app.returns.history(rma)[-1]
    assert (audit.actor, audit.to_status) == ("merchant", ReturnStatus.APPROVED.value)
