"""TaobaoMarketplace against a fake TOP shop: listings, actions, paid-once refunds."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
from aftersales_taobao import TaobaoMarketplace
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import (
    ConfigurationError,
    RemoteNotFoundError,
    RemoteRejectedError,
    TransientError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import Money, ParcelStatus, Refund, ReturnKind, ReturnRequest, ReturnStatus
from aftersales.testing import check_resume

from .conftest import NOW, FakeShop, FakeTop, body, china_time, make_settings


def _requests(market: TaobaoMarketplace, cursor: str | None = None) -> list[ReturnRequest]:
    return [r for page in market.list_returns(cursor) for r in page.items]


def test_is_a_marketplace_with_truthful_capabilities(market: TaobaoMarketplace) -> None:
    assert isinstance(market, Marketplace)
    assert market.capabilities == {
        Capability.LIST_ORDERS, Capability.GET_ORDER,
        Capability.LIST_RETURNS, Capability.GET_RETURN, Capability.APPROVE_RETURN,
        Capability.REJECT_RETURN,
        Capability.REFUND, Capability.LIST_REVIEWS, Capability.LIST_SHIPMENTS,
        Capability.LIST_REFUSAL_REASONS, Capability.SUBMIT_EVIDENCE}


def test_lists_refunds_oldest_change_first_over_many_pages(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    pages = list(market.list_returns())
    items = [r for p in pages for r in p.items]
    assert sorted(r.external_id or "" for r in items) == sorted(shop.refunds)
    stamps = [(r.updated_at, r.external_id) for r in items]
    assert stamps == sorted(stamps)  # ascending, although the fake answers newest first
    assert sum(1 for p in pages if p.items) >= 3
    calls = [c for c in top.calls if c["method"] == "taobao.refunds.receive.get"]
    assert max(int(c["page_no"]) for c in calls) >= 3  # page_no really walked
    assert {c["page_size"] for c in calls} == {"2"}
    # each window: page 1 for the count, then from the last page back to page 1
    by_window: dict[str, list[int]] = {}
    for c in calls:
        by_window.setdefault(c["start_modified"], []).append(int(c["page_no"]))
    assert list(by_window.values()) == [[1], [1, 2, 1], [1, 3, 2, 1]]
    # windows of one day covering the three-day lookback, ending a minute before now
    assert calls[0]["start_modified"] == "2024-05-17 09:59:00"
    assert calls[-1]["end_modified"] == "2024-05-20 09:59:00"
    assert all(r.marketplace == "taobao" for r in items)


def test_resuming_from_any_cursor_misses_and_repeats_nothing(
    market: TaobaoMarketplace, shop: FakeShop
) -> None:
    pages = list(market.list_returns())
    everything = [r.external_id for p in pages for r in p.items]
    seen = 0
    for page in pages:
        seen += len(page.items)
        assert [r.external_id for r in _requests(market, page.cursor)] == everything[seen:]


def test_a_later_sync_sees_only_what_changed(shop: FakeShop) -> None:
    now = [NOW]
    market = TaobaoMarketplace(make_settings(), clock=lambda: now[0])
    last = list(market.list_returns())[-1].cursor
    now[0] = NOW + timedelta(minutes=10)
    shop.refunds["100003"]["modified"] = "2024-05-20 10:05:00"
    shop.refunds["100003"]["status"] = "CLOSED"
    again = _requests(market, last)
    assert [(r.external_id, r.status) for r in again] == [("100003", ReturnStatus.CANCELLED)]


def test_malformed_cursor_is_a_clear_error(market: TaobaoMarketplace) -> None:
    with pytest.raises(ValidationError, match="taobao cursor"):
        list(market.list_returns("not-a-cursor!"))


def test_lists_ratings_as_reviews(market: TaobaoMarketplace, shop: FakeShop,
                                  top: FakeTop) -> None:
    reviews = [r for p in market.list_reviews() for r in p.items]
    assert sorted(r.external_id for r in reviews) == sorted(str(r["oid"]) for r in shop.rates)
    assert {r.rating for r in reviews} == {1, 3, 5}
    call = next(c for c in top.calls if c["method"] == "taobao.traderates.get")
    assert (call["rate_type"], call["role"]) == ("get", "buyer")  # ratings buyers gave us


def _request(market: TaobaoMarketplace, refund_id: str) -> ReturnRequest:
    return next(r for r in _requests(market) if r.external_id == refund_id)


def test_approving_a_return_agrees_the_return_of_goods(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100000")
    assert request.kind is ReturnKind.RETURN
    version = shop.refunds["100000"]["refund_version"]
    top.calls.clear()
    market.approve_return(request, note="请寄回")
    assert top.methods() == ["taobao.refund.get", "taobao.rp.returngoods.agree"]
    sent = top.calls[1]
    assert (sent["refund_id"], sent["remark"], sent["seller_address_id"]) == (
        "100000", "请寄回", "100200300")
    assert (sent["refund_version"], sent["refund_phase"]) == (str(version), "aftersale")
    assert shop.refunds["100000"]["status"] == "WAIT_BUYER_RETURN_GOODS"
    top.calls.clear()
    market.approve_return(request)  # again: already agreed, nothing sent
    assert top.methods() == ["taobao.refund.get"]


def test_approving_a_refund_only_request_moves_no_money(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    assert request.kind is ReturnKind.REFUND_ONLY
    top.calls.clear()
    market.approve_return(request)
    assert top.methods() == ["taobao.refund.get"]
    assert shop.agreed == []


def test_approving_a_closed_refund_is_refused(market: TaobaoMarketplace, shop: FakeShop) -> None:
    request = _request(market, "100000")
    shop.refunds["100000"]["status"] = "CLOSED"
    with pytest.raises(RemoteRejectedError, match="CLOSED"):
        market.approve_return(request)


def test_rejecting_refuses_the_refund(market: TaobaoMarketplace, shop: FakeShop,
                                      top: FakeTop) -> None:
    request = _request(market, "100001")
    top.calls.clear()
    market.reject_return(request, reason="商品已发出", note="请先拒收")
    assert top.methods() == ["taobao.refund.get", "taobao.refund.refuse"]
    assert top.calls[1]["refuse_message"] == "商品已发出：请先拒收"
    assert shop.refunds["100001"]["status"] == "SELLER_REFUSE_BUYER"


def test_rejecting_goods_on_their_way_back_needs_a_tmall_shop(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100002")
    shop.refunds["100002"]["status"] = "WAIT_SELLER_CONFIRM_GOODS"
    top.calls.clear()
    with pytest.raises(UnsupportedOperationError):
        market.reject_return(request, reason="退回商品已损坏")
    assert top.methods() == ["taobao.refund.get"]


@pytest.mark.parametrize("reason", ["x", "长" * 201])
def test_refusal_text_is_checked_before_any_call(market: TaobaoMarketplace, reason: str,
                                                 http: object) -> None:
    request = ReturnRequest.model_validate({
        "marketplace": "taobao", "order_id": "1", "kind": "refund_only", "external_id": "9",
        "lines": [{"order_line_id": "1", "quantity": 1}]})
    with pytest.raises(ValidationError, match="reason"):
        market.reject_return(request, reason=reason)


def _refund(request: ReturnRequest, amount: str = "11.50") -> Refund:
    return Refund(order_id=request.order_id, amount=Money(Decimal(amount), "CNY"),
                  idempotency_key=f"rk-{request.external_id}")


def test_refund_agrees_in_fen_with_version_and_phase(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    version = shop.refunds["100001"]["refund_version"]
    paid = market.refund(_refund(request), request)
    assert shop.agreed == [f"100001|1150|{version}|aftersale"]
    assert (paid.external_id, paid.raw_status) == ("100001", "SUCCESS")


def test_refund_already_paid_is_not_paid_again(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    market.refund(_refund(request), request)
    top.calls.clear()
    again = market.refund(_refund(request), request)
    assert top.methods() == ["taobao.refund.get"]
    assert len(shop.agreed) == 1
    assert again.external_id == "100001"


def test_refund_retried_after_a_timeout_is_paid_once(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    """The agree reached Taobao but the answer was lost: the re-read sees SUCCESS."""
    request = _request(market, "100001")

    def lost_answer(form: dict[str, str]) -> Exception:
        shop._agree(form)  # Taobao did pay...
        return requests.exceptions.ReadTimeout("read timed out")  # ...but we never heard

    top.queue("taobao.rp.refunds.agree", lost_answer)
    top.calls.clear()
    paid = market.refund(_refund(request), request)
    assert top.methods() == ["taobao.refund.get", "taobao.rp.refunds.agree", "taobao.refund.get"]
    assert len(shop.agreed) == 1
    assert paid.external_id == "100001"


def test_refund_that_timed_out_before_reaching_taobao_is_sent_again_once(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    top.queue("taobao.rp.refunds.agree", requests.exceptions.ReadTimeout("read timed out"))
    top.calls.clear()
    market.refund(_refund(request), request)
    assert top.methods() == ["taobao.refund.get", "taobao.rp.refunds.agree",
                             "taobao.refund.get", "taobao.rp.refunds.agree"]
    assert len(shop.agreed) == 1


def test_refund_gives_up_after_two_unanswered_agrees(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    top.queue("taobao.rp.refunds.agree", requests.exceptions.ReadTimeout("a"),
              requests.exceptions.ReadTimeout("b"))
    with pytest.raises(TransientError):
        market.refund(_refund(request), request)
    assert shop.agreed == []


def test_refund_refused_by_taobao_says_why(market: TaobaoMarketplace, shop: FakeShop,
                                           top: FakeTop) -> None:
    request = _request(market, "100001")
    top.queue("taobao.rp.refunds.agree", {"rp_refunds_agree_response": {
        "msg_code": "OP_FAILURE_UE", "message": "退款版本已过期", "succ": False,
        "results": {"refund_mapping_result": [
            {"refund_id": "100001", "succ": False, "message": "退款版本已过期"}]}}})
    with pytest.raises(RemoteRejectedError, match="退款版本已过期"):
        market.refund(_refund(request), request)


def test_refund_of_a_closed_request_is_refused(market: TaobaoMarketplace,
                                               shop: FakeShop) -> None:
    request = _request(market, "100001")
    shop.refunds["100001"]["status"] = "CLOSED"
    with pytest.raises(RemoteRejectedError, match="CLOSED"):
        market.refund(_refund(request), request)
    assert shop.agreed == []


def test_refund_needs_the_buyers_request(market: TaobaoMarketplace) -> None:
    refund = Refund(order_id="1", amount=Money("1", "CNY"), idempotency_key="k")
    with pytest.raises(ValidationError, match="request"):
        market.refund(refund)


def test_refund_in_another_currency_is_refused_before_any_call(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    top.calls.clear()
    with pytest.raises(ValidationError, match="CNY"):
        market.refund(Refund(order_id="1", amount=Money("1", "USD"), idempotency_key="k"),
                      request)
    assert top.calls == []


def test_tmall_replies_to_a_rating_through_explain(
    tmall: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    review = next(r for p in tmall.list_reviews() for r in p.items)
    assert tmall.reply_review(review, "非常抱歉", idempotency_key="k") == review.external_id
    sent = top.calls[-1]
    assert (sent["method"], sent["oid"], sent["reply"]) == (
        "taobao.traderate.explain.add", review.external_id, "非常抱歉")


def test_taobao_shops_cannot_reply(market: TaobaoMarketplace, shop: FakeShop) -> None:
    review = next(r for p in market.list_reviews() for r in p.items)
    with pytest.raises(UnsupportedOperationError, match="taobao does not support reply_review"):
        market.reply_review(review, "谢谢", idempotency_key="k")


@pytest.mark.parametrize("op", ["confirm_return_received", "ship_exchange", "send_message"])
def test_undeclared_operations_raise(market: TaobaoMarketplace, op: str) -> None:
    with pytest.raises(UnsupportedOperationError):
        getattr(market, op)(*([None] * (2 if op == "ship_exchange" else 1)))


def test_shipments_and_trace_of_an_order(market: TaobaoMarketplace, top: FakeTop) -> None:
    top.queue("taobao.logistics.trace.search", body("logistics_trace_search"),
              body("logistics_trace_search"))
    shipments = market.list_shipments("2345678901234567890")
    assert [(s.tracking_number, s.carrier) for s in shipments] == [("78912345678901", "zto")]
    assert top.calls[0]["tid"] == "2345678901234567890"
    assert market.trace("2345678901234567890").status is ParcelStatus.DELIVERED


def test_empty_shop_lists_nothing(market: TaobaoMarketplace, top: FakeTop) -> None:
    FakeShop(top, refunds=0, rates=0)
    assert _requests(market) == []


def test_long_lookback_is_split_into_windows(top: FakeTop) -> None:
    FakeShop(top, refunds=1, rates=0)
    market = TaobaoMarketplace(make_settings(lookback=timedelta(days=5),
                                             window=timedelta(hours=12)), clock=lambda: NOW)
    _requests(market)
    windows = [(c["start_modified"], c["end_modified"]) for c in top.calls]
    assert len(windows) == 10
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))


def test_an_item_changed_mid_listing_does_not_push_another_out_of_reach(
    market: TaobaoMarketplace, shop: FakeShop
) -> None:
    """Taobao pages newest first; a change while paging moves an item out of the window.

    Read forwards, everything after it would shift up a place and one item
    would never be read; read from the last page back, nothing is lost.
    """
    newest_in_window = "100004"  # 20 hours ago: the first window's newest refund
    state = {"done": False}

    def change(method: str, page_no: int) -> None:
        if method == "taobao.refunds.receive.get" and page_no == 3 and not state["done"]:
            state["done"] = True
            shop.refunds[newest_in_window]["modified"] = "2024-05-20 09:58:59"

    shop.before_page = change
    ids = [r.external_id or "" for r in _requests(market)]
    assert sorted(ids) == sorted(shop.refunds)  # nothing lost (and the changed one seen)
    assert len(ids) == len(set(ids))


def test_lists_trades_as_orders(market: TaobaoMarketplace, shop: FakeShop,
                                top: FakeTop) -> None:
    orders = [o for p in market.list_orders() for o in p.items]
    assert sorted(o.external_id for o in orders) == sorted(shop.trades)
    call = next(c for c in top.calls if c["method"] == "taobao.trades.sold.increment.get")
    assert "orders" in call["fields"].split(",")
    refund = shop.refunds["100001"]
    order = next(o for o in orders if o.external_id == str(refund["tid"]))
    assert order.lines[0].external_id == str(refund["oid"])  # refunds point at these lines


def test_gets_one_trade(market: TaobaoMarketplace, top: FakeTop) -> None:
    top.queue("taobao.trade.fullinfo.get", body("trade_fullinfo_get"))
    order = market.get_order("2345678901234567890")
    assert top.calls[0]["tid"] == "2345678901234567890"
    assert order.total == Money("183.00", "CNY")


def test_missing_trade_is_not_found(market: TaobaoMarketplace, top: FakeTop) -> None:
    top.queue("taobao.trade.fullinfo.get", {"trade_fullinfo_get_response": {"request_id": "r"}})
    with pytest.raises(RemoteNotFoundError):
        market.get_order("1")


def test_approving_a_return_without_a_return_address_is_a_configuration_error(
    shop: FakeShop, top: FakeTop
) -> None:
    market = TaobaoMarketplace(make_settings(seller_address_id=None), clock=lambda: NOW)
    request = _request(market, "100000")
    top.calls.clear()
    with pytest.raises(ConfigurationError, match="TAOBAO_SELLER_ADDRESS_ID"):
        market.approve_return(request)
    assert top.methods() == ["taobao.refund.get"]  # nothing was agreed
    assert shop.refunds["100000"]["status"] == "WAIT_SELLER_AGREE"


def test_unknown_refund_is_not_found(market: TaobaoMarketplace, top: FakeTop) -> None:
    top.queue("taobao.refund.get", {"refund_get_response": {"request_id": "r"}})
    with pytest.raises(RemoteNotFoundError, match="no refund 42"):
        market.fetch_refund("42")


@settings(max_examples=20, deadline=None)
@given(ages=st.lists(st.integers(min_value=60, max_value=3 * 24 * 3600), max_size=12),
       page_size=st.integers(min_value=2, max_value=5))
def test_any_shop_is_listed_once_and_resumes_from_every_cursor(
    ages: list[int], page_size: int
) -> None:
    """Whatever the change times (ties included) and page size, nothing is lost or repeated."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        shop = FakeShop(FakeTop(rsps), refunds=len(ages), rates=0)
        for refund, age in zip(shop.refunds.values(), ages, strict=True):
            refund["modified"] = china_time(NOW - timedelta(seconds=age // 60 * 60))
        market = TaobaoMarketplace(make_settings(page_size=page_size), clock=lambda: NOW)
        items = check_resume(market.list_returns, min_pages=0)
    assert sorted(r.external_id or "" for r in items) == sorted(shop.refunds)


def test_a_refund_stamped_after_its_window_loses_none_of_the_later_windows(
    top: FakeTop, shop: FakeShop, market: TaobaoMarketplace
) -> None:
    """A stale search index (or a write during the walk) returns a refund in an old
    window with its newer ``modified``: read there, it would move the watermark past
    every window still to read, and their refunds would never be listed."""
    oldest = min(shop.refunds, key=lambda rid: shop.refunds[rid]["modified"])
    served = shop._refunds
    first = True

    def stale(form: dict[str, str]) -> dict[str, Any]:
        nonlocal first
        answer = served(form)
        listed = answer["refunds_receive_get_response"]["refunds"]["refund"]
        if first and any(r["refund_id"] == oldest for r in listed):
            first = False
            shop.refunds[oldest]["modified"] = china_time(NOW - timedelta(seconds=90))
        return answer

    top.handle("taobao.refunds.receive.get", stale)
    listed = {r.external_id for p in market.list_returns() for r in p.items}
    assert listed == set(shop.refunds)
