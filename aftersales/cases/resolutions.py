"""Resolutions: what the shop offers to settle a case.

A refund goes through the returns area (``app.returns``), exactly once: its
idempotency key is derived from the case and the proposal's number, so
resolving again (after a lost answer, a crash, a second click) resumes the
same refund instead of paying twice. Exchanges, reships (补寄), repairs and
explanations or apologies are recorded on the case; a compensation (coupon
or store credit) is recorded with its amount.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Any

from aftersales.amounts import check_amount
from aftersales.cases.inputs import free_text
from aftersales.errors import ValidationError

__all__ = ["Resolution", "ResolutionKind"]


class ResolutionKind(StrEnum):
    """What is offered."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    RESHIP = "reship"  # 补寄
    COMPENSATION = "compensation"  # a coupon or store credit
    REPAIR = "repair"
    EXPLANATION = "explanation"  # an explanation or apology


_COMPENSATION = ("coupon", "store_credit")
#: A plain positive decimal: no sign, exponent, NaN or thousands separator.
_PLAIN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


class Resolution:
    """One proposed resolution, validated on construction.

    Args:
        kind: what is offered.
        amount: the refund (``None``: everything still due) or the compensation's value.
        currency: the amount's currency (the order's when not given).
        rma_id: the return request a refund is paid against (else a
            refund-only request is opened for the case).
        compensation: ``coupon`` or ``store_credit`` for a compensation.
        note: what the buyer is told.
    """

    def __init__(self, kind: ResolutionKind | str, *, amount: Decimal | str | None = None,
                 currency: str | None = None, rma_id: str | None = None,
                 compensation: str | None = None, note: str = "") -> None:
        try:
            self.kind = ResolutionKind(str(kind).strip().lower())
        except ValueError:
            choices = ", ".join(k.value for k in ResolutionKind)
            raise ValidationError(f"unknown resolution; one of {choices}",
                                  field="resolution") from None
        self.amount: Decimal | None = None
        if amount is not None and currency:
            self.amount = check_amount(str(amount).strip(), currency).amount
        elif amount is not None:
            text = str(amount).strip()
            if not _PLAIN.fullmatch(text):
                raise ValidationError("not a plain amount like 12.50", field="amount")
            value = Decimal(text)
            if value <= 0:
                raise ValidationError("must be more than 0", field="amount")
            self.amount = value
        self.currency = currency.upper() if currency else None
        self.rma_id = rma_id
        if self.kind is ResolutionKind.COMPENSATION:
            if compensation not in _COMPENSATION:
                raise ValidationError("coupon or store_credit", field="compensation")
            if self.amount is None:
                raise ValidationError("a compensation needs an amount", field="amount")
        elif compensation is not None:
            raise ValidationError("only a compensation has a type", field="compensation")
        self.compensation = compensation
        self.note = free_text(note, "note", 2000, required=False) or ""

    def to_dict(self) -> dict[str, Any]:
        """The resolution as stored on the case (amounts as strings)."""
        return {"kind": self.kind.value, "amount": str(self.amount) if self.amount else None,
                "currency": self.currency, "rma_id": self.rma_id,
                "compensation": self.compensation, "note": self.note}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resolution:
        """A stored resolution back as an object."""
        return cls(data["kind"], amount=data.get("amount"), currency=data.get("currency"),
                   rma_id=data.get("rma_id"), compensation=data.get("compensation"),
                   note=data.get("note") or "")
