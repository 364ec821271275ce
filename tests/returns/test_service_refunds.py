"""Refunds through the service: previews, idempotency, resumed and failed pushes, caps."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.errors import (
    InvalidTransitionError,
    RemoteRejectedError,
    TransientError,
    ValidationError,
)
from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason, ReturnStatus
from aftersales.money import Money
from aftersales.returns.refunds import paid_by_line
from aftersales.store.tables.returns import RefundRow

S = ReturnStatus
K = ReturnKind
R = ReturnReason


def refund_only(app: Any, order: Order, qty: int = 1, reason: R = R.QUALITY_ISSUE) -> str:
    line = next(ln for ln in order.lines if ln.quantity >= qty)
    req = app.returns.request(order.marketplace, order.external_id,
                              [ReturnLine(order_line_id=line.external_id, quantity=qty,
                                          reason=reason)],
                              kind=K.REFUND_ONLY, evidence=["photo.jpg"], force=True)
    app.returns.approve(req.rma_id, override=True)
    rma: str = req.rma_id
    return rma


def test_preview_moves_no_money(synced: Any, fresh_order: Callable[..., Order],
                                sandbox: Any) -> None:
    order = fresh_order()
    rma = refund_only(synced, order)
    preview = synced.returns.preview_refund(rma)
    paid = paid_by_line(order)[order.lines[0].external_id]
    assert preview.total == Money(paid.amount / order.lines[0].quantity, "CNY").rounded() + (
        order.shipping.rounded())
    assert sandbox.refunds_paid == []
    assert synced.returns.get(rma).status is S.APPROVED


def test_refund_pays_once_and_records_everything(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any, events: list[Any]
) -> None:
    rma = refund_only(synced, fresh_order())
    expected = synced.returns.preview_refund(rma).total
    paid = synced.returns.refund(rma, idempotency_key="desk-7")
    assert paid.amount == expected
    assert paid.external_id is not None
    assert synced.returns.get(rma).status is S.REFUNDED
    assert len(sandbox.refunds_paid) == 1
    assert sandbox.refunds_paid[0].idempotency_key == "desk-7"
    # The same key again: nothing moves, the first refund comes back.
    again = synced.returns.refund(rma, idempotency_key="desk-7")
    assert again.external_id == paid.external_id
    assert len(sandbox.refunds_paid) == 1
    with synced.store.session() as s:
        rows = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).all()
        assert [(r.status, r.idempotency_key) for r in rows] == [("paid", "desk-7")]
    assert [e.name for e in events].count("return.refunded") == 1
    with pytest.raises(ValidationError, match="nothing is left"):
        synced.returns.refund(rma)


def test_a_timeout_after_paying_is_resumed_with_the_same_key(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = refund_only(synced, fresh_order())
    real = sandbox.refund
    calls: list[str] = []

    def flaky(refund: Any, request: Any = None) -> Any:
        calls.append(refund.idempotency_key)
        done = real(refund, request)
        if len(calls) == 1:
            raise TransientError("read timed out", adapter="sandbox")
        return done

    monkeypatch.setattr(sandbox, "refund", flaky)
    with pytest.raises(TransientError):
        synced.returns.refund(rma)
    assert synced.returns.get(rma).status is S.APPROVED
    with synced.store.session() as s:
        assert s.scalar(select(RefundRow.status).where(RefundRow.rma_id == rma)) == "pending"
    # The money may have left: the pending refund counts against the cap.
    assert synced.returns.preview_refund(rma).total.is_zero()
    paid = synced.returns.refund(rma)
    # The second call asked the marketplace first, found the refund, and sent nothing.
    assert calls == [calls[0]]
    assert sandbox.calls["find_refund"] == 1
    assert len(sandbox.refunds_paid) == 1
    assert paid.idempotency_key == calls[0]
    assert synced.returns.get(rma).status is S.REFUNDED


def test_a_refused_refund_is_marked_failed_and_changes_nothing(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = refund_only(synced, fresh_order())

    def refuse(refund: Any, request: Any = None) -> Any:
        raise RemoteRejectedError("card expired", adapter="sandbox", status=422)

    monkeypatch.setattr(sandbox, "refund", refuse)
    with pytest.raises(RemoteRejectedError):
        synced.returns.refund(rma)
    assert synced.returns.get(rma).status is S.APPROVED
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert row.status == "failed"
        assert "card expired" in (row.error or "")
    monkeypatch.undo()
    paid = synced.returns.refund(rma)
    assert paid.idempotency_key.endswith(":2")
    assert synced.returns.get(rma).status is S.REFUNDED


def test_partial_then_top_up_never_exceeds_what_was_paid(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any
) -> None:
    order = fresh_order()
    rma = refund_only(synced, order)
    full = synced.returns.preview_refund(rma).total
    first = synced.returns.refund(rma, amount=Money("10.00", "CNY"))
    assert first.amount == Money("10.00", "CNY")
    top = synced.returns.preview_refund(rma)
    assert top.total == full - Money("10.00", "CNY")
    synced.returns.refund(rma)
    assert synced.returns.preview_refund(rma).total.is_zero()
    assert sum((r.amount for r in sandbox.refunds_paid), Money.zero("CNY")) == full
    with pytest.raises(ValidationError):
        synced.returns.refund(rma, amount=Money("1.00", "CNY"))


def test_two_requests_on_one_line_share_the_cap_and_shipping_once(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any
) -> None:
    order = fresh_order(units=2)
    line = next(ln for ln in order.lines if ln.quantity >= 2)
    paid = paid_by_line(order)[line.external_id]
    total = Money.zero("CNY")
    for _ in range(line.quantity):  # one request per unit
        req = synced.returns.request(
            order.marketplace, order.external_id,
            [ReturnLine(order_line_id=line.external_id, quantity=1, reason=R.WRONG_ITEM)],
            kind=K.REFUND_ONLY, evidence=["p"], force=True)
        synced.returns.approve(req.rma_id, override=True)
        total = total + synced.returns.refund(req.rma_id).amount
    assert total == paid + order.shipping.rounded()
    assert sum((r.shipping.amount if r.shipping else Decimal(0)
                for r in sandbox.refunds_paid), Decimal(0)) == order.shipping.rounded().amount


def test_refund_refused_in_the_wrong_state(synced: Any, fresh_order: Callable[..., Order]) -> None:
    order = fresh_order()
    req = synced.returns.request(order.marketplace, order.external_id,
                                 {order.lines[0].external_id: 1}, reason="no_reason")
    with pytest.raises(InvalidTransitionError):
        synced.returns.refund(req.rma_id)
    synced.returns.approve(req.rma_id)
    with pytest.raises(InvalidTransitionError, match="mark-shipped"):
        synced.returns.refund(req.rma_id)


def test_dry_run_refund_pays_nothing(synced: Any, fresh_order: Callable[..., Order],
                                     sandbox: Any) -> None:
    rma = refund_only(synced, fresh_order())
    would = synced.returns.refund(rma, dry_run=True)
    assert would.amount == synced.returns.preview_refund(rma).total
    assert sandbox.refunds_paid == []
    with synced.store.session() as s:
        assert s.scalars(select(RefundRow)).all() == []


def test_a_key_longer_than_its_column_is_hashed_whole_not_cut(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any
) -> None:
    rma = refund_only(synced, fresh_order())
    long_key = "desk-" + "x" * 300
    paid = synced.returns.refund(rma, idempotency_key=long_key)
    again = synced.returns.refund(rma, idempotency_key=long_key)
    assert again.external_id == paid.external_id
    assert len(sandbox.refunds_paid) == 1
    with synced.store.session() as s:
        stored = s.scalars(select(RefundRow.idempotency_key).where(RefundRow.rma_id == rma)).all()
    assert len(stored) == 1
    assert stored[0].startswith("sha256:")
    assert len(stored[0]) <= 200


def test_a_partial_refund_below_the_shipping_leaves_its_rest_to_the_top_up(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any
) -> None:
    """A goodwill amount smaller than the shipping takes part of the shipping; the top-up
    used to pay the goods but none of the shipping left, so the buyer never got all of it."""
    order = fresh_order(shipping=True)
    rma = refund_only(synced, order)
    full = synced.returns.preview_refund(rma, refund_shipping=True)
    assert full.shipping == order.shipping.rounded()
    synced.returns.refund(rma, amount=Money("0.01", "CNY"), refund_shipping=True)
    rest = synced.returns.refund(rma, refund_shipping=True)
    assert rest.amount == full.total - Money("0.01", "CNY")
    assert sum((r.amount for r in sandbox.refunds_paid), Money.zero("CNY")) == full.total
    assert sum((r.shipping.amount for r in sandbox.refunds_paid if r.shipping),
               Decimal(0)) == order.shipping.rounded().amount
    assert synced.returns.preview_refund(rma, refund_shipping=True).total.is_zero()
