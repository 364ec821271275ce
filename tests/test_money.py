"""Money: Decimal only, one currency at a time, explicit half-up rounding."""

from __future__ import annotations

from decimal import Decimal

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.money import Money, minor_units

amounts = st.decimals(
    min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=4
)
currencies = st.sampled_from(["CNY", "USD", "JPY", "KWD", "EUR"])


def test_float_is_refused_with_the_field_named() -> None:
    with pytest.raises(pydantic.ValidationError, match="amount"):
        Money(1.1, "CNY")


@pytest.mark.parametrize("code", ["yuan", "C1Y", "", "€€€"])
def test_bad_currency_is_refused(code: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="currency"):
        Money("1", code)


def test_mixed_currencies_are_refused() -> None:
    with pytest.raises(ValueError, match="CNY with USD"):
        Money("1", "CNY") + Money("1", "USD")
    with pytest.raises(ValueError, match="CNY with USD"):
        _ = Money("1", "CNY") < Money("1", "USD")


def test_half_up_to_the_minor_unit() -> None:
    assert Money("2.345", "CNY").rounded().amount == Decimal("2.35")
    assert Money("2.5", "JPY").rounded().amount == Decimal("3")
    assert Money("1.0005", "KWD").rounded().amount == Decimal("1.001")
    assert Money("-2.345", "CNY").rounded().amount == Decimal("-2.35")
    assert str(Money("3", "CNY")) == "3.00 CNY"


def test_lowercase_currency_is_normalised() -> None:
    assert Money("1", "cny").currency == "CNY"


@given(a=amounts, b=amounts, cur=currencies)
def test_addition_and_subtraction_are_exact(a: Decimal, b: Decimal, cur: str) -> None:
    total = Money(a, cur) + Money(b, cur)
    assert total.amount == a + b
    assert (total - Money(b, cur)).amount == a


@given(a=amounts, cur=currencies)
def test_rounding_is_idempotent_and_close(a: Decimal, cur: str) -> None:
    once = Money(a, cur).rounded()
    assert once.rounded() == once
    q = Decimal(1).scaleb(-minor_units(cur))
    assert abs(once.amount - a) <= q / 2


@given(
    a=st.decimals(
        min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False
    ),
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12),
)
def test_allocation_never_creates_or_loses_a_cent(a: Decimal, weights: list[int]) -> None:
    parts = Money(a, "CNY").allocate(weights)
    assert len(parts) == len(weights)
    assert sum((p.amount for p in parts), Decimal(0)) == Money(a, "CNY").rounded().amount
    for p in parts:
        assert p.amount == p.rounded().amount
    if a >= 0 and sum(weights) > 0:
        for p, w in zip(parts, weights, strict=True):
            if w == 0:
                assert p.amount == 0


def test_multiplication_by_float_is_refused() -> None:
    with pytest.raises(TypeError):
        Money("1", "CNY") * 1.5  # type: ignore[operator]
    assert (Money("1.10", "CNY") * 3).amount == Decimal("3.30")


def test_fen_round_trips_exactly() -> None:
    from aftersales.money import from_fen, to_fen

    assert from_fen(1990) == Money("19.90", "CNY")
    assert from_fen("5") == Money("0.05", "CNY")
    assert from_fen(100, "JPY") == Money("100", "JPY")
    assert to_fen(Money("19.90", "CNY")) == 1990
    assert to_fen(from_fen(123456789)) == 123456789


@pytest.mark.parametrize("bad", ["19.9", "1e3", "", "十", True, 1.5])
def test_fen_refuses_what_is_not_a_whole_number(bad: object) -> None:
    from aftersales.errors import ValidationError
    from aftersales.money import from_fen

    with pytest.raises(ValidationError, match="refund_fee"):
        from_fen(bad, field="refund_fee")  # type: ignore[arg-type]


def test_to_fen_refuses_a_fraction_of_a_fen() -> None:
    from aftersales.errors import ValidationError
    from aftersales.money import to_fen

    with pytest.raises(ValidationError, match="finer"):
        to_fen(Money("0.005", "CNY"))


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6,
                   max_value=10**6),
       st.integers(min_value=-5, max_value=5), st.sampled_from(["CNY", "JPY", "KWD"]))
def test_arithmetic_results_are_the_money_validation_would_build(a: Decimal, k: int,
                                                                 cur: str) -> None:
    """Sums, differences, products, negations, roundings and allocated parts are built
    without validating again: each must equal, hash, dump and stay frozen as the Money
    built from the same parts does."""
    m = Money(a, cur)
    results = [m + m, m - m, m * k, k * m, -m, m.rounded(), *m.allocate([1, 2])]
    for got in results:
        built = Money.model_validate({"amount": got.amount, "currency": got.currency})
        assert got == built
        assert hash(got) == hash(built)
        assert got.model_dump(mode="json") == built.model_dump(mode="json")
        assert got.model_fields_set == built.model_fields_set
        with pytest.raises(pydantic.ValidationError):
            got.amount = Decimal(1)  # type: ignore[misc]


def test_a_non_finite_factor_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="finite"):
        Money("1.00", "CNY") * Decimal("Infinity")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6,
                   max_value=10**6), st.sampled_from(["CNY", "JPY", "KWD"]))
def test_money_of_a_decimal_and_a_normal_code_is_the_money_validation_builds(
    a: Decimal, cur: str,
) -> None:
    """``Money(Decimal, "CNY")`` skips validation (nothing to normalise): it must equal,
    hash, dump and stay frozen as the validated Money."""
    got = Money(a, cur)
    built = Money.model_validate({"amount": a, "currency": cur})
    assert got == built
    assert hash(got) == hash(built)
    assert got.model_dump(mode="json") == built.model_dump(mode="json")
    assert got.model_fields_set == built.model_fields_set
    with pytest.raises(pydantic.ValidationError):
        got.amount = Decimal(1)  # type: ignore[misc]


@pytest.mark.parametrize("cur", ["cny", " CNY", "CN", "C1Y", "ÇNY"])
def test_a_code_not_in_normal_form_is_still_validated(cur: str) -> None:
    try:
        built = Money.model_validate({"amount": Decimal("1.00"), "currency": cur})
    except pydantic.ValidationError:
        with pytest.raises(pydantic.ValidationError):
            Money(Decimal("1.00"), cur)
        return
    assert Money(Decimal("1.00"), cur) == built


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_a_non_finite_decimal_is_refused(amount: Decimal) -> None:
    with pytest.raises(pydantic.ValidationError, match="finite"):
        Money(amount, "CNY")


@pytest.mark.parametrize("amount", ["1e30", "-1e26", "1E+999999"])
def test_an_amount_too_large_to_round_is_a_validation_error_and_prints(amount: str) -> None:
    """Half-up to the minor unit needs every digit: rounding or printing 1e30 CNY raised
    decimal.InvalidOperation, a traceback in any message quoting it."""
    from aftersales.errors import ValidationError

    for money in (Money(amount, "CNY"), Money(Decimal(amount), "KWD")):
        with pytest.raises(ValidationError, match="beyond any amount"):
            money.rounded()
        assert str(money) == f"{money.amount} {money.currency}"
    assert str(Money("999999999999999999.995", "CNY")) == "1000000000000000000.00 CNY"


def test_to_fen_names_the_amount_as_given_not_rounded() -> None:
    from aftersales.errors import ValidationError
    from aftersales.money import to_fen

    with pytest.raises(ValidationError, match=r"0\.001 CNY is finer"):
        to_fen(Money("0.001", "CNY"))  # it said '0.00 CNY is finer than one minor unit'
