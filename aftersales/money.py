"""Money: a Decimal amount with its ISO 4217 currency.

Floats never enter; arithmetic refuses to mix currencies; rounding is
explicit, half-up to the currency's minor unit, because that is what shops
and marketplaces print on receipts.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, field_validator

from aftersales.errors import CurrencyMismatchError, ValidationError

__all__ = ["Money", "from_fen", "minor_units", "to_fen"]

_new = object.__new__
_set = object.__setattr__

# Currencies whose minor unit is not two digits (ISO 4217).
_MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def minor_units(currency: str) -> int:
    """How many decimal places the currency's smallest unit has (2 unless listed)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


class Money(BaseModel):
    """An amount of one currency.

    ``Money("12.30", "CNY")`` reads naturally; amounts keep full Decimal
    precision until :meth:`rounded` is called, so a discount spread over lines
    does not lose cents on the way.
    """

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str

    def __init__(self, amount: Any = None, currency: Any = None, /, **data: Any) -> None:
        if (not data and type(amount) is Decimal and type(currency) is str
                and len(currency) == 3 and currency.isascii() and currency.isalpha()
                and currency.isupper() and amount.is_finite()):
            # Already what validation would make of it (a finite Decimal, a code in its
            # normal form): set as validation would, without running it (stored amounts
            # and refund arithmetic build tens of thousands per sync page).
            _set(self, "__dict__", {"amount": amount, "currency": currency})
            _set(self, "__pydantic_fields_set__", {"amount", "currency"})
            _set(self, "__pydantic_extra__", None)
            _set(self, "__pydantic_private__", None)
            return
        if amount is not None:
            data.setdefault("amount", amount)
        if currency is not None:
            data.setdefault("currency", currency)
        super().__init__(**data)

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("money amounts must not be floats; pass a str or Decimal")
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation as exc:
                raise ValueError("not a decimal amount") from exc
        return value

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("money amounts must be finite")
        return value

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha() or not code.isascii():
            raise ValueError("not an ISO 4217 currency code")
        return code

    @classmethod
    def _derived(cls, amount: Decimal, currency: str) -> Money:
        """Money from parts already checked: a finite Decimal and a currency taken from a
        validated Money. Arithmetic builds its results this way, skipping validation
        (a hot path in refund and eligibility sums)."""
        if not amount.is_finite():  # only a factor given to ``*`` can bring one in
            return cls(amount, currency)
        money = _new(cls)
        _set(money, "__dict__", {"amount": amount, "currency": currency})
        _set(money, "__pydantic_fields_set__", {"amount", "currency"})
        _set(money, "__pydantic_extra__", None)
        _set(money, "__pydantic_private__", None)
        return money

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(Decimal(0), currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}",
                                        field="currency")
        return other

    def __add__(self, other: Money) -> Money:
        return Money._derived(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money._derived(self.amount - self._same(other).amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float | Money):
            raise TypeError("multiply Money by an int or Decimal")
        return Money._derived(self.amount * Decimal(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money._derived(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __str__(self) -> str:
        try:
            return f"{self.rounded().amount} {self.currency}"
        except ValidationError:  # too large to round: shown as it is, never a traceback
            return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    @property
    def quantum(self) -> Decimal:
        """The smallest unit of the currency as a Decimal (``0.01`` for CNY)."""
        return Decimal(1).scaleb(-minor_units(self.currency))

    def rounded(self) -> Money:
        """Half-up to the currency's minor unit.

        Raises:
            ValidationError: the amount has more digits than Decimal's context
                can round (``1e30``: beyond any amount), where ``quantize``
                raised ``decimal.InvalidOperation``.
        """
        try:
            amount = self.amount.quantize(self.quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise ValidationError(f"{self.amount:.3g} {self.currency} is beyond any amount",
                                  field="amount") from None
        return Money._derived(amount, self.currency)

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.amount == 0

    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Split into parts proportional to ``weights`` that sum exactly to this amount.

        Each part is a whole number of minor units; the remainder left by
        rounding down goes one unit at a time to the largest fractional parts,
        so no cent is created or lost (the largest-remainder method).
        """
        if not weights:
            raise ValueError("allocate needs at least one weight")
        ws = [Decimal(w) for w in weights]
        if any(w < 0 for w in ws):
            raise ValueError("weights must not be negative")
        total_w = sum(ws, Decimal(0))
        total = self.rounded().amount
        q = self.quantum
        if total_w == 0:
            ws = [Decimal(1)] * len(ws)
            total_w = Decimal(len(ws))
        raw = [total * w / total_w for w in ws]
        sign = 1 if total >= 0 else -1
        floors = [(r * sign).quantize(q, rounding=ROUND_DOWN) * sign for r in raw]
        remainder_units = int(((total - sum(floors, Decimal(0))) / q).to_integral_value())
        order = sorted(range(len(ws)), key=lambda i: abs(raw[i] - floors[i]), reverse=True)
        for i in order[: abs(remainder_units)]:
            floors[i] += q * sign
        return [Money._derived(f, self.currency) for f in floors]

    def with_amount(self, amount: Decimal) -> Self:
        """The same currency with another amount."""
        return type(self)(amount, self.currency)


def from_fen(value: int | str, currency: str = "CNY", *, field: str = "amount",
             payload: str = "payload") -> Money:
    """An amount given in the currency's minor unit (fen for CNY) as :class:`Money`.

    Douyin, Pinduoduo and JD write many amounts as whole fen (``1990`` is
    19.90 CNY). ``value`` is an int or the text of one; anything else (a
    float, a fraction, a word) is refused rather than guessed.

    Raises:
        ValidationError: not a whole number (names ``field`` and ``payload``).
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError("an amount in fen must be a whole number", field=field,
                              payload=payload)
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ValidationError("an amount in fen must be a whole number", field=field,
                              payload=payload)
    return Money(Decimal(int(text)).scaleb(-minor_units(currency)), currency)


def to_fen(money: Money) -> int:
    """``money`` in its currency's minor unit (fen for CNY), exactly.

    Raises:
        ValidationError: the amount has a fraction of the minor unit (a
            platform that counts in fen cannot be sent 0.005 CNY).
    """
    scaled = money.amount.scaleb(minor_units(money.currency))
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"{money.amount} {money.currency} is finer than one minor unit "
                              f"of {money.currency}", field="amount")
    return int(scaled)
