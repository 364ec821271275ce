"""Check-digit rules for tracking numbers, named as in the carrier-format table.

Each rule takes the serial part and the check digit (both already stripped
of spaces and upper-cased) plus the rule's parameters from
``carrier_formats.json``, and says whether the check digit fits. They are
pure functions, so a number that fails its check digit is simply not
attributed to that format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CHECKSUMS", "luhn", "mod7", "mod10", "s10", "sum_product", "validate"]

Params = Mapping[str, Any]


def _value(char: str) -> int:
    # Letters count as (code point - 3) mod 10, the rule UPS uses for its
    # alphanumeric shipper ids; digits count as themselves.
    return int(char) if char.isdigit() else (ord(char) - 3) % 10


def mod10(serial: str, check: str, params: Params) -> bool:
    """Weighted mod-10 (UPS, USPS, FedEx Ground, SSCC-18).

    Characters at even 0-based positions are multiplied by
    ``evens_multiplier`` and those at odd positions by ``odds_multiplier``;
    ``reverse`` walks the serial from its end.
    """
    chars = serial[::-1] if params.get("reverse") else serial
    evens = int(params.get("evens_multiplier", 1))
    odds = int(params.get("odds_multiplier", 1))
    total = sum(_value(c) * (odds if i % 2 else evens) for i, c in enumerate(chars))
    return (10 - total % 10) % 10 == int(check)


def mod7(serial: str, check: str, params: Params) -> bool:
    """DHL Express: the check digit is the serial modulo 7."""
    return int(serial) % 7 == int(check)


def s10(serial: str, check: str, params: Params) -> bool:
    """UPU S10: weights 8,6,4,2,3,5,9,7, modulo 11, with 10 → 0 and 11 → 5."""
    weights = params.get("weightings", (8, 6, 4, 2, 3, 5, 9, 7))
    total = sum(int(d) * int(w) for d, w in zip(serial, weights, strict=True))
    digit = 11 - total % 11
    expected = 0 if digit == 10 else 5 if digit == 11 else digit
    return expected == int(check)


def sum_product(serial: str, check: str, params: Params) -> bool:
    """FedEx Express: (Σ digit × weight) mod ``modulo1`` mod ``modulo2``."""
    weights = params["weightings"]
    total = sum(int(d) * int(w) for d, w in zip(serial, weights, strict=False))
    return total % int(params["modulo1"]) % int(params["modulo2"]) == int(check)


def luhn(serial: str, check: str, params: Params) -> bool:
    """The Luhn rule, with the check digit appended to the serial."""
    total = 0
    for i, char in enumerate(reversed(serial)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10 == int(check)


#: Rule name in the table → rule.
CHECKSUMS: dict[str, Callable[[str, str, Params], bool]] = {
    "mod10": mod10,
    "mod7": mod7,
    "s10": s10,
    "sum_product_with_weightings_and_modulo": sum_product,
    "luhn": luhn,
}


def validate(rule: Params, serial: str, check: str) -> bool:
    """Apply the rule described by ``rule`` (its ``name`` plus parameters).

    Raises:
        KeyError: the table names a rule this module does not know (a bug in
            the table, caught by the table's own test).
    """
    if not serial or not check.isdigit():
        return False
    return CHECKSUMS[str(rule["name"])](serial, check, rule)
