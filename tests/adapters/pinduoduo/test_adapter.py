"""The Pinduoduo adapter's behaviour: windows, actions, errors, secrets, two shops in one app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import responses
from aftersales_pinduoduo import PinduoduoMarketplace, PinduoduoSettings

from aftersales.app import AfterSales
from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    RemoteRejectedError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.models import FulfilmentStage, Money, Refund, ReturnStatus

from .conftest import NOW, SECRET, TOKEN, FakeMall, FakeRouter, Sleeps, body, make_settings


def _all(market: PinduoduoMarketplace) -> list[str]:
    return [r.external_id or "" for p in market.list_returns() for r in p.items]


def test_every_window_is_at_most_thirty_minutes_and_they_tile(
        market: PinduoduoMarketplace, mall: FakeMall) -> None:
    found = _all(market)
    assert sorted(found) == sorted(mall.refunds)
    lows = list(dict.fromkeys(mall.windows))
    assert all(hi - lo <= timedelta(minutes=30) for lo, hi in lows)
    assert all(a[1] == b[0] for a, b in pairwise(lows))
    assert lows[-1][1] == NOW.replace(microsecond=0) - timedelta(seconds=60)


def test_a_window_is_read_newest_page_last(market: PinduoduoMarketplace, mall: FakeMall,
                                           router: FakeRouter) -> None:
    _all(market)
    per_window: dict[tuple[str, str], list[int]] = {}
    for call in router.calls:
        if call["type"] == "pdd.refund.list.increment.get":
            key = (call["start_updated_at"], call["end_updated_at"])
            per_window.setdefault(key, []).append(int(call["page"]))
    # page 1 first (it carries the total), then from the last page back to page 1
    assert all(pages == [1] or pages == [1, *range(len(pages) - 1, 0, -1)]
               for pages in per_window.values())
    assert any(len(pages) >= 2 for pages in per_window.values())


def test_resuming_from_the_last_cursor_reads_nothing_new(market: PinduoduoMarketplace,
                                                        mall: FakeMall) -> None:
    cursor = None
    for page in market.list_returns():
        cursor = page.cursor
    assert [r for p in market.list_returns(cursor) for r in p.items] == []


def test_requests_carry_stage_deadline_and_pictures_from_their_detail(
        market: PinduoduoMarketplace, mall: FakeMall) -> None:
    found = {r.external_id: r for p in market.list_returns() for r in p.items}
    refund_only, goods = found["9000"], found["9001"]
    assert refund_only.stage is FulfilmentStage.NOT_SHIPPED  # 未发货仅退款, kept apart
    assert goods.stage is FulfilmentStage.SHIPPED
    deadline = refund_only.platform_deadline
    assert deadline is not None
    assert deadline.due_at.isoformat() == "2024-11-23T01:40:00+00:00"
    assert (deadline.status, deadline.raw_status) == (ReturnStatus.REQUESTED, "2")
    assert refund_only.evidence == ["https://img.pddpic.com/example/shoe-box.jpg"]
    assert refund_only.buyer_note == "买小了"
    mall.set_status("9000", 10)
    done = next(r for p in market.list_returns() for r in p.items if r.external_id == "9000")
    assert done.platform_deadline is None  # no deadline once the shop has answered


def test_a_request_without_a_detail_is_still_listed(market: PinduoduoMarketplace,
                                                    mall: FakeMall, router: FakeRouter) -> None:
    router.queue("pdd.refund.information.get", {"refund_information_get_response": {}})
    found = [r for p in market.list_returns() for r in p.items]
    assert sorted(r.external_id or "" for r in found) == sorted(mall.refunds)
    assert sum(1 for r in found if r.stage is None) == 1


def test_approving_a_return_sends_the_return_address(market: PinduoduoMarketplace,
                                                     mall: FakeMall, router: FakeRouter) -> None:
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9001")
    market.approve_return(request, note="请寄回")
    assert router.calls[-1]["type"] == "pdd.refund.returngoods.agree"
    sent = mall.returns_agreed[-1]  # every business parameter inside the request object
    assert sent == {"after_sales_id": 9001, "order_sn": mall.refunds["9001"]["order_sn"],
                    "operate_desc": "请寄回", "return_address_id": "77001"}
    assert mall.refunds["9001"]["after_sales_status"] == 7
    market.approve_return(request)  # already agreed: nothing sent
    assert router.types()[-1] == "pdd.refund.information.get"


def test_approving_a_return_without_an_address_names_the_setting(mall: FakeMall) -> None:
    market = PinduoduoMarketplace(make_settings(return_address_id=None), clock=lambda: NOW)
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9001")
    with pytest.raises(ConfigurationError, match="PINDUODUO_RETURN_ADDRESS_ID"):
        market.approve_return(request)


def test_refusing_and_reviews_are_not_offered(market: PinduoduoMarketplace,
                                              mall: FakeMall) -> None:
    request = next(r for p in market.list_returns() for r in p.items)
    with pytest.raises(UnsupportedOperationError, match="pinduoduo"):
        market.reject_return(request, reason="no")
    with pytest.raises(UnsupportedOperationError):
        next(iter(market.list_reviews()))


def test_a_refund_above_what_the_buyer_asked_is_refused_before_any_call(
        market: PinduoduoMarketplace, mall: FakeMall, router: FakeRouter) -> None:
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9000")
    before = len(router.calls)
    too_much = Refund(order_id=request.order_id, amount=Money("999.00", "CNY"),
                      idempotency_key="k")
    with pytest.raises(ValidationError, match="amount"):
        market.refund(too_much, request)
    assert len(router.calls) == before
    assert mall.agreed == []


def test_a_refund_below_what_the_buyer_asked_is_refused_by_name_before_any_call(
        market: PinduoduoMarketplace, mall: FakeMall, router: FakeRouter) -> None:
    """pdd.refund.agree takes no amount: agreeing pays the buyer's 10.50 whatever the shop
    meant to pay, so a partial refund (here 5.00) is refused, naming the request and both
    amounts, and nothing is called."""
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9000")
    before = len(router.calls)
    part = Refund(order_id=request.order_id, amount=Money("5.00", "CNY"), idempotency_key="k")
    with pytest.raises(ValidationError, match=r"after-sales order 9000: Pinduoduo pays what "
                       r"the buyer asked for \(10\.50 CNY\), not 5\.00 CNY") as caught:
        market.refund(part, request)
    assert "\n" not in str(caught.value)
    assert len(router.calls) == before
    assert mall.agreed == []


def test_a_request_whose_amount_changed_since_it_was_read_is_not_agreed(
        market: PinduoduoMarketplace, mall: FakeMall, router: FakeRouter) -> None:
    """The buyer lowered the request in the meantime: the detail read before the agree
    says 8.00, so a refund of the stored 10.50 is refused and the agree never sent."""
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9000")
    mall.refunds["9000"]["refund_amount"] = "8.00"
    with pytest.raises(ValidationError, match=r"\(8\.00 CNY\), not 10\.50 CNY"):
        market.refund(Refund(order_id=request.order_id, amount=Money("10.50", "CNY"),
                             idempotency_key="k"), request)
    assert "pdd.refund.agree" not in router.types()
    assert mall.agreed == []


def test_the_agree_sends_its_request_object_and_reads_the_succ_flag(
        market: PinduoduoMarketplace, mall: FakeMall, router: FakeRouter) -> None:
    """pdd.refund.agree takes its parameters in a ``request`` object and answers
    ``response{result{succ}}`` (the official SDKs' PddRefundAgreeRequest/-Response): an
    answer with succ true is paid, succ false refused, and one without the flag cannot
    tell (the refund stays unknown: a ResponseParseError, never "paid")."""
    from aftersales.errors import ResponseParseError

    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9000")
    refund = Refund(order_id=request.order_id, amount=request.requested_amount
                    or Money("1.00", "CNY"), idempotency_key="k")
    real = router.handlers["pdd.refund.agree"]

    def answering(result: dict[str, object]) -> None:
        router.handle("pdd.refund.agree", lambda f: {"response": {"result": result}}
                      if real(f) else {})

    answering({"after_sales_id": 9000, "message": "?"})
    with pytest.raises(ResponseParseError, match="succ"):
        market.refund(refund, request)
    mall.set_status("9000", 2)
    answering({"after_sales_id": 9000, "succ": False, "message": "售后单状态已变更"})
    with pytest.raises(RemoteRejectedError, match="售后单状态已变更"):
        market.refund(refund, request)
    mall.set_status("9000", 2)
    router.handle("pdd.refund.agree", real)
    paid = market.refund(refund, request)
    assert (paid.external_id, paid.raw_status) == ("9000", "4")
    assert mall.agreed == ["9000"] * 3


def test_a_refund_found_agreed_carries_the_amount_pinduoduo_paid(
        market: PinduoduoMarketplace, mall: FakeMall) -> None:
    """Agreed in the seller console after the buyer lowered the request to 8.00: the
    refund found (and one refund() finds already agreed) says 8.00 was paid, not the
    10.50 asked, so the core records what moved and reports the difference."""
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9000")
    mall.refunds["9000"]["refund_amount"] = "8.00"
    mall.set_status("9000", 4)
    asked = Refund(order_id=request.order_id, amount=Money("10.50", "CNY"), idempotency_key="k")
    found = market.find_refund(asked, request)
    assert found is not None
    assert (found.external_id, found.amount) == ("9000", Money("8.00", "CNY"))
    assert market.refund(asked, request).amount == Money("8.00", "CNY")
    assert mall.agreed == []


def test_a_refund_in_a_refused_state_is_not_sent(market: PinduoduoMarketplace,
                                                 mall: FakeMall) -> None:
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "9000")
    mall.set_status("9000", 6)
    with pytest.raises(RemoteRejectedError, match="6"):
        market.refund(Refund(order_id=request.order_id, amount=request.requested_amount
                             or Money("1.00", "CNY"), idempotency_key="k"), request)
    assert mall.agreed == []


def test_throttling_is_waited_out_and_retried(market: PinduoduoMarketplace, mall: FakeMall,
                                              router: FakeRouter, sleeps: Sleeps) -> None:
    router.queue("pdd.order.information.get", body("error_too_frequent"))
    order = market.get_order("241120-100000000")
    assert order.external_id == "241120-100000000"
    assert sleeps
    assert sleeps[0] >= 1.0


def test_a_bad_signature_is_an_authentication_error_without_secrets(
        mall: FakeMall, caplog: pytest.LogCaptureFixture) -> None:
    market = PinduoduoMarketplace(make_settings(client_secret="wrong-secret-value"),
                                  clock=lambda: NOW)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        market.get_order("241120-100000000")
    text = str(info.value) + caplog.text
    assert "20004" in str(info.value.code)
    for secret in ("wrong-secret-value", TOKEN):
        assert secret not in text


def test_orders_with_after_sales(market: PinduoduoMarketplace, mall: FakeMall) -> None:
    assert market.orders_with_after_sales(["241119-556677889900112", "x"]) == {
        "241119-556677889900112"}


def test_settings_from_the_environment_name_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="PINDUODUO_ACCESS_TOKEN"):
        PinduoduoSettings.from_env({"PINDUODUO_CLIENT_ID": "c",
                                    "PINDUODUO_CLIENT_SECRET": "s"})
    with pytest.raises(ConfigurationError, match="window"):
        PinduoduoSettings.from_env(
            {"PINDUODUO_CLIENT_ID": "c", "PINDUODUO_CLIENT_SECRET": "s",
             "PINDUODUO_ACCESS_TOKEN": "t"}, window=timedelta(minutes=31))
    assert SECRET not in repr(make_settings())


# ---------------------------------------------------------------- two shops, one app


@pytest.fixture
def two_shops(http: responses.RequestsMock) -> tuple[FakeMall, FakeMall]:
    east = FakeMall(FakeRouter(http, secret="east-secret", token="east-token"), refunds=3)
    west = FakeMall(FakeRouter(http, secret="west-secret", token="west-token"), refunds=2)
    for key in list(west.refunds):  # west's ids overlap east's on purpose
        west.refunds[key]["refund_amount"] = "88.00"
        order = west.orders[west.refunds[key]["order_sn"]]  # west's orders paid 88.00 too
        order.update(pay_amount="88.00", goods_amount="88.00",
                     item_list=[dict(order["item_list"][0], goods_price="88.00")])
    return east, west


@pytest.fixture
def app(sqlite_url: str, two_shops: tuple[FakeMall, FakeMall]) -> Iterator[AfterSales]:
    markets = [PinduoduoMarketplace(make_settings(client_secret=f"{n}-secret",
                                                  access_token=f"{n}-token"),
                                    name=f"pdd-{n}", clock=lambda: NOW, sleep=lambda s: None)
               for n in ("east", "west")]
    with AfterSales(sqlite_url, marketplaces=markets, carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


def test_two_shops_in_one_app_keep_their_data_apart(
        app: AfterSales, two_shops: tuple[FakeMall, FakeMall]) -> None:
    east, west = two_shops
    mine = {n: app.returns.list(marketplace=n) for n in ("pdd-east", "pdd-west")}
    assert sorted(r.external_id or "" for r in mine["pdd-east"]) == sorted(east.refunds)
    assert sorted(r.external_id or "" for r in mine["pdd-west"]) == sorted(west.refunds)
    assert {r.requested_amount for r in mine["pdd-west"]} == {Money("88.00", "CNY")}
    # the same after-sales id in both shops: paying the west one leaves the east one alone
    rma = next(r.rma_id for r in mine["pdd-west"] if r.external_id == "9000") or ""
    app.returns.approve(rma)
    app.returns.refund(rma, idempotency_key="west-9000")
    assert west.agreed == ["9000"]
    assert east.agreed == []
    east_9000 = next(r for r in app.returns.list(marketplace="pdd-east")
                     if r.external_id == "9000")
    assert east_9000.status is ReturnStatus.REQUESTED
    assert datetime.now(UTC) > NOW  # sanity: the fake clock is in the past


def test_a_partial_refund_is_refused_before_anything_is_claimed_or_sent(
        app: AfterSales, two_shops: tuple[FakeMall, FakeMall]) -> None:
    """The refund service refuses a partial refund on Pinduoduo by name before it claims
    anything: no refund row is left pending (or written at all), nothing is called, and
    the full refund goes through afterwards."""
    from sqlalchemy import func, select

    from aftersales.store.tables.returns import RefundRow

    _, west = two_shops
    rma = next(r.rma_id for r in app.returns.list(marketplace="pdd-west")
               if r.external_id == "9000") or ""
    app.returns.approve(rma)
    calls = len(west.router.calls)
    with pytest.raises(ValidationError, match=rf"return {rma}: pdd-west pays what the buyer "
                       r"asked for \(88\.00 CNY\), not 50\.00 CNY"):
        app.returns.refund(rma, amount=Money("50.00", "CNY"), idempotency_key="part")
    with app.store.session() as session:
        assert session.scalar(select(func.count()).select_from(RefundRow)) == 0
    assert len(west.router.calls) == calls
    assert west.agreed == []
    paid = app.returns.refund(rma, idempotency_key="whole")
    assert paid.amount == Money("88.00", "CNY")
    assert west.agreed == ["9000"]
