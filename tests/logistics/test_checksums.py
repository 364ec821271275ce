"""The check-digit rules named in the carrier-format table."""

from __future__ import annotations

import pytest

from aftersales.logistics.checksums import CHECKSUMS, luhn, mod7, mod10, s10, sum_product, validate


def test_mod10_ups_parameters() -> None:
    params = {"evens_multiplier": 1, "odds_multiplier": 2}
    assert mod10("5R8939035756712", "7", params)
    assert not mod10("5R8939035756712", "8", params)


def test_mod10_reverse_walks_from_the_end() -> None:
    params = {"evens_multiplier": 3, "odds_multiplier": 1, "reverse": True}
    assert mod10("940011120620640626078", "7", params)
    # an even-length serial shows the direction: "12" → 2·3 + 1 = 7 → check 3
    assert mod10("12", "3", params)
    assert mod10("12", "5", {**params, "reverse": False})


def test_mod7() -> None:
    assert mod7("331881002", "5", {})
    assert not mod7("331881002", "6", {})


def test_s10_maps_remainders_ten_and_eleven() -> None:
    assert s10("12345678", "5", {})
    # remainder 0 → check 5, remainder 1 → check 0
    assert s10("00000000", "5", {})
    assert s10("00000101", "0", {})  # 5 + 7 = 12 → remainder 1 → check 0
    assert s10("10000001", "7", {})  # 8 + 7 = 15 → remainder 4 → check 7

def test_sum_product_fedex_express() -> None:
    params = {"weightings": [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1], "modulo1": 11, "modulo2": 10}
    assert sum_product("98657878885", "5", params)
    assert not sum_product("99657878885", "5", params)


def test_luhn() -> None:
    assert luhn("7992739871", "3", {})
    assert not luhn("7992739871", "4", {})


def test_validate_refuses_empty_or_non_digit_checks() -> None:
    assert not validate({"name": "mod7"}, "", "1")
    assert not validate({"name": "mod7"}, "123", "X")


def test_unknown_rule_is_a_loud_error() -> None:
    with pytest.raises(KeyError):
        validate({"name": "nope"}, "123", "1")


def test_every_rule_is_registered() -> None:
    assert set(CHECKSUMS) == {
        "mod10", "mod7", "s10", "sum_product_with_weightings_and_modulo", "luhn"
    }
