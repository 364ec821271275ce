"""The lost-answer matrix on the sandbox, and an unknown outcome is never a failure.

The sandbox applies the refund and then fails the way ``ApiClient`` fails
for each lost answer; the HTTP adapters run the same matrix through
``responses`` in their own folders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.errors import RemoteError, RemoteRejectedError, ValidationError
from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason, ReturnStatus
from aftersales.store.tables.returns import RefundRow
from aftersales.testing.lost_answers import (
    FOLLOW_UPS,
    LOST_ANSWERS,
    lost_answer_error,
    settle_after_lost_answer,
)


def refund_only(app: Any, order: Order) -> str:
    line = order.lines[0]
    req = app.returns.request(order.marketplace, order.external_id,
                              [ReturnLine(order_line_id=line.external_id, quantity=1,
                                          reason=ReturnReason.QUALITY_ISSUE)],
                              kind=ReturnKind.REFUND_ONLY, evidence=["photo.jpg"], force=True)
    app.returns.approve(req.rma_id, override=True)
    rma: str = req.rma_id
    return rma


def lose_answers(sandbox: Any, monkeypatch: pytest.MonkeyPatch, mode: str) -> Callable[[], None]:
    """Make the sandbox pay and then lose its answer; returns the function that heals it."""
    real = sandbox.refund

    def applied_then_lost(refund: Any, request: Any = None) -> Any:
        real(refund, request)
        raise lost_answer_error(mode, "sandbox")

    monkeypatch.setattr(sandbox, "refund", applied_then_lost)
    return lambda: monkeypatch.setattr(sandbox, "refund", real)


@pytest.mark.parametrize("follow_up", FOLLOW_UPS)
@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_pays_exactly_once(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, mode: str, follow_up: str,
) -> None:
    rma = refund_only(synced, fresh_order())
    heal = lose_answers(sandbox, monkeypatch, mode)
    settle_after_lost_answer(synced, rma, follow_up, heal=heal)
    assert len(sandbox.refunds_paid) == 1
    assert synced.returns.get(rma).status is ReturnStatus.REFUNDED
    with synced.store.session() as s:
        assert s.scalars(select(RefundRow.status).where(RefundRow.rma_id == rma)).all() == [
            "paid"]


@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_an_unknown_outcome_stays_pending_under_its_key(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, mode: str,
) -> None:
    rma = refund_only(synced, fresh_order())
    lose_answers(sandbox, monkeypatch, mode)
    with pytest.raises(RemoteError):
        synced.returns.refund(rma)
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert (row.status, row.attempts, row.lease_until) == ("pending", 1, None)
        assert (row.error or "").startswith("outcome unknown")
    # Another amount while it is unknown: refused, naming the refund in flight.
    from aftersales.errors import RefundInFlightError
    from aftersales.money import Money

    with pytest.raises(RefundInFlightError, match=row.idempotency_key):
        synced.returns.refund(rma, amount=Money("1.00", "CNY"))
    with pytest.raises(RefundInFlightError, match="another key"):
        synced.returns.refund(rma, idempotency_key="desk-2")


def test_only_a_definite_refusal_marks_it_failed(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = refund_only(synced, fresh_order())

    def refuse(refund: Any, request: Any = None) -> Any:
        raise RemoteRejectedError("card expired", adapter="sandbox", status=422)

    monkeypatch.setattr(sandbox, "refund", refuse)
    with pytest.raises(RemoteRejectedError):
        synced.returns.refund(rma, idempotency_key="k-1")
    with synced.store.session() as s:
        assert s.scalar(select(RefundRow.status).where(RefundRow.rma_id == rma)) == "failed"
    # The same key again is the same refused refund, not a new attempt.
    with pytest.raises(ValidationError, match="refused"):
        synced.returns.refund(rma, idempotency_key="k-1")


def test_an_earlier_attempt_found_paid_is_recorded_not_paid_again(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
) -> None:
    """A refund recorded as refused that the platform did pay (an old 5xx): found by its key."""
    rma = refund_only(synced, fresh_order())
    synced.returns.refund(rma, idempotency_key="old-1")
    with synced.store.session() as s:  # as an older release recorded a 500 after paying
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        row.status = "failed"
    with synced.store.session() as s:
        from aftersales.store.tables.returns import ReturnRow
        s.get(ReturnRow, rma).status = "approved"
    got = synced.returns.refund(rma, idempotency_key="new-2")
    assert len(sandbox.refunds_paid) == 1
    assert got.idempotency_key == "old-1"
    assert synced.returns.get(rma).status is ReturnStatus.REFUNDED
    with synced.store.session() as s:
        rows = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)
                         .order_by(RefundRow.id)).all()
        assert [(r.idempotency_key, r.status) for r in rows] == [("old-1", "paid"),
                                                                 ("new-2", "failed")]
        assert "found paid" in (rows[1].error or "")


def test_a_push_inside_a_write_transaction_is_caught(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    no_call_inside_a_write: list[str],
) -> None:
    """The guard every returns test runs under: a push moved into a write fails the test."""
    rma = refund_only(synced, fresh_order())
    instruction = synced.returns.preview_refund(rma).to_refund(fresh_order.__name__, "k")
    with synced.store.session() as s:
        s.get(RefundRow, 1)  # a read: fine
        from aftersales.store.tables.returns import ReturnRow
        s.get(ReturnRow, rma).buyer_note = "x"
        s.flush()  # now a write is open
        with pytest.raises(AssertionError, match="inside a write transaction"):
            sandbox.refund(instruction)
    assert no_call_inside_a_write == ["sandbox CALL refund"]
    no_call_inside_a_write.clear()
    assert sandbox.refunds_paid == []
