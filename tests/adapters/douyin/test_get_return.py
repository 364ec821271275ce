"""``get_return``: one after-sales request read from afterSale/Detail, as the listing reads it.

The detail spells the request its own way; the adapter renames it and maps
it with the listing's own mapping, so a request read by id equals the one a
sync reads from afterSale/List. The returns area asks it before sending
again an approval whose answer was lost: shown done, nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aftersales_douyin import DouyinMarketplace, mapping
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import RemoteError, RemoteNotFoundError, ValidationError
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.store.tables.returns import ActionClaimRow
from aftersales.testing.lost_answers import lost_answer

from .conftest import NOW, FakeDoudian, FakeShop, Sleeps, body, make_settings, ok

#: The request both reference fixtures describe (a return on its way back, in dispute).
FIXTURE_ID = "7140000000000000002"
#: Request 0 of the fake shop, made a return awaiting the shop before the sync.
TARGET = "7140000000000000100"


def test_the_fixture_detail_reads_as_its_list_item(market: DouyinMarketplace,
                                                    api: FakeDoudian) -> None:
    listed = {r.external_id: r for r in mapping.requests_page(
        body("aftersale_list")["data"], market.name)[0]}
    api.queue("/afterSale/Detail", body("aftersale_detail"))
    found = market.get_return(FIXTURE_ID)
    assert found == listed[FIXTURE_ID]
    assert found.status is ReturnStatus.RETURN_SHIPPED
    assert found.return_tracking_number == "SF1400000000001"
    assert api.calls[0]["params"] == {"after_sale_id": FIXTURE_ID}


def test_every_request_reads_by_id_as_the_listing_reads_it(market: DouyinMarketplace,
                                                           shop: FakeShop) -> None:
    listed = [r for page in market.list_returns() for r in page.items]
    assert len(listed) == len(shop.items)
    for request in listed:
        assert market.get_return(request.external_id or "") == request


def test_the_amount_is_the_detail_total_with_postage(market: DouyinMarketplace,
                                                     api: FakeDoudian) -> None:
    answer = body("aftersale_detail")
    answer["data"]["process_info"]["after_sale_info"].update(refund_total_amount=26900,
                                                             refund_post_amount=1000)
    api.queue("/afterSale/Detail", answer)
    found = market.get_return(FIXTURE_ID)
    assert found.requested_amount is not None
    assert str(found.requested_amount.amount) == "269.00"


def test_postage_above_the_total_is_refused_naming_the_payload(market: DouyinMarketplace,
                                                               api: FakeDoudian) -> None:
    answer = body("aftersale_detail")
    answer["data"]["process_info"]["after_sale_info"].update(refund_total_amount=100,
                                                             refund_post_amount=1000)
    api.queue("/afterSale/Detail", answer)
    with pytest.raises(ValidationError, match="afterSale/Detail"):
        market.get_return(FIXTURE_ID)


def test_an_unknown_or_empty_id(market: DouyinMarketplace, api: FakeDoudian) -> None:
    api.queue("/afterSale/Detail", ok({}))
    with pytest.raises(RemoteNotFoundError):
        market.get_return("7140000000000009999")
    with pytest.raises(ValidationError, match="external_id"):
        market.get_return(" ")
    assert len(api.calls) == 1  # the empty id was refused before any call


@pytest.fixture
def app(sqlite_url: str, shop: FakeShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    shop.info(TARGET).update(aftersale_type=0, aftersale_status=6)  # a return awaiting the shop
    market = DouyinMarketplace(make_settings(), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def test_a_lost_approval_is_looked_up_and_not_sent_again(
    app: AfterSales, shop: FakeShop, api: FakeDoudian, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = next(r.rma_id for r in app.returns.list(marketplace="douyin")
               if r.external_id == TARGET) or ""
    lose = {"once": True}

    def operate(call: dict[str, Any]) -> Any:
        done = shop._operate(call)  # Douyin agrees the return ...
        if not lose.pop("once", False):
            return done
        reply = lost_answer("500")  # ... and its answer is lost
        return reply if isinstance(reply, Exception) else (reply[0], reply[2])

    api.handle("/afterSale/operate", operate)
    with pytest.raises(RemoteError):
        app.returns.approve(rma, override=True)
    assert [code for code, _ in shop.operated] == [101]
    assert shop.info(TARGET)["aftersale_status"] == 7

    market = app.marketplace("douyin")
    sent: list[ReturnRequest] = []
    monkeypatch.setattr(market, "approve_return",
                        lambda request, **kw: sent.append(request))
    before = len(api.calls)
    assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
    assert api.paths()[before:] == ["/afterSale/Detail"]  # looked up once, nothing sent
    assert sent == []
    assert [code for code, _ in shop.operated] == [101]
    with app.store.session() as session:
        assert session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma)) is None
    audit = app.returns.history(rma)[-1]
    assert (audit.actor, audit.to_status) == ("merchant", ReturnStatus.APPROVED.value)
