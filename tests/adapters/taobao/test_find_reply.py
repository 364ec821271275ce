"""A Tmall reply whose answer was lost is read back, never posted twice.

``taobao.traderate.explain.add`` takes no idempotency key. The adapter's
``find_reply`` reads the rating of the review's sub-order with
``taobao.traderates.get`` by ``tid`` (TOP: a parent or a sub-order id) and
its ``reply`` field, the explanation explain.add writes (the answer's shape:
``traderates_get_by_tid``). A reply found is recorded as sent; none found
lets the reply go, once; a rating Taobao no longer lists cannot tell, so a
person settles it (``ReplyOutcomeUnknownError``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from aftersales_taobao import TaobaoMarketplace

from aftersales.app import AfterSales
from aftersales.errors import (
    RemoteError,
    RemoteNotFoundError,
    ReplyOutcomeUnknownError,
    UnsupportedOperationError,
)
from aftersales.models import Review
from aftersales.testing.lost_answers import LOST_ANSWERS, lost_answer

from .conftest import NOW, FakeShop, FakeTop, Sleeps, body, fx, make_settings

OID = "2345678901234567891"


def _review(oid: str = OID) -> Review:
    return Review(marketplace="taobao", external_id=oid, rating=1, body="x",
                  created_at=NOW, updated_at=NOW)


def test_a_rating_with_an_explanation_is_found(tmall: TaobaoMarketplace, top: FakeTop) -> None:
    top.queue("taobao.traderates.get", body("traderates_get_by_tid"))
    assert tmall.find_reply(_review()) == OID
    [sent] = top.calls
    documented = fx("traderates_get_by_tid")["request"]["body_form"]
    assert {k: sent[k] for k in documented} == documented
    assert "start_date" not in sent


def test_a_rating_without_an_explanation_has_no_reply(tmall: TaobaoMarketplace,
                                                      top: FakeTop) -> None:
    answer = body("traderates_get_by_tid")
    rate = answer["traderates_get_response"]["trade_rates"]["trade_rate"][0]
    rate["reply"] = ""
    top.queue("taobao.traderates.get", answer)
    assert tmall.find_reply(_review()) is None
    del rate["reply"]  # TOP leaves out an empty field
    top.queue("taobao.traderates.get", answer)
    assert tmall.find_reply(_review()) is None


def test_another_sub_orders_rating_is_not_this_ones(tmall: TaobaoMarketplace,
                                                    top: FakeTop) -> None:
    top.queue("taobao.traderates.get", body("traderates_get_by_tid"))
    with pytest.raises(RemoteNotFoundError, match="no rating of sub-order 2345678901234567892"):
        tmall.find_reply(_review("2345678901234567892"))


def test_a_plain_taobao_shop_cannot_tell(market: TaobaoMarketplace,
                                         lenient_http: responses.RequestsMock) -> None:
    top = FakeTop(lenient_http)
    with pytest.raises(UnsupportedOperationError):
        market.find_reply(_review())
    assert top.calls == []


@pytest.fixture
def app(sqlite_url: str, shop: FakeShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    market = TaobaoMarketplace(make_settings(tmall=True), clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.reviews.sync()
        yield app


def _lose(shop: FakeShop, top: FakeTop, mode: str, *, acted: bool) -> None:
    """The next explain.add answer is lost; the shop explained the rating first if ``acted``."""

    def explain(form: dict[str, str]) -> Any:
        if acted:
            shop._explain(form)
        reply = lost_answer(mode)
        return reply if isinstance(reply, Exception) else (reply[0], reply[2])

    top.queue("taobao.traderate.explain.add", explain)


def _explains(top: FakeTop) -> list[tuple[str, str]]:
    return [(c["oid"], c["reply"]) for c in top.calls
            if c["method"] == "taobao.traderate.explain.add"]


@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_reply_that_went_through_is_found_not_posted_again(
    app: AfterSales, shop: FakeShop, top: FakeTop, mode: str,
) -> None:
    oid = str(shop.rates[2]["oid"])
    _lose(shop, top, mode, acted=True)
    with pytest.raises(RemoteError):
        app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    again = app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    assert (again.status, again.remote_id) == ("already_replied", oid)
    assert _explains(top) == [(oid, "抱歉给您带来不便")]  # once
    asked = [c for c in top.calls if c["method"] == "taobao.traderates.get" and "tid" in c]
    assert [c["tid"] for c in asked] == [oid]
    assert app.reviews.reply(oid, template="抱歉给您带来不便",
                             marketplace="taobao").status == "already_replied"


@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_reply_that_did_not_go_through_is_sent_once(
    app: AfterSales, shop: FakeShop, top: FakeTop, mode: str,
) -> None:
    oid = str(shop.rates[2]["oid"])
    _lose(shop, top, mode, acted=False)
    with pytest.raises(RemoteError):
        app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    again = app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    assert (again.status, again.remote_id) == ("sent", oid)
    assert _explains(top) == [(oid, "抱歉给您带来不便")] * 2  # the lost one, then the one
    assert shop.rates[2]["reply"] == "抱歉给您带来不便"


def test_a_rating_taobao_no_longer_lists_is_left_to_a_person(
    app: AfterSales, shop: FakeShop, top: FakeTop,
) -> None:
    oid = str(shop.rates[2]["oid"])
    _lose(shop, top, "read-timeout", acted=True)
    with pytest.raises(RemoteError):
        app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    shop.rates = [r for r in shop.rates if str(r["oid"]) != oid]  # past Taobao's 180 days
    with pytest.raises(ReplyOutcomeUnknownError):
        app.reviews.reply(oid, template="抱歉给您带来不便", marketplace="taobao")
    assert len(_explains(top)) == 1
