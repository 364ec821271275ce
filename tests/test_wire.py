"""The core's readers of western wire values: amounts, money, ISO times, ids, answers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from aftersales.errors import ResponseParseError, ValidationError
from aftersales.http import bounded_wait
from aftersales.money import Money
from aftersales.paging import numbered_pages, token_pages
from aftersales.wire import (
    AwareTime,
    SignedWireCount,
    UtcTime,
    WireAmount,
    WireCount,
    WireIntId,
    iso_time,
    read_answer,
    refusing,
    wire_amount,
    wire_money,
)


class _Signed(BaseModel):
    quantity: SignedWireCount


@pytest.mark.parametrize(("value", "read"), [(-1, -1), ("-2", -2), (3, 3), ("0", 0)])
def test_a_signed_quantity_is_read(value: Any, read: int) -> None:
    assert _Signed(quantity=value).quantity == read


@pytest.mark.parametrize("value", [True, -1.5, "--1", "-", -(10**12), "1e3"])
def test_a_signed_quantity_that_is_none_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="quantity"):
        _Signed(quantity=value)


class _Thing(BaseModel):
    id: WireIntId
    quantity: WireCount = 0
    price: WireAmount = Decimal(0)
    at: AwareTime | None = None
    gmt: UtcTime | None = None


@pytest.mark.parametrize(("value", "read"), [
    ("19.99", Decimal("19.99")), (" 5 ", Decimal(5)), (195.66, Decimal("195.66")),
    (12, Decimal(12)), ("0.10", Decimal("0.10")),
])
def test_amounts_are_read_exactly(value: Any, read: Decimal) -> None:
    assert wire_amount(value) == read


@pytest.mark.parametrize("value", [True, None, "", "1e3", "1E+2", "NaN", "Infinity", "-0.01",
                                   "１２", "12,50", 1e20, float("nan"), "9" * 13, [], "0x10"])
def test_amounts_no_platform_writes_are_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        wire_amount(value)


def test_a_signed_amount_may_be_negative() -> None:
    assert wire_amount("-5.00", signed=True) == Decimal("-5.00")


@pytest.mark.parametrize(("amount", "currency"), [("1000.5", "JPY"), ("1.2345", "KWD"),
                                                   ("1.001", "USD")])
def test_money_finer_than_its_currency_is_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValidationError, match=f"finer than the {currency}") as caught:
        wire_money(Decimal(amount), currency, field="total", payload="p")
    assert amount not in str(caught.value)


@pytest.mark.parametrize(("amount", "currency"), [("1000.00", "JPY"), ("1.234", "KWD"),
                                                   ("1.50", "usd")])
def test_money_at_its_currency_unit_is_kept(amount: str, currency: str) -> None:
    assert wire_money(Decimal(amount), currency, field="f", payload="p") == Money(
        Decimal(amount), currency.upper())


@pytest.mark.parametrize("currency", [None, "", "XX", "US$", 840, "ＵＳＤ"])
def test_a_currency_that_is_none_is_refused_by_name(currency: Any) -> None:
    with pytest.raises(ValidationError, match="field 'currency'"):
        wire_money(Decimal(1), currency, field="currency", payload="p")


@pytest.mark.parametrize(("text", "utc"), [
    ("2026-01-12T10:00:00Z", datetime(2026, 1, 12, 10, tzinfo=UTC)),
    ("2026-01-12T10:00:00-05:00", datetime(2026, 1, 12, 15, tzinfo=UTC)),
    ("2026-01-12 10:00:00.123+0800", datetime(2026, 1, 12, 2, 0, 0, 123000, tzinfo=UTC)),
])
def test_iso_times_are_read_to_utc(text: str, utc: datetime) -> None:
    assert iso_time(text) == utc


@pytest.mark.parametrize("value", ["2026-01-12T10:00:00", "2026-01-12", 1700000000, None,
                                   "9999-12-31T00:00:00Z", "1970-01-01T00:00:00Z",
                                   "2026-02-30T00:00:00Z", "2026-01-12T10:00:00+25:00",
                                   "2026-01-12T10:00:00+05:99", "yesterday", True,
                                   datetime(2026, 1, 1)])
def test_times_no_platform_means_are_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        iso_time(value)


def test_a_naive_time_is_read_in_the_zone_named_for_it() -> None:
    assert iso_time("2026-01-12T10:00:00", naive=UTC) == datetime(2026, 1, 12, 10, tzinfo=UTC)
    plus8 = timezone(timedelta(hours=8))
    assert iso_time(datetime(2026, 1, 12, 18), naive=plus8) == datetime(2026, 1, 12, 10,
                                                                        tzinfo=UTC)


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none(), st.booleans()))
def test_any_time_is_aware_and_bounded_or_refused(value: Any) -> None:
    try:
        moment = iso_time(value)
    except ValueError:
        return
    assert moment.tzinfo is UTC
    assert 2000 <= moment.year < 2100


@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.decimals(),
                 st.booleans(), st.none()))
def test_any_amount_is_exact_or_refused(value: Any) -> None:
    try:
        amount = wire_amount(value)
    except ValueError:
        return
    assert amount.is_finite()
    assert 0 <= amount < 10**12


@pytest.mark.parametrize(("data", "field"), [
    ({"id": True}, "id"), ({"id": -1}, "id"), ({"id": 2**63}, "id"), ({"id": "1\x00"}, "id"),
    ({"id": 1, "quantity": True}, "quantity"), ({"id": 1, "quantity": 1.5}, "quantity"),
    ({"id": 1, "quantity": -1}, "quantity"),
    ({"id": 1, "at": "2026-01-01T00:00:00"}, "at"), ({"id": 1, "gmt": 5}, "gmt"),
])
def test_an_answer_that_does_not_fit_names_the_field_never_the_value(
    data: dict[str, Any], field: str,
) -> None:
    with pytest.raises(ResponseParseError, match=f"field '{field}'") as caught:
        read_answer(_Thing, {**data, "secret": "x"}, adapter="t", payload="t thing")
    assert caught.value.__cause__ is None
    assert "\x00" not in str(caught.value)


def test_a_model_refusal_while_mapping_is_the_librarys_error() -> None:
    with pytest.raises(ValidationError, match="field 'currency'") as caught, \
            refusing(payload="t order"):
        Money(Decimal(1), "jane.roe@example.org")
    assert "jane" not in str(caught.value)


def test_a_looping_token_ends_the_walk_with_an_error() -> None:
    tokens = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}
    asked: list[str | None] = []

    def fetch(token: str | None) -> tuple[list[int], str | None]:
        asked.append(token)
        assert len(asked) < 10, "walked on forever"
        return tokens[token]

    with pytest.raises(ResponseParseError, match="loops"):
        list(token_pages(fetch, adapter="t"))


def test_a_server_that_ignores_the_page_number_ends_the_walk() -> None:
    asked: list[int] = []

    def fetch(n: int) -> tuple[list[int], int | None]:
        asked.append(n)
        assert n < 10, "walked on forever"
        return [7, 8], 1_000_000

    assert list(numbered_pages(fetch)) == [[7, 8]]
    assert asked == [1, 2]


@pytest.mark.parametrize(("hint", "wait"), [(None, None), (math.nan, None), (-3, 0.0),
                                            (1e12, 300.0), (math.inf, 300.0), (2.5, 2.5)])
def test_a_wait_hint_is_bounded(hint: float | None, wait: float | None) -> None:
    assert bounded_wait(hint) == wait
