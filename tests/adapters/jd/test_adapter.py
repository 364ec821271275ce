"""The JD adapter's behaviour: both request kinds, refusals by code, reviews, two shops."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses
from aftersales_jd import JdMarketplace, JdSettings
from aftersales_jd.client import error_from_body

from aftersales.app import AfterSales
from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    RemoteRejectedError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.evidence import Evidence
from aftersales.models import FulfilmentStage, Money, Refund, ReturnStatus
from aftersales.multipart import FilePart

from .conftest import (
    NOW,
    ROUTER,
    SECRET,
    TOKEN,
    FakeJdShop,
    FakeJos,
    Sleeps,
    _token_is_jd,
    make_settings,
)

LIST = "jingdong.pop.afs.soa.refundapply.queryPageList"


def _requests(market: JdMarketplace) -> list[Any]:
    return [r for p in market.list_returns() for r in p.items]


def test_service_orders_are_listed_with_the_vender_id(shop: FakeJdShop, jos: FakeJos) -> None:
    market = JdMarketplace(make_settings(vender_id="10086"), clock=lambda: NOW)
    found = {r.external_id for r in _requests(market)}
    assert {f"afs-{s['serviceId']}" for s in shop.services} <= found
    assert {f"refund-{k}" for k in shop.refunds} <= found
    asked = [p for m, p in jos.calls if m == "jingdong.asc.query.list"]
    assert {(p["buId"], p["operatePin"]) for p in asked} == {("10086", "shop_admin")}


def test_without_a_vender_id_service_orders_are_not_asked_for(market: JdMarketplace,
                                                               shop: FakeJdShop,
                                                               jos: FakeJos) -> None:
    _requests(market)
    assert "jingdong.asc.query.list" not in jos.methods()


def test_a_refund_application_carries_its_orders_lines(market: JdMarketplace,
                                                       shop: FakeJdShop, jos: FakeJos) -> None:
    requests = _requests(market)
    first = next(r for r in requests if r.external_id == "refund-61000100")
    assert [line.order_line_id for line in first.lines] == ["100011112222"]
    reads = [p["order_id"] for m, p in jos.calls if m == "jingdong.pop.order.get"]
    assert len(reads) == len(set(reads))  # one read per order per listing


def test_each_window_asks_by_apply_time_and_by_check_time(market: JdMarketplace,
                                                          shop: FakeJdShop, jos: FakeJos) -> None:
    shop.set_status("61000108", 1)  # applied 40 hours ago, checked two minutes ago
    found = {r.external_id: r for r in _requests(market)}
    assert found["refund-61000108"].status is ReturnStatus.REFUNDED
    keys = {tuple(sorted(k for k in p if k.endswith(("Start", "End")))) for m, p in jos.calls
            if m == LIST}
    assert keys == {("applyTimeEnd", "applyTimeStart"), ("checkTimeEnd", "checkTimeStart")}


def test_refunding_a_service_order_is_unsupported(shop: FakeJdShop) -> None:
    market = JdMarketplace(make_settings(vender_id="10086"), clock=lambda: NOW)
    service = next(r for r in _requests(market) if (r.external_id or "").startswith("afs-"))
    with pytest.raises(UnsupportedOperationError, match="service order"):
        market.refusal_reasons(service)
    with pytest.raises(UnsupportedOperationError):
        market.refund(Refund(order_id=service.order_id, amount=Money("1.00", "CNY"),
                             idempotency_key="k"), service)


def test_a_refusal_sends_a_listed_code(market: JdMarketplace, shop: FakeJdShop) -> None:
    request = next(r for r in _requests(market) if r.external_id == "refund-61000100")
    market.reject_return(request, reason="商品已签收，无法取消", note="请拒收")
    sent = shop.refused[-1]
    assert (sent["status"], sent["rejectType"], sent["checkUserName"]) == (2, 2, "shop_admin")
    assert sent["remark"] == "商品已签收，无法取消：请拒收"
    market.reject_return(request, reason="again")  # already refused: nothing sent
    assert len(shop.refused) == 1
    other = next(r for r in _requests(market) if r.external_id == "refund-61000103")
    with pytest.raises(ValidationError, match="reason_code"):
        market.reject_return(other, reason="x", reason_code="9")
    market.reject_return(other, reason="x", reason_code="4")
    assert shop.refused[-1]["rejectType"] == 4
    assert [r.code for r in market.refusal_reasons(other)] == ["1", "2", "3", "4", "5", "6"]


def test_a_refusal_with_pictures_is_refused_before_any_call(market: JdMarketplace,
                                                            shop: FakeJdShop, jos: FakeJos) -> None:
    request = next(r for r in _requests(market) if r.external_id == "refund-61000100")
    before = len(jos.calls)
    with pytest.raises(ValidationError, match="evidence"):
        market.reject_return(request, reason="其他", evidence=Evidence(
            "photo", (FilePart("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10),)))
    assert len(jos.calls) == before
    assert request.stage is FulfilmentStage.NOT_SHIPPED


def test_a_refund_above_what_was_applied_for_is_refused_before_any_call(
        market: JdMarketplace, shop: FakeJdShop, jos: FakeJos) -> None:
    request = next(r for r in _requests(market) if r.external_id == "refund-61000100")
    before = len(jos.calls)
    with pytest.raises(ValidationError, match="amount"):
        market.refund(Refund(order_id=request.order_id, amount=Money("999.00", "CNY"),
                             idempotency_key="k"), request)
    assert len(jos.calls) == before
    shop.set_status("61000100", 11)  # the buyer withdrew
    with pytest.raises(RemoteRejectedError, match="11"):
        market.refund(Refund(order_id=request.order_id, amount=request.requested_amount
                             or Money("1.00", "CNY"), idempotency_key="k"), request)
    assert shop.approved == []


def test_a_refund_below_what_was_applied_for_is_refused_by_name_before_any_call(
        market: JdMarketplace, shop: FakeJdShop, jos: FakeJos) -> None:
    """replyRefund takes no amount: approving pays the buyer's 10.00 whatever the shop
    meant to pay, so a partial refund is refused, naming the application and both
    amounts, and nothing is called."""
    request = next(r for r in _requests(market) if r.external_id == "refund-61000100")
    before = len(jos.calls)
    with pytest.raises(ValidationError, match=r"refund application 61000100: JD pays what the "
                       r"buyer asked for \(10\.00 CNY\), not 4\.00 CNY"):
        market.refund(Refund(order_id=request.order_id, amount=Money("4.00", "CNY"),
                             idempotency_key="k"), request)
    assert len(jos.calls) == before
    assert shop.approved == []


def test_an_application_whose_sum_changed_since_it_was_read_is_not_approved(
        market: JdMarketplace, shop: FakeJdShop, jos: FakeJos) -> None:
    """The application read back before the approval asks 7.00 now: a refund of the stored
    10.00 is refused and replyRefund never sent."""
    request = next(r for r in _requests(market) if r.external_id == "refund-61000100")
    shop.refunds["61000100"]["applyRefundSum"] = 700
    with pytest.raises(ValidationError, match=r"\(7\.00 CNY\), not 10\.00 CNY"):
        market.refund(Refund(order_id=request.order_id, amount=Money("10.00", "CNY"),
                             idempotency_key="k"), request)
    assert "jingdong.pop.afs.soa.refundapply.replyRefund" not in [m for m, _ in jos.calls]
    assert shop.approved == []


def test_a_refund_found_approved_carries_the_sum_jd_paid(
        market: JdMarketplace, shop: FakeJdShop) -> None:
    """Approved in the seller console for an application of 7.00: the refund found (and
    one refund() finds already approved) says 7.00 was paid, not the 10.00 asked."""
    request = next(r for r in _requests(market) if r.external_id == "refund-61000100")
    shop.refunds["61000100"]["applyRefundSum"] = 700
    shop.set_status("61000100", 1)
    asked = Refund(order_id=request.order_id, amount=Money("10.00", "CNY"), idempotency_key="k")
    found = market.find_refund(asked, request)
    assert found is not None
    assert (found.external_id, found.amount) == ("refund-61000100", Money("7.00", "CNY"))
    assert market.refund(asked, request).amount == Money("7.00", "CNY")
    assert shop.approved == []


def test_reviews_are_listed_and_answered(shop: FakeJdShop) -> None:
    market = JdMarketplace(make_settings(lookback=timedelta(days=3)), clock=lambda: NOW)
    reviews = [r for p in market.list_reviews() for r in p.items]
    assert sorted(r.external_id for r in reviews) == sorted(c["commentId"] for c in shop.comments)
    assert market.reply_review(reviews[0], "感谢支持", idempotency_key="k") == reviews[0].external_id
    assert shop.replies == [{"commentId": reviews[0].external_id, "content": "感谢支持"}]


def test_a_throttled_answer_is_waited_out(market: JdMarketplace, shop: FakeJdShop,
                                          jos: FakeJos, sleeps: Sleeps) -> None:
    answers = iter([{"error_response": {"code": "67", "zh_desc": "调用过于频繁",
                                        "en_desc": "call limit"}}])
    real = jos.handlers["jingdong.pop.order.get"]
    jos.handle("jingdong.pop.order.get", lambda p: next(answers, None) or real(p))
    assert market.get_order("281100300000").external_id == "281100300000"
    assert sleeps
    assert isinstance(error_from_body({"error_response": {"code": "67", "zh_desc": "调用过于频繁"}}),
                      RateLimitError)


def test_a_bad_signature_is_an_authentication_error_without_secrets(
        shop: FakeJdShop, caplog: pytest.LogCaptureFixture) -> None:
    market = JdMarketplace(make_settings(app_secret="wrong-secret-value"), clock=lambda: NOW)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        market.get_order("281100300000")
    for secret in ("wrong-secret-value", TOKEN):
        assert secret not in str(info.value) + caplog.text


def test_settings_name_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="JD_ACCESS_TOKEN"):
        JdSettings.from_env({"JD_APP_KEY": "k", "JD_APP_SECRET": "s"})
    assert SECRET not in repr(make_settings())


# ---------------------------------------------------------------- two shops, one app


@pytest.fixture
def two_shops(http: responses.RequestsMock) -> tuple[FakeJdShop, FakeJdShop]:
    east, west = FakeJos.__new__(FakeJos), FakeJos.__new__(FakeJos)
    for fake, name in ((east, "east"), (west, "west")):
        fake.secret, fake.calls, fake.handlers = f"{name}-secret", [], {}
        http.add_callback(responses.POST, ROUTER, callback=fake._handle,
                          match=[_token_is_jd(f"{name}-token")])
    return FakeJdShop(east, refunds=3), FakeJdShop(west, refunds=2)


@pytest.fixture
def app(sqlite_url: str, two_shops: tuple[FakeJdShop, FakeJdShop]) -> Iterator[AfterSales]:
    markets = [JdMarketplace(make_settings(app_secret=f"{n}-secret", access_token=f"{n}-token"),
                             name=f"jd-{n}", clock=lambda: NOW, sleep=lambda s: None)
               for n in ("east", "west")]
    with AfterSales(sqlite_url, marketplaces=markets, carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def test_two_shops_in_one_app_keep_their_data_apart(
        app: AfterSales, two_shops: tuple[FakeJdShop, FakeJdShop]) -> None:
    east, west = two_shops
    mine = {n: app.returns.list(marketplace=n) for n in ("jd-east", "jd-west")}
    assert sorted(r.external_id or "" for r in mine["jd-east"]) == sorted(
        f"refund-{k}" for k in east.refunds)
    assert sorted(r.external_id or "" for r in mine["jd-west"]) == sorted(
        f"refund-{k}" for k in west.refunds)
    rma = next(r.rma_id for r in mine["jd-west"] if r.external_id == "refund-61000100") or ""
    app.returns.approve(rma)
    app.returns.refund(rma, idempotency_key="west-1")
    assert (west.approved, east.approved) == (["61000100"], [])
    east_one = next(r for r in app.returns.list(marketplace="jd-east")
                    if r.external_id == "refund-61000100")
    assert east_one.status is ReturnStatus.REQUESTED
