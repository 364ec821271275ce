"""A marketplace that answers "paid" for another amount or currency than was asked.

The money moved, so the refund is recorded paid (its key never pays
again), at the amount the marketplace says it paid, and the call raises
naming both amounts instead of reporting the amount asked for as paid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.errors import ResponseParseError, ValidationError
from aftersales.models import Order, ReturnStatus
from aftersales.money import Money
from aftersales.store.tables.returns import RefundRow

from .test_refund_lost_answers import refund_only


def answer_with(sandbox: Any, monkeypatch: pytest.MonkeyPatch,
                change: Callable[[Money], Money]) -> None:
    """The sandbox pays what it is asked, then answers with ``change(amount)``."""
    real = sandbox.refund

    def pays_then_says(refund: Any, request: Any = None) -> Any:
        done = real(refund, request)
        return done.model_copy(update={"amount": change(done.amount)})

    monkeypatch.setattr(sandbox, "refund", pays_then_says)


def test_a_success_for_another_amount_is_recorded_at_that_amount_and_raises(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = refund_only(synced, fresh_order())
    asked = synced.returns.preview_refund(rma).total
    less = asked - Money("1.00", "CNY")
    answer_with(sandbox, monkeypatch, lambda m: m - Money("1.00", m.currency))
    with pytest.raises(ResponseParseError, match=f"paid {less.amount} CNY for a refund of "
                                                f"{asked.amount} CNY"):
        synced.returns.refund(rma, idempotency_key="k-1")
    assert len(sandbox.refunds_paid) == 1
    assert synced.returns.get(rma).status is ReturnStatus.REFUNDED
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert (row.status, row.amount) == ("paid", less.amount)
        assert "refund of" in (row.error or "")
    # The same key again: the refund as recorded, at what the marketplace paid; nothing sent.
    again = synced.returns.refund(rma, idempotency_key="k-1")
    assert again.amount == less
    assert len(sandbox.refunds_paid) == 1


def test_a_success_in_another_currency_is_recorded_paid_and_raises(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rma = refund_only(synced, fresh_order())
    asked = synced.returns.preview_refund(rma).total
    answer_with(sandbox, monkeypatch, lambda m: Money(m.amount, "USD"))
    with pytest.raises(ResponseParseError, match="USD"):
        synced.returns.refund(rma)
    assert len(sandbox.refunds_paid) == 1
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert (row.status, row.amount, row.currency) == ("paid", asked.amount, "CNY")
        assert "USD" in (row.error or "")
    # Nothing is left to pay on the request: no second payment under a new key.
    with pytest.raises(ValidationError, match="nothing is left"):
        synced.returns.refund(rma, idempotency_key="k-2")
    assert len(sandbox.refunds_paid) == 1


def test_a_rounding_difference_is_recorded_at_the_marketplaces_figure_without_error(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One minor unit per line (and shipping) is the marketplace's own rounding of the
    same refund (Shopify pays what its refunds/calculate suggests)."""
    rma = refund_only(synced, fresh_order())
    asked = synced.returns.preview_refund(rma).total
    answer_with(sandbox, monkeypatch, lambda m: m - Money("0.01", m.currency))
    got = synced.returns.refund(rma)
    assert got.amount == asked - Money("0.01", "CNY")
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert (row.status, row.amount, row.error) == ("paid", got.amount.amount, None)


def test_the_tick_settles_a_lost_answer_found_paid_for_another_amount_and_reports_it(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from aftersales.errors import RemoteError

    from .test_refund_lost_answers import lose_answers

    rma = refund_only(synced, fresh_order())
    asked = synced.returns.preview_refund(rma).total
    heal = lose_answers(sandbox, monkeypatch, "500")
    with pytest.raises(RemoteError):
        synced.returns.refund(rma)
    heal()
    found = sandbox.find_refund

    def found_for_less(refund: Any, request: Any = None, **kw: Any) -> Any:
        done = found(refund, request, **kw)
        return done.model_copy(update={"amount": done.amount - Money("2.00", "CNY")})

    monkeypatch.setattr(sandbox, "find_refund", found_for_less)
    report = synced.returns.reconcile_refunds(synced.runtime.now() + timedelta(minutes=5))
    assert (report.settled, report.failed, report.pending) == (1, 1, 0)
    assert "for a refund of" in next(iter(report.reasons.values()))
    assert len(sandbox.refunds_paid) == 1
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert (row.status, row.amount) == ("paid", (asked - Money("2.00", "CNY")).amount)


def _ledger_of(synced: Any, rma: str) -> tuple[RefundRow, Money]:
    """The refund row of ``rma`` and what its lines and shipping add up to."""
    from decimal import Decimal

    from aftersales.returns.refunds import RefundBreakdown

    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        told = RefundBreakdown.model_validate(row.breakdown)
        parts = sum((ln.amount for ln in row.lines), Decimal(0)) + row.shipping
        if not told.taxes_included:
            parts += told.shipping_tax.amount
        assert told.total.amount == row.amount  # the stored breakdown says what was paid
        assert [ln.amount.amount for ln in told.lines] == [ln.amount for ln in row.lines]
        assert told.shipping.amount == row.shipping
        s.expunge(row)
        return row, Money(parts, row.currency)


@pytest.mark.parametrize("difference", ["-3.00", "0.50"])
def test_the_ledger_counts_what_the_marketplace_paid_not_what_was_asked(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch, difference: str,
) -> None:
    """Paid 3.00 less (or 0.50 more) than asked, over the goods and the shipping: the
    refund's lines and shipping add up to what was paid, so the caps and top-ups of later
    refunds count the money that moved: the 3.00 not paid is still due on the request."""
    from aftersales.models import ReturnKind, ReturnLine, ReturnReason

    order = fresh_order(shipping=True)
    req = synced.returns.request(
        order.marketplace, order.external_id,
        [ReturnLine(order_line_id=ln.external_id, quantity=1,
                    reason=ReturnReason.QUALITY_ISSUE) for ln in order.lines[:2]],
        kind=ReturnKind.REFUND_ONLY, evidence=["photo.jpg"], force=True)
    rma = req.rma_id
    synced.returns.approve(rma, override=True)
    asked = synced.returns.preview_refund(rma, refund_shipping=True).total
    paid = asked + Money(difference, "CNY")
    answer_with(sandbox, monkeypatch, lambda m: m + Money(difference, m.currency))
    with pytest.raises(ResponseParseError, match=f"paid {paid.amount} CNY"):
        synced.returns.refund(rma, refund_shipping=True, idempotency_key="k-1")
    row, parts = _ledger_of(synced, rma)
    assert (row.status, row.amount) == ("paid", paid.amount)
    assert parts == paid
    left = synced.returns.preview_refund(rma, refund_shipping=True).total
    assert left == max(asked - paid, Money.zero("CNY"))


def test_a_top_ups_rounding_is_no_mismatch() -> None:
    """A top-up's lines name no units (they were named before) but still pay money: the
    marketplace's rounding of a minor unit per line is allowed for them too."""
    from aftersales.models import Refund, RefundLine
    from aftersales.returns.refund_settle import mismatch

    top_up = Refund(order_id="O-1", amount=Money("60.02", "CNY"), idempotency_key="k",
                    lines=[RefundLine(order_line_id="L1", quantity=0,
                                      amount=Money("30.01", "CNY")),
                           RefundLine(order_line_id="L2", quantity=0,
                                      amount=Money("30.01", "CNY"))])
    assert mismatch(top_up, Money("60.00", "CNY")) is None
    assert mismatch(top_up, Money("59.99", "CNY")) is not None


def test_a_cent_more_than_asked_is_a_mismatch(
    synced: Any, fresh_order: Callable[..., Order], sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rounding allowance works downwards only: a marketplace that paid even one minor
    unit more than asked paid out what was kept back (a fee, a partial amount), and a
    person must see it (recorded paid at the marketplace's figure, AMOUNT_MISMATCH)."""
    rma = refund_only(synced, fresh_order())
    asked = synced.returns.preview_refund(rma).total
    answer_with(sandbox, monkeypatch, lambda m: m + Money("0.01", m.currency))
    more = asked + Money("0.01", "CNY")
    with pytest.raises(ResponseParseError, match=f"paid {more.amount} CNY"):
        synced.returns.refund(rma)
    with synced.store.session() as s:
        row = s.scalars(select(RefundRow).where(RefundRow.rma_id == rma)).one()
        assert (row.status, row.amount) == ("paid", more.amount)
        assert "for a refund of" in (row.error or "")
