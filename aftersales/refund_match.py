"""Recognising a refund on a platform that keeps no idempotency key.

Where a marketplace stores no key with a refund, ``find_refund`` can only
recognise one of ours by what it paid: the same amount, in the same
currency, for the same lines and quantities, made no earlier than our
pending refund was recorded (less a little clock skew), and not one the
store already recorded. That is what :func:`same_refund` checks; an
adapter that uses it says so in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from aftersales.models import Refund
from aftersales.money import Money

__all__ = ["CLOCK_SKEW", "same_refund"]

#: How far a platform's clock may run behind ours.
CLOCK_SKEW = timedelta(minutes=5)


def same_refund(
    refund: Refund, *, amount: Money | None, lines: Mapping[str, int] | None,
    created_at: datetime | None,
) -> bool:
    """Whether a platform's refund (``amount``, ``lines``, ``created_at``) is ``refund``.

    ``lines`` maps order line ids to quantities; ``None`` (the platform does
    not list them) skips that check. An unknown ``created_at`` matches.
    """
    if amount is None or amount.currency != refund.amount.currency:
        return False
    if amount.rounded().amount != refund.amount.rounded().amount:
        return False
    if lines is not None:
        ours = {ln.order_line_id: ln.quantity for ln in refund.lines if ln.quantity > 0}
        if {k: v for k, v in lines.items() if v > 0} != ours:
            return False
    if created_at is not None and refund.created_at is not None:
        return created_at >= refund.created_at - CLOCK_SKEW
    return True
