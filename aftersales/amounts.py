"""Amounts that come from outside (a caller, the command line, a bulk file), checked strictly.

An amount a person typed or a file carried is refused with a one-line
:class:`~aftersales.errors.ValidationError` naming the field (and the row)
when it is not a number, not finite (``NaN``, ``Infinity``), negative or
zero, absurdly large (``1e30``), finer than its currency's minor unit
(``10.005`` CNY, ``1.5`` JPY) or in another currency than the one expected.
Nothing is rounded on the way in: a refund of 10.005 CNY is a mistake to
show, not a cent to guess.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from aftersales.errors import ValidationError
from aftersales.money import Money, minor_units

__all__ = ["MAX_AMOUNT", "check_amount"]

#: The largest amount accepted anywhere (a trillion of any currency's units).
MAX_AMOUNT = Decimal(10) ** 12


def _decimal(value: object, field: str, row: int | None) -> Decimal:
    if isinstance(value, bool | float):
        raise ValidationError("pass amounts as text or Decimal, not float", field=field, row=row)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    text = str(value).strip()
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{text[:40]!r} is not an amount", field=field, row=row) from None


def check_amount(
    value: Money | Decimal | str | int, currency: str, *, field: str = "amount",
    row: int | None = None,
) -> Money:
    """``value`` as :class:`Money` in ``currency``, or a one-line ``ValidationError``.

    Args:
        value: a Money (its currency must be ``currency``), a Decimal, an int or text.
        currency: the currency the amount must be in (the order's).
        field: the field named in the error.
        row: the bulk file's row number, named in the error.

    Raises:
        ValidationError: not a number, not finite, not above zero, above
            :data:`MAX_AMOUNT`, more decimals than ``currency`` has, or
            another currency.
    """
    cur = currency.upper()
    if isinstance(value, Money):
        if value.currency != cur:
            raise ValidationError(f"the order is in {cur}, not {value.currency}", field=field,
                                  row=row)
        value = value.amount
    amount = _decimal(value, field, row)
    if not amount.is_finite():
        raise ValidationError(f"{amount} is not a finite amount", field=field, row=row)
    if amount <= 0:
        raise ValidationError(f"must be more than zero, not {amount}", field=field, row=row)
    if amount > MAX_AMOUNT:
        raise ValidationError(f"{amount:.3g} is beyond any plausible amount", field=field,
                              row=row)
    places = minor_units(cur)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(f"{amount} has more decimals than {cur} allows ({places})",
                              field=field, row=row)
    return Money(amount, cur)
