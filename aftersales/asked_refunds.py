"""Refunds on platforms that pay what the buyer asked for, and never another amount.

Douyin's ``afterSale/operate``, Pinduoduo's ``pdd.refund.agree`` and JD's
``refundapply.replyRefund`` take no amount: agreeing to the buyer's request
pays the amount on it. A refund of any other amount (a partial refund, some
of the lines, a restocking fee kept back, the shipping left out) would be
recorded at one amount while the buyer is paid another, and the per-line
ledger would count money that never moved (or miss money that did). Such a
refund is refused before anything is sent (:func:`check_asked`); the shop
settles a different amount with the buyer in the seller console, where the
buyer changes the request.

An adapter of such a platform sets ``pays_asked`` (:class:`~aftersales.
interfaces.MarketplaceBase`), so the refund service refuses a refund whose
amount differs from the request's stored one before it claims anything;
the adapter checks again against the amount the platform reads back just
before it agrees, in case the buyer changed the request meanwhile.
"""

from __future__ import annotations

from aftersales.errors import ValidationError
from aftersales.money import Money

__all__ = ["check_asked"]


def check_asked(amount: Money, asked: Money | None, *, platform: str, request: str) -> None:
    """Refuse a refund of ``amount`` unless it is exactly what the buyer ``asked`` for.

    Args:
        amount: what the refund would record as paid.
        asked: what the platform will pay (the buyer's requested amount);
            ``None`` when the platform does not say, which is refused too:
            what would be paid is unknown.
        platform: the platform's name, for the message.
        request: the request's name (an rma id or the platform's id).

    Raises:
        ValidationError: one line naming the request and both amounts
            (field ``amount``).
    """
    if asked is None:
        raise ValidationError(
            f"{request}: {platform} pays what the buyer asked for and the request names no "
            f"amount, so a refund of {amount} cannot be checked; refund it in the seller "
            "console", field="amount")
    if asked.currency != amount.currency or asked.rounded() != amount.rounded():
        raise ValidationError(
            f"{request}: {platform} pays what the buyer asked for ({asked}), not {amount}; "
            "its agree call takes no amount, so settle another amount with the buyer in the "
            "seller console", field="amount")
