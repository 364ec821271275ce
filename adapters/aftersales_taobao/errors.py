"""Typed refusals of ``taobao.rp.refunds.agree`` a caller can act on.

Both are :class:`~aftersales.errors.RemoteRejectedError` (never retried by
the core), with a message that says what to do next.
"""

from __future__ import annotations

from aftersales.errors import RemoteRejectedError

__all__ = ["RefundCapError", "VerificationRequiredError"]


class VerificationRequiredError(RemoteRejectedError):
    """Taobao wants the SMS code it just sent to the seller's phone.

    For large amounts taobao.rp.refunds.agree fails and texts a verification
    code to the seller; the same call with ``code=`` then goes through.
    """


class RefundCapError(RemoteRejectedError):
    """The refund is above what one taobao.rp.refunds.agree call may pay.

    The API doc caps one call at 20 refunds and 6,000 CNY on Taobao, 30
    refunds and 10,000 CNY on Tmall; a larger refund is agreed in the seller
    console. Raised before any call is made.
    """
