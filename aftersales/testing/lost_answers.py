"""The lost-answer matrix: a refund the platform applied, then whose answer was lost.

Every marketplace adapter is run through the same cells: the platform pays
the refund and then answers with one of :data:`LOST_ANSWERS` (a 500, a 502
HTML page, a 504, a read timeout, a connection reset after sending). One of
:data:`FOLLOW_UPS` then comes (a second ``refund()``, a bulk re-run, the
worker's reconciliation tick), then the other two; the platform must have
paid exactly once. An adapter's test serves its fake platform through
``responses`` and turns an answer into :func:`lost_answer` while the
first attempt runs; :func:`settle_after_lost_answer` drives the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from typing import Any

import requests

from aftersales.errors import AfterSalesError, RemoteError, TransientError

__all__ = [
    "FOLLOW_UPS",
    "LOST_ANSWERS",
    "lost_answer",
    "lost_answer_error",
    "settle_after_lost_answer",
]

#: How the answer of an applied refund is lost.
LOST_ANSWERS = ("500", "502-html", "504", "read-timeout", "reset")
#: What comes next.
FOLLOW_UPS = ("refund", "bulk", "tick")

_HTML = {"Content-Type": "text/html; charset=utf-8"}


def lost_answer(mode: str) -> tuple[int, dict[str, str], str] | Exception:
    """A ``responses`` callback's reply for ``mode`` (an exception is raised by ``responses``)."""
    if mode == "500":
        return 500, {"Content-Type": "application/json"}, '{"errors": "Internal Server Error"}'
    if mode == "502-html":
        return 502, _HTML, "<html><body><h1>502 Bad Gateway</h1></body></html>"
    if mode == "504":
        return 504, _HTML, "<html><body><h1>504 Gateway Time-out</h1></body></html>"
    if mode == "read-timeout":
        return requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)")
    if mode == "reset":
        return requests.exceptions.ConnectionError(
            ConnectionResetError(104, "Connection reset by peer"))
    raise ValueError(f"unknown lost answer {mode!r}")


def lost_answer_error(mode: str, adapter: str) -> RemoteError:
    """The error :class:`~aftersales.http.ApiClient` raises for ``mode`` (for simulations)."""
    if mode == "500":
        return RemoteError("server error", adapter=adapter, status=500)
    if mode in ("502-html", "504"):
        return TransientError("server unavailable", adapter=adapter, status=int(mode[:3]))
    if mode == "read-timeout":
        return TransientError("read timed out", adapter=adapter)
    if mode == "reset":
        return TransientError("connection failed", adapter=adapter)
    raise ValueError(f"unknown lost answer {mode!r}")


def _quietly(call: Callable[[], Any]) -> None:
    with suppress(AfterSalesError):  # an unknown outcome, or nothing left: the payments tell
        call()


def settle_after_lost_answer(app: Any, rma_id: str, follow_up: str, *,
                             heal: Callable[[], None]) -> None:
    """Run one cell: the first attempt (answer lost), ``heal()``, ``follow_up``, the others.

    ``follow_up == "bulk"`` makes the first attempt a bulk row too, so the
    follow-up is a true re-run of the same file. The caller then checks
    that the platform paid exactly once.
    """
    row = [{"action": "refund", "rma_id": rma_id}]
    if follow_up == "bulk":
        app.returns.bulk(row)
    else:
        _quietly(lambda: app.returns.refund(rma_id))
    heal()
    later = app.now() + timedelta(minutes=10)
    steps: dict[str, Callable[[], object]] = {
        "refund": lambda: _quietly(lambda: app.returns.refund(rma_id)),
        "bulk": lambda: app.returns.bulk(row),
        "tick": lambda: app.returns.reconcile_refunds(later),
    }
    for name in (follow_up, *[f for f in FOLLOW_UPS if f != follow_up]):
        steps[name]()
