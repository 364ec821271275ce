"""A received exchange is refunded or its replacement ships, never both.

A refund whose answer was lost stays pending: the money may have moved,
so the replacement must not ship meanwhile. And a pending refund of a
request whose replacement did ship (or that was cancelled) is never sent
again when the marketplace has no record of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.errors import InvalidTransitionError, RefundInFlightError, RemoteError
from aftersales.models import Order, ReturnKind, ReturnStatus
from aftersales.store.tables.returns import RefundRow, ReturnRow

from .test_refund_lost_answers import lose_answers, refund_only
from .test_service_actions import open_request


def received_exchange(app: Any, order: Order) -> str:
    req = open_request(app, order, ReturnKind.EXCHANGE)
    rma: str = req.rma_id
    app.returns.approve(rma)
    app.returns.mark_shipped(rma, "SF1234567890123")
    app.returns.receive(rma)
    return rma


def test_a_replacement_does_not_ship_while_a_refund_of_it_is_in_flight(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = received_exchange(synced, fresh_order())
    heal = lose_answers(sandbox, monkeypatch, "504")
    with pytest.raises(RemoteError):
        synced.returns.refund(rma)  # paid, answer lost: pending
    heal()
    shipped = []
    real = sandbox.ship_exchange
    monkeypatch.setattr(sandbox, "ship_exchange",
                        lambda r, s: shipped.append(s) or real(r, s))
    with pytest.raises(RefundInFlightError, match="replacement"):
        synced.returns.ship_exchange(rma, "YT1234567890123")
    assert shipped == []
    assert synced.returns.get(rma).status is ReturnStatus.RECEIVED
    synced.returns.refund(rma)  # settles the lost answer: found paid, not paid again
    assert len(sandbox.refunds_paid) == 1
    assert synced.returns.get(rma).status is ReturnStatus.REFUNDED


def pending_refund_of(app: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
                      rma: str) -> None:
    """A refund of ``rma`` left pending by an answer lost before the marketplace acted."""
    real = sandbox.refund

    def lost_before_acting(refund: Any, request: Any = None) -> Any:
        from aftersales.testing.lost_answers import lost_answer_error
        raise lost_answer_error("read-timeout", "sandbox")

    monkeypatch.setattr(sandbox, "refund", lost_before_acting)
    with pytest.raises(RemoteError):
        app.returns.refund(rma)
    monkeypatch.setattr(sandbox, "refund", real)


@pytest.mark.parametrize("later", ["refund", "tick"])
def test_a_pending_refund_is_not_sent_once_the_request_cannot_be_refunded(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, later: str,
) -> None:
    """The request moved on meanwhile (its replacement shipped, seen by a sync, or the buyer
    withdrew it): the marketplace surely has no such refund, and it is not sent."""
    rma = refund_only(synced, fresh_order())
    pending_refund_of(synced, sandbox, monkeypatch, rma)
    with synced.store.session() as s:  # as a sync would record the buyer's withdrawal
        s.get(ReturnRow, rma).status = ReturnStatus.CANCELLED.value
    if later == "refund":
        with pytest.raises(InvalidTransitionError, match="cancelled"):
            synced.returns.refund(rma)
    else:
        report = synced.returns.reconcile_refunds(synced.runtime.now() + timedelta(minutes=5))
        assert (report.failed, report.pending) == (1, 0)
    assert sandbox.refunds_paid == []
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert row.status == "failed"
        assert "cancelled" in (row.error or "")
