"""Refund arithmetic: discount shares, fees, shipping once, partials, caps, properties."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import (
    LineLedger,
    RefundBreakdown,
    RefundLedger,
    compute_refund,
    ledger_from,
    paid_by_line,
    units_value,
)

R = ReturnReason
K = ReturnKind


def cny(x: str) -> Money:
    return Money(x, "CNY")


def identity_holds(b: RefundBreakdown) -> bool:
    return b.total == (b.goods - b.discount_share - b.fees - b.previously_refunded
                       - b.adjustment + b.shipping)


def test_order_discount_is_spread_proportionally(make_order: Callable[..., Order]) -> None:
    order = make_order(discount="25.00")
    assert paid_by_line(order) == {"L1": cny("180.00"), "L2": cny("45.00")}


def test_discount_larger_than_goods_never_makes_a_line_negative(
    make_order: Callable[..., Order],
) -> None:
    order = make_order(discount="999.00")
    assert all(m.is_zero() for m in paid_by_line(order).values())


def test_units_value_adds_up_exactly_in_any_steps() -> None:
    paid = cny("29.00")
    steps = [units_value(paid, 3, n, 1) for n in range(3)]
    assert sum(steps, cny("0")) == paid
    assert units_value(paid, 3, 0, 2) + units_value(paid, 3, 2, 1) == paid
    assert units_value(paid, 3, 3, 1).is_zero()
    assert units_value(paid, 3, 0, 0).is_zero()


def test_full_return_breakdown(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    order = make_order(discount="25.00")
    b = compute_refund(order, [make_line("L1", 1)], kind=K.RETURN, policy=ReturnPolicy())
    assert b.goods == cny("100.00")
    assert b.discount_share == cny("10.00")
    assert b.shipping.is_zero()  # change of mind: no shipping back
    assert b.fees.is_zero()
    assert b.total == cny("90.00")
    assert identity_holds(b)


def test_restocking_fee_only_on_goods_sent_back_for_buyer_reasons(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    policy = ReturnPolicy(restocking_fee_rate=Decimal("0.10"))
    order = make_order()
    ret = compute_refund(order, [make_line("L1", 1)], kind=K.RETURN, policy=policy)
    assert ret.fees == cny("10.00")
    assert ret.total == cny("90.00")
    faulty = compute_refund(order, [make_line("L1", 1, R.QUALITY_ISSUE)], kind=K.RETURN,
                            policy=policy)
    assert faulty.fees.is_zero()
    only = compute_refund(order, [make_line("L1", 1)], kind=K.REFUND_ONLY, policy=policy)
    assert only.fees.is_zero()


def test_mixed_reasons_on_one_line_weight_the_fee_by_units(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    policy = ReturnPolicy(restocking_fee_rate=Decimal("0.10"))
    lines = [make_line("L1", 1, R.NO_REASON), make_line("L1", 1, R.QUALITY_ISSUE)]
    b = compute_refund(make_order(), lines, kind=K.RETURN, policy=policy)
    assert b.lines[0].quantity == 2
    assert b.fees == cny("10.00")


def test_shipping_refunded_once_per_order(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    order = make_order()
    first = compute_refund(order, [make_line("L1", 1, R.WRONG_ITEM)], kind=K.RETURN,
                           policy=ReturnPolicy())
    assert first.shipping == cny("10.00")
    assert first.total == cny("110.00")
    ledger = RefundLedger(shipping_refunded=Decimal("10.00"),
                          lines={"L1": LineLedger(settled_elsewhere=1,
                                                  refunded=Decimal("100.00"))})
    second = compute_refund(order, [make_line("L1", 1, R.WRONG_ITEM)], kind=K.RETURN,
                            policy=ReturnPolicy(), ledger=ledger)
    assert second.shipping.is_zero()
    assert second.total == cny("100.00")
    forced = compute_refund(order, [make_line("L2", 1)], kind=K.RETURN, policy=ReturnPolicy(),
                            ledger=ledger, refund_shipping=True)
    assert forced.shipping.is_zero()
    off = compute_refund(order, [make_line("L1", 1, R.WRONG_ITEM)], kind=K.RETURN,
                         policy=ReturnPolicy(), refund_shipping=False)
    assert off.shipping.is_zero()


def test_partial_refund_takes_from_goods_in_proportion(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    order = make_order()
    lines = [make_line("L1", 1, R.QUALITY_ISSUE), make_line("L2", 1, R.QUALITY_ISSUE)]
    b = compute_refund(order, lines, kind=K.REFUND_ONLY, policy=ReturnPolicy(),
                       amount=cny("40.00"))
    assert b.total == cny("40.00")
    # Full would be 160 (goods 150 + shipping 10): the 120 cut comes from the goods.
    assert b.shipping == cny("10.00")
    assert [ln.amount for ln in b.lines] == [cny("20.00"), cny("10.00")]
    assert b.adjustment == cny("120.00")
    assert b.shipping + sum((ln.amount for ln in b.lines), cny("0")) == b.total
    small = compute_refund(order, lines, kind=K.REFUND_ONLY, policy=ReturnPolicy(),
                           amount=cny("155.00"))
    assert small.shipping == cny("10.00")
    assert small.total == cny("155.00")
    assert identity_holds(b)
    assert identity_holds(small)


def test_partial_refund_below_shipping_leaves_goods_at_zero(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    b = compute_refund(make_order(), [make_line("L2", 1, R.WRONG_ITEM)], kind=K.REFUND_ONLY,
                       policy=ReturnPolicy(), amount=cny("4.00"))
    assert b.total == cny("4.00")
    assert b.shipping == cny("4.00")
    assert b.lines[0].amount.is_zero()


@pytest.mark.parametrize(
    ("amount", "match"),
    [(cny("1000.00"), "at most 100.00 CNY"), (Money("1", "USD"), "not USD"),
     (cny("-1"), "negative")],
)
def test_bad_partial_amounts_are_refused(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine],
    amount: Money, match: str,
) -> None:
    with pytest.raises(ValidationError, match=match) as err:
        compute_refund(make_order(), [make_line("L1", 1)], kind=K.RETURN,
                       policy=ReturnPolicy(), amount=amount)
    assert err.value.field == "amount"


def test_top_up_pays_only_the_difference(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    ledger = RefundLedger(lines={"L1": LineLedger(refunded=Decimal("30"),
                                                  refunded_here=Decimal("30"))})
    b = compute_refund(make_order(), [make_line("L1", 1)], kind=K.REFUND_ONLY,
                       policy=ReturnPolicy(), ledger=ledger)
    assert b.previously_refunded == cny("30.00")
    assert b.total == cny("70.00")
    assert identity_holds(b)


def test_cap_keeps_a_line_within_what_was_paid(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    # Another request already paid 190 of the 200 for L1 (a generous partial).
    ledger = RefundLedger(lines={"L1": LineLedger(settled_elsewhere=1,
                                                  refunded=Decimal("190"))})
    b = compute_refund(make_order(), [make_line("L1", 1)], kind=K.RETURN,
                       policy=ReturnPolicy(), ledger=ledger)
    assert b.total == cny("10.00")
    assert b.adjustment == cny("90.00")
    assert identity_holds(b)


def test_unknown_line_is_refused(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    with pytest.raises(ValidationError, match="L7 is not in order O-1"):
        compute_refund(make_order(), [make_line("L7", 1)], kind=K.RETURN, policy=ReturnPolicy())


def test_to_refund_carries_lines_and_key(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    b = compute_refund(make_order(), [make_line("L1", 1, R.WRONG_ITEM)], kind=K.RETURN,
                       policy=ReturnPolicy())
    refund = b.to_refund("O-1", "rma-1:refund:1", note="sorry")
    assert refund.amount == cny("110.00")
    assert refund.shipping == cny("10.00")
    assert refund.lines[0].order_line_id == "L1"
    assert refund.lines[0].amount == cny("100.00")
    assert refund.idempotency_key == "rma-1:refund:1"


def test_ledger_from_counts_top_up_units_once(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> None:
    rows = [("A", "L1", 1, Decimal("20")), ("A", "L1", 1, Decimal("70")),
            ("B", "L1", 1, Decimal("90")), ("B", "L2", 1, Decimal("45"))]
    ledger = ledger_from(rows, "B", {"A": Decimal("10")})
    assert ledger.line("L1") == LineLedger(settled_elsewhere=1, refunded=Decimal("180"),
                                           refunded_here=Decimal("90"), units_here=1)
    assert ledger.line("L2").settled_elsewhere == 0
    assert ledger.shipping_refunded == Decimal("10")
    assert ledger.line("L9") == LineLedger()
    # Once its units are named, a top-up of B names none again (the money is still due).
    again = compute_refund(
        make_order(), [make_line("L1", 1)], kind=K.REFUND_ONLY, policy=ReturnPolicy(),
        ledger=ledger_from([("B", "L1", 1, Decimal("30")), ("B", "L1", 0, Decimal("10"))],
                           "B", {}))
    assert [(ln.order_line_id, ln.quantity) for ln in again.lines] == [("L1", 0)]
    assert again.total == cny("60.00")


# ------------------------------------------------------------------ properties

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
reasons = st.sampled_from(list(ReturnReason))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_no_sequence_of_refunds_pays_more_than_was_paid(
    data: st.DataObject, make_order: Callable[..., Order]
) -> None:
    n_lines = data.draw(st.integers(1, 4), label="lines")
    specs = [
        (f"L{i}", f"SKU{i}", data.draw(st.integers(1, 5)), str(data.draw(prices)))
        for i in range(n_lines)
    ]
    order = make_order(
        lines=specs,
        discount=str(data.draw(st.decimals(min_value=0, max_value=300, places=2))),
        shipping=str(data.draw(st.decimals(min_value=0, max_value=30, places=2))),
    )
    policy = ReturnPolicy(restocking_fee_rate=data.draw(
        st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.333")])))
    paid = paid_by_line(order)
    rows: list[tuple[str, str, int, Decimal]] = []
    shipping_by: dict[str, Decimal] = {}
    n_requests = data.draw(st.integers(1, 6), label="requests")
    for r in range(n_requests):
        rma = f"R{r}"
        picked = data.draw(st.lists(st.sampled_from(specs), min_size=1, max_size=3,
                                    unique_by=lambda s: s[0]))
        lines = [ReturnLine(order_line_id=lid, quantity=data.draw(st.integers(1, q)),
                            reason=data.draw(reasons)) for lid, _, q, _ in picked]
        kind = data.draw(st.sampled_from(list(ReturnKind)))
        # Each request may be refunded several times: partials, then top-ups.
        for _ in range(data.draw(st.integers(1, 3))):
            ledger = ledger_from(rows, rma, shipping_by)
            full = compute_refund(order, lines, kind=kind, policy=policy, ledger=ledger,
                                  shipping_refunded_here=shipping_by.get(rma, Decimal(0)))
            assert identity_holds(full)
            amount = None
            if data.draw(st.booleans()) and full.total.amount > 0:
                amount = Money(data.draw(st.decimals(min_value=0, max_value=full.total.amount,
                                                     places=2)), order.currency)
            b = compute_refund(order, lines, kind=kind, policy=policy, ledger=ledger,
                               amount=amount,
                               shipping_refunded_here=shipping_by.get(rma, Decimal(0)))
            assert identity_holds(b)
            assert all(ln.amount.amount >= 0 for ln in b.lines)
            assert b.shipping.amount >= 0
            for ln in b.lines:
                rows.append((rma, ln.order_line_id, ln.quantity, ln.amount.amount))
            if b.shipping:
                shipping_by[rma] = shipping_by.get(rma, Decimal(0)) + b.shipping.amount

    for lid, _, _, _ in specs:
        refunded = sum((amt for _, line, _, amt in rows if line == lid), Decimal(0))
        assert refunded <= paid[lid].amount, (lid, refunded, paid[lid])
    assert sum(shipping_by.values(), Decimal(0)) <= order.shipping.amount
    assert len([v for v in shipping_by.values() if v]) <= 1
    total = sum((amt for *_, amt in rows), Decimal(0)) + sum(shipping_by.values(), Decimal(0))
    assert total <= sum((p.amount for p in paid.values()), order.shipping.amount)
