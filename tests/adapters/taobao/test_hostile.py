"""Payloads Taobao never documented, the way a broken gateway or an attacker sends them.

Every bad value is refused with the library's ``ValidationError`` naming the
payload and the field (its path, never its value: a wrong-typed field may hold
a buyer's words), or read exactly; nothing raises a raw ``KeyError``,
``TypeError``, ``ValueError``, ``OverflowError`` or pydantic error.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from aftersales_taobao import TaobaoMarketplace, mapping
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import AfterSalesError, RemoteRejectedError, ValidationError
from aftersales.models import ReturnRequest

from .conftest import SECRET, SESSION, FakeTop, body

PII = "张三 13800138000 北京市朝阳区建国路88号"


def _page() -> dict[str, Any]:
    data: dict[str, Any] = body("refunds_receive_get")["refunds_receive_get_response"]
    return data


def _refund(page: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = page["refunds"]["refund"][0]
    return found


def _request() -> ReturnRequest:
    return ReturnRequest.model_validate({
        "marketplace": "taobao", "order_id": "1", "kind": "refund_only",
        "lines": [{"order_line_id": "1", "quantity": 1}], "external_id": "123456789012345678"})


@pytest.mark.parametrize(("field", "value"), [
    ("refund_fee", 12.3),  # a float: TOP writes prices as text
    ("refund_fee", "-5.00"),  # a negative refund
    ("refund_fee", "12.305"),  # finer than a fen (it was rounded to 12.31)
    ("refund_fee", "NaN"),
    ("refund_fee", "Infinity"),
    ("refund_fee", "1e400"),  # a raw decimal.InvalidOperation before
    ("refund_fee", "99999999999999999999999.99"),
    ("refund_fee", ""),
    ("refund_fee", True),
    ("refund_fee", "１２"),  # full-width digits (read as 12 before)
    ("refund_fee", "1,234.00"),
    ("refund_fee", PII),
    ("modified", "0001-01-01 00:00:00"),  # a raw OverflowError before
    ("modified", "9999-12-31 23:59:59"),
    ("modified", 1767000000),  # epoch seconds where TOP writes China time
    ("modified", None),
    ("modified", "2026-02-30 00:00:00"),
    ("modified", "2026-01-02 03:04:05\x00"),
    ("modified", PII),
    ("created", "0001-01-01 00:00:00"),
    ("status", None),
    ("status", 5),
    ("num", PII),
    ("refund_id", None),
    ("refund_id", ""),
    ("refund_id", "1" * 100_000),
    ("tid", "12\x0034"),
])
def test_a_bad_field_is_refused_by_name(field: str, value: Any) -> None:
    page = _page()
    _refund(page)[field] = value
    with pytest.raises(ValidationError) as caught:
        mapping.refunds_page(page)
    error = caught.value
    assert error.field is not None
    assert error.field.endswith(field)
    assert "taobao" in str(error)
    assert "\n" not in str(error)
    assert "张三" not in str(error)
    assert "13800138000" not in str(error)


@pytest.mark.parametrize("data", [
    {"refunds": "x"}, {"refunds": [1]}, {"total_results": "abc"},
])
def test_a_malformed_page_is_refused_by_name(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        mapping.refunds_page(data)
    assert caught.value.payload == "taobao.refunds.receive.get"


@pytest.mark.parametrize(("fee", "amount"), [
    ("12.30", "12.30"), ("12", "12"), (12, "12"), (" 0.01 ", "0.01"), ("0", "0"),
])
def test_yuan_text_is_read_exactly(fee: Any, amount: str) -> None:
    page = _page()
    _refund(page)["refund_fee"] = fee
    (request,), _ = mapping.refunds_page(page)
    assert request.requested_amount is not None
    assert request.requested_amount.amount == Decimal(amount)


@given(st.one_of(st.text(max_size=25), st.floats(), st.integers(), st.booleans(),
                 st.decimals(allow_nan=True).map(str)))
@settings(max_examples=200, deadline=None)
def test_any_amount_is_read_exactly_or_refused_by_name(value: Any) -> None:
    page = _page()
    _refund(page)["refund_fee"] = value
    try:
        (request,), _ = mapping.refunds_page(page)
    except ValidationError as exc:
        named = str(exc.field)
        assert named.endswith("refund_fee")
        return
    assert request.requested_amount is not None
    amount = request.requested_amount.amount
    assert amount == Decimal(str(value).strip())
    assert amount >= 0
    assert amount == amount.quantize(Decimal("0.01"))


@given(st.text(alphabet="0123456789-: ", max_size=19))
@settings(max_examples=200, deadline=None)
def test_any_time_text_is_read_or_refused_by_name(value: str) -> None:
    page = _page()
    _refund(page)["modified"] = value
    try:
        (request,), _ = mapping.refunds_page(page)
    except ValidationError as exc:
        named = str(exc.field)
        assert named.endswith("modified")
        return
    assert request.updated_at is not None
    assert request.updated_at.tzinfo is not None
    assert 1969 <= request.updated_at.year < 2200


def test_a_beijing_time_becomes_the_same_instant_in_utc() -> None:
    page = _page()
    _refund(page)["modified"] = "2026-01-02 03:04:05"
    (request,), _ = mapping.refunds_page(page)
    assert request.updated_at is not None
    assert request.updated_at.isoformat() == "2026-01-01T19:04:05+00:00"


@pytest.mark.parametrize(("total", "count", "has_next", "trusted"), [
    (None, 2, None, None),
    (-5, 2, None, None),  # below zero
    (1, 2, None, None),  # fewer than this page holds
    (2, 2, True, None),  # "no more" beside has_next
    (9, 2, True, 9),
    (0, 0, False, 0),
])
def test_a_total_the_page_contradicts_is_not_trusted(
        total: int | None, count: int, has_next: bool | None, trusted: int | None) -> None:
    assert mapping.trusted_total(total, count, has_next) == trusted


def test_a_lying_total_does_not_cut_the_listing_short(market: TaobaoMarketplace,
                                                      shop: Any, top: FakeTop) -> None:
    honest = {r.external_id for p in market.list_returns() for r in p.items}
    lister = top.handlers["taobao.refunds.receive.get"]

    def lying(form: dict[str, str]) -> dict[str, Any]:
        answer: dict[str, Any] = lister(form)
        answer["refunds_receive_get_response"]["total_results"] = 1
        return answer

    top.handle("taobao.refunds.receive.get", lying)
    found = {r.external_id for p in market.list_returns() for r in p.items}
    assert len(honest) > 2
    assert found == honest


@pytest.mark.parametrize("reply", [
    (200, "<html><body>502 Bad Gateway</body></html>"),
    (200, '{"refund_get_response": {"refund": {'),
    {"refund_get_response": "x"},
    {"refund_get_response": {"refund": {"refund_id": "1", "tid": "2", "status": "SUCCESS",
                                        "modified": "2024-05-20 09:31:12",
                                        "refund_fee": 1.5}}},
    {"error_response": "not an object"},
])
def test_a_broken_answer_is_a_named_error(market: TaobaoMarketplace, top: FakeTop,
                                          reply: Any) -> None:
    top.queue("taobao.refund.get", reply)
    with pytest.raises(AfterSalesError) as caught:
        market.fetch_refund("123456789012345678")
    assert "taobao" in str(caught.value)


def test_a_trade_with_bad_money_is_refused_by_name(market: TaobaoMarketplace,
                                                   top: FakeTop) -> None:
    answer = body("trade_fullinfo_get")
    trade = answer["trade_fullinfo_get_response"]["trade"]
    trade["payment"] = "12.345"
    top.queue("taobao.trade.fullinfo.get", answer)
    with pytest.raises(ValidationError, match="payment"):
        market.get_order(str(trade["tid"]))


def test_a_failing_sync_at_debug_leaks_no_secret_and_no_buyer(
        market: TaobaoMarketplace, top: FakeTop, caplog: pytest.LogCaptureFixture) -> None:
    """A bad page and a refusal quoting the buyer, logged at DEBUG: nothing of either."""
    page = _page()
    _refund(page)["num"] = PII
    top.queue("taobao.refunds.receive.get", {"refunds_receive_get_response": page})
    top.queue("taobao.refund.get", {"error_response": {
        "code": 15, "msg": "Remote service error", "sub_code": "isv.refund-not-exist",
        "sub_msg": f"收件人{PII}", "request_id": "R"}})
    errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ValidationError) as first:
            list(market.list_returns())
        errors.append(str(first.value))
        with pytest.raises(RemoteRejectedError) as second:
            market.fetch_refund(_request().external_id or "")
        errors.append(str(second.value))
        errors.append(second.value.body or "")
    signs = [c["sign"] for c in top.calls]
    text = caplog.text + " ".join(errors)
    assert "POST" in caplog.text
    for secret in (SECRET, SESSION, *signs, "13800138000", "张三", "建国路88号"):
        assert secret not in text


@pytest.mark.parametrize(("field", "value"), [
    ("status", "WAIT_" * 40), ("status", "SUCCESS\x00"), ("dispute_type", PII * 5),
    ("refund_phase", "x" * 65),
])
def test_an_enumeration_value_that_is_no_token_is_refused(field: str, value: str) -> None:
    """A megabyte status would have been stored as the raw status and shown in errors."""
    page = _page()
    _refund(page)[field] = value
    with pytest.raises(ValidationError) as caught:
        mapping.refunds_page(page)
    assert str(caught.value.field).endswith(field)


@pytest.mark.parametrize("result", ["<b>好评</b>" + PII[:12], "13800138000"])
def test_an_unknown_rating_result_is_named_without_echoing_what_it_says(result: str) -> None:
    """An unknown ``result`` is refused naming the field; a value that is not a
    plain code (letters, digits, ``- _ . :``) is not quoted, since it may be a
    buyer's words. A plain one is quoted, so a new platform code can be read."""
    page = body("traderates_get")["traderates_get_response"]
    page["trade_rates"]["trade_rate"][0]["result"] = result
    with pytest.raises(ValidationError) as info:
        mapping.rates_page(page)
    assert info.value.field == "result"
    text = str(info.value)
    assert "张三" not in text
    assert "<b>" not in text
    page["trade_rates"]["trade_rate"][0]["result"] = "superb"
    with pytest.raises(ValidationError, match="'superb'"):
        mapping.rates_page(page)
