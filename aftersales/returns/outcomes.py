"""Whether a failed marketplace call surely did nothing: the one rule refunds and actions share.

A refund's push (:mod:`~aftersales.returns.refund_settle`) and an action's
(:mod:`~aftersales.returns.action_claim`) both settle their claim by it: a
definite refusal releases it, anything else keeps the outcome unknown.
"""

from __future__ import annotations

from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidTransitionError,
    RemoteNotFoundError,
    RemoteRejectedError,
    UnsupportedOperationError,
    ValidationError,
)

__all__ = ["refused"]


def refused(exc: BaseException) -> bool:
    """Whether a failed push surely did nothing (a definite refusal).

    Only a refusal by the marketplace (4xx: rejected, not found, bad
    credentials) or a check the adapter or the core made before sending
    counts. Every other failure may have followed the payment (or the action).
    """
    return isinstance(exc, RemoteRejectedError | RemoteNotFoundError | AuthenticationError
                      | ValidationError | UnsupportedOperationError | ConfigurationError
                      | InvalidTransitionError)
