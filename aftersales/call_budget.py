"""A time budget for the HTTP calls made inside a block, whatever adapter makes them.

A refund is pushed under a lease (:data:`aftersales.returns.refund_claim.PUSH_LEASE`):
once it runs out, another worker may take the refund over and push it too.
A push is several calls (Shopify's ``refunds/calculate`` then
``refundCreate``; the Chinese platforms' state read then agree), each
retried with backoff by :class:`~aftersales.http.ApiClient`, and could
outlast the lease. Inside :func:`time_budget`, every call ends by the
budget: its connect and read timeouts are cut to the time left, so is the
deadline of reading its answer (:mod:`aftersales.http_deadline`), a backoff
that would pass the end is not waited, and a call that would start after
it is not sent (:class:`~aftersales.errors.TransientError`, marked unsent,
never retried). The caller then treats the push like any other whose
outcome is unknown.

The budget lives in a context variable: it follows the thread (or task)
that set it, so two workers' pushes never share one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from aftersales.errors import TransientError

__all__ = ["budget_end", "check_budget", "time_budget", "wait_within"]

#: the monotonic time the current budget ends at, if one is set
_ENDS: ContextVar[float | None] = ContextVar("aftersales_call_budget", default=None)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Every HTTP call made inside ends within ``seconds`` from now (or an outer budget's end)."""
    end = time.monotonic() + max(seconds, 0.0)
    outer = _ENDS.get()
    token = _ENDS.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _ENDS.reset(token)


def _left() -> float | None:
    end = _ENDS.get()
    return None if end is None else end - time.monotonic()


def check_budget(timeout: tuple[float, float], adapter: str) -> tuple[float, float]:
    """The ``(connect, read)`` timeouts of a call about to start, cut to the budget left.

    Raises:
        TransientError: the budget is spent; the call is not sent (marked
            unsent and not retryable).
    """
    left = _left()
    if left is None:
        return timeout
    if left <= 0:
        err = TransientError("the push's time budget ran out before this call; it was not sent",
                             adapter=adapter)
        err.retryable = False
        setattr(err, "_unsent", True)  # noqa: B010 - the retry layer's mark, not typed
        raise err
    return (min(timeout[0], left), min(timeout[1], left))


def budget_end(end: float) -> float:
    """``end`` (a :func:`time.monotonic` instant: an answer's own deadline), or the
    budget's end when that comes first."""
    budget = _ENDS.get()
    return end if budget is None else min(end, budget)


def wait_within(seconds: float) -> float:
    """A backoff of ``seconds``, or none when it would end past the budget.

    The next attempt then finds the budget spent and is not sent, so no
    time is spent waiting for an attempt that cannot be made.
    """
    left = _left()
    if left is not None and seconds >= left:
        return 0.0
    return seconds
