"""Whole numbers on the wire: one core reader for the adapters' ids, fen, seconds and codes.

Douyin, Taobao and Pinduoduo each read an answer's numeric code their own
way: Douyin's ``--5`` and a 5,000-digit code, and Taobao's 5,000-digit one,
raised a bare ``ValueError`` out of the error check; Douyin's wire models
quoted a ``--``-prefixed value (a phone number) in the error text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aftersales_douyin.client import error_from_body as douyin_error
from aftersales_douyin.schemas import OrderLogistics
from aftersales_pinduoduo.client import error_from_body as pinduoduo_error
from aftersales_taobao.client import error_from_body as taobao_error
from aftersales_taobao.schemas import TopRefund
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import RemoteError, ResponseParseError, ValidationError
from aftersales.wire import number_text, read_payload, wire_amount, wire_int, wire_number

PHONE = "13800138000"
HOSTILE = ["--5", f"--{PHONE}", "1" * 5000, "1e3", "１２", "٣", "1_000", "0x10", "+5", " ",
           "", "NaN", "inf", "-", "5-", 1.0, float("nan"), True, None, [], {}]


@pytest.mark.parametrize(("value", "read"), [
    (0, 0), (12, 12), ("12", 12), (" 12 ", 12), ("9" * 19, int("9" * 19)), (-3, -3),
    ("-3", -3), (10**30, 10**30),
])
def test_a_whole_number_is_read_exactly(value: Any, read: int) -> None:
    assert wire_int(value, signed=True) == read


@pytest.mark.parametrize("value", [*HOSTILE, "9" * 20, "-" + "9" * 20])
def test_what_is_no_whole_number_is_refused_without_its_value(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^a code must be a whole number$"):
        wire_int(value, "a code", signed=True)
    assert wire_number(value) is None


@pytest.mark.parametrize("value", [-1, "-1"])
def test_an_unsigned_number_refuses_a_minus(value: Any) -> None:
    with pytest.raises(ValueError, match="a count"):
        wire_int(value, "a count")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.booleans(), st.none(),
                 st.text(alphabet="-0123456789０ ", max_size=25)))
def test_any_value_is_a_number_or_none_never_an_exception(value: Any) -> None:
    found = wire_number(value)
    if found is not None:
        assert found == int(value)
        assert not isinstance(value, bool | float)


@pytest.mark.parametrize("code", ["--5", "1" * 5000, "１２", 12.5, True])
def test_douyin_a_hostile_answer_code_is_a_parse_error_not_a_crash(code: Any) -> None:
    error = douyin_error({"code": code, "msg": "x"})
    assert isinstance(error, ResponseParseError)


@pytest.mark.parametrize("code", ["--5", "1" * 5000, "１２", 12.5, True, None])
def test_taobao_and_pinduoduo_a_hostile_answer_code_is_still_an_error(code: Any) -> None:
    taobao = taobao_error({"error_response": {"code": code, "msg": "x"}})
    pdd = pinduoduo_error({"error_response": {"error_code": code, "error_msg": "x"}})
    assert isinstance(taobao, RemoteError)
    assert isinstance(pdd, RemoteError)
    assert taobao.code == "0"
    assert "1111" not in str(taobao)


def test_douyin_a_hostile_number_is_refused_by_name_never_quoted() -> None:
    with pytest.raises(ValidationError) as info:
        read_payload(OrderLogistics, {"logistics_state": f"--{PHONE}"}, payload="douyin order")
    assert info.value.field == "logistics_state"
    assert PHONE not in str(info.value)


# ------------------------------------------------------------------ amounts as fixed-place text


@pytest.mark.parametrize(("value", "read"), [
    ("12.30", Decimal("12.30")), (" 0.01 ", Decimal("0.01")), ("12", Decimal(12)), (12, Decimal(12)),
    (Decimal("7.5"), Decimal("7.5")), ("0", Decimal(0)),
])
def test_fixed_place_text_is_read_exactly(value: Any, read: Decimal) -> None:
    amount = wire_amount(value, numbers=False, places=2)
    assert amount == read
    assert str(amount) == str(read)


@pytest.mark.parametrize("value", [
    "12.305", "12.300", 12.3, 12.0, float("nan"), float("inf"), "NaN", "Infinity", "-Infinity",
    "1e400", "1E+2", Decimal("1E+2"), "１２", "٣", "1,234.00", "12.", ".5", "9" * 5000,
    "1" + "0" * 12, 10**400, "-5.00", True, None, [],
])
def test_fixed_place_text_refuses_what_no_price_is(value: Any) -> None:
    with pytest.raises(ValueError) as info:
        wire_amount(value, numbers=False, places=2)
    assert "9999" not in str(info.value)


def test_a_signed_fixed_place_amount_may_be_negative() -> None:
    assert wire_amount("-5.00", signed=True, numbers=False, places=2) == Decimal("-5.00")
    with pytest.raises(ValueError, match="2 decimals"):
        wire_amount("-5.001", signed=True, numbers=False, places=2)


def test_without_the_options_a_number_and_any_places_are_still_read() -> None:
    assert wire_amount(12.305) == Decimal("12.305")
    assert wire_amount("12.3050") == Decimal("12.3050")


@pytest.mark.parametrize("fee", ["12.300", 12.5, "1" + "0" * 12])
def test_a_taobao_price_is_read_by_the_core_rule(fee: Any) -> None:
    with pytest.raises(ValidationError, match="'refund_fee'"):
        read_payload(TopRefund, {"refund_id": "1", "tid": "2", "status": "SUCCESS",
                                 "refund_fee": fee}, payload="taobao refund")


# ------------------------------------------------------------------ ids written as numbers


@pytest.mark.parametrize(("value", "text"), [
    (123456789012345678, "123456789012345678"), ("A-1", "A-1"), (None, None), (True, True),
    (-5, "-5"), (10**63, "1" + "0" * 63),
])
def test_a_number_written_for_text_becomes_its_digits(value: Any, text: Any) -> None:
    assert number_text(value) == text


@pytest.mark.parametrize("value", [10**64, 10**5000, -(10**5000)], ids=["65", "5001", "-5001"])
def test_a_number_too_long_for_any_id_is_refused_without_a_bare_error(value: int) -> None:
    with pytest.raises(ValueError, match="at most 64 characters"):
        number_text(value)


def test_a_hostile_id_number_is_refused_by_name_in_a_payload() -> None:
    with pytest.raises(ValidationError, match="'oid'"):
        read_payload(TopRefund, {"refund_id": "1", "tid": "2", "status": "SUCCESS",
                                 "oid": 10**5000}, payload="taobao refund")
