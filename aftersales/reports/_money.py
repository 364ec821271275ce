"""Thousandths of a unit (as the SQL sums them) back to exact money of a currency."""

from __future__ import annotations

from decimal import Decimal

from aftersales.money import minor_units

__all__ = ["from_milli"]


def from_milli(thousandths: int | None, currency: str) -> Decimal:
    """``thousandths / 1000`` as a Decimal at the currency's minor unit (exact)."""
    value = Decimal(int(thousandths or 0)).scaleb(-3)
    return value.quantize(Decimal(1).scaleb(-max(minor_units(currency), 0)))
