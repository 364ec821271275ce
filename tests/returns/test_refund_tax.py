"""Refund arithmetic with tax and currencies: tax capped like goods, currencies never mixed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import AfterSalesError, CurrencyMismatchError, ValidationError
from aftersales.models import Buyer, Order, OrderLine, ReturnKind, ReturnLine, ReturnReason, TaxLine
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import RefundBreakdown, compute_refund, ledger_from, refund_total

AT = datetime(2026, 1, 1, tzinfo=UTC)


def usd(x: str) -> Money:
    return Money(x, "USD")


def taxed_order(specs: list[tuple[str, int, str, str]], *, shipping: str = "0",
                shipping_tax: str = "0", included: bool = False, discount: str = "0",
                currency: str = "USD") -> Order:
    """``specs`` are ``(line_id, quantity, unit_price, line_tax)``; ``total`` is what was paid."""
    cur = currency
    lines = [OrderLine(external_id=lid, sku=lid, quantity=q, unit_price=Money(p, cur),
                       taxes=[TaxLine(amount=Money(t, cur), rate_id="1")] if Decimal(t) else [])
             for lid, q, p, t in specs]
    goods = sum((ln.net for ln in lines), Money.zero(cur)) - Money(discount, cur)
    goods = max(goods, Money.zero(cur))
    ship = Money(shipping, cur)
    tax = sum((ln.tax for ln in lines), Money(shipping_tax, cur))
    total = goods + ship + (Money.zero(cur) if included else tax)
    return Order(
        marketplace="shop", external_id="T-1", buyer=Buyer(external_id="b"), currency=cur,
        lines=lines, shipping=ship, discount=Money(discount, cur), total=total,
        placed_at=AT, updated_at=AT, taxes_included=included,
        shipping_taxes=[TaxLine(amount=Money(shipping_tax, cur), rate_id="1")]
        if Decimal(shipping_tax) else [],
    )


def refund(order: Order, units: dict[str, int], **kw: object) -> RefundBreakdown:
    lines = [ReturnLine(order_line_id=k, quantity=v) for k, v in units.items()]
    return compute_refund(order, lines, kind=ReturnKind.RETURN, policy=ReturnPolicy(),
                          **kw)  # type: ignore[arg-type]


def identity_holds(b: RefundBreakdown) -> bool:
    added = b.tax + b.shipping_tax if not b.taxes_included else Money.zero(b.currency)
    return b.total == (b.goods - b.discount_share - b.fees - b.previously_refunded
                       - b.adjustment + b.shipping + added)


# ---------------------------------------------------------------- currencies


def test_adding_money_of_two_currencies_raises() -> None:
    with pytest.raises(CurrencyMismatchError, match="USD with CAD"):
        usd("1") + Money("1", "CAD")
    assert issubclass(CurrencyMismatchError, ValidationError)
    assert issubclass(CurrencyMismatchError, AfterSalesError)
    assert issubclass(CurrencyMismatchError, ValueError)


def test_an_order_mixing_currencies_is_refused() -> None:
    order = taxed_order([("L1", 1, "10.00", "1.00")])
    line = order.lines[0].model_copy(update={"taxes": [TaxLine(amount=Money("1.00", "CAD"))]})
    with pytest.raises(pydantic.ValidationError, match="is in USD but has an amount in CAD"):
        Order.model_validate({**order.model_dump(), "lines": [line.model_dump()]})


def test_a_refund_amount_in_another_currency_is_refused() -> None:
    order = taxed_order([("L1", 1, "10.00", "1.00")])
    with pytest.raises(ValidationError, match="order is in USD, not CAD"):
        refund(order, {"L1": 1}, amount=Money("5.00", "CAD"))


# ---------------------------------------------------------------- tax on top / inside


def test_tax_on_top_is_added_and_capped_per_line() -> None:
    order = taxed_order([("L1", 3, "10.00", "2.00"), ("L2", 1, "5.00", "0.50")],
                        shipping="4.00", shipping_tax="0.40")
    full = refund(order, {"L1": 3, "L2": 1}, refund_shipping=True)
    assert full.total == order.total == usd("41.90")
    assert (full.tax, full.shipping_tax, full.total_tax) == (usd("2.50"), usd("0.40"),
                                                             usd("2.90"))
    assert identity_holds(full)
    one = refund(order, {"L1": 1})
    assert (one.total, one.total_tax) == (usd("10.67"), usd("0.67"))  # 2.00 / 3, half-up


def test_tax_inside_is_reported_not_added() -> None:
    order = taxed_order([("L1", 2, "11.90", "3.80")], shipping="5.95", shipping_tax="0.95",
                        included=True)
    full = refund(order, {"L1": 2}, refund_shipping=True)
    assert full.total == order.total == usd("29.75")
    assert full.total_tax == usd("4.75")
    assert identity_holds(full)


def test_a_second_request_cannot_refund_the_tax_again() -> None:
    order = taxed_order([("L1", 1, "10.00", "1.00")])
    first = refund(order, {"L1": 1})
    assert first.total == usd("11.00")
    # Another request already paid the whole line, goods and tax, as money only
    # (no unit settled): only the cap stands between the buyer and a second 11.00.
    rows = [("A", "L1", 0, first.lines[0].amount.amount)]
    again = refund(order, {"L1": 1}, ledger=ledger_from(rows, "B", {}))
    assert again.total.is_zero()
    assert again.adjustment == usd("11.00")


def test_the_tax_inside_a_capped_line_shrinks_with_it() -> None:
    order = taxed_order([("L1", 1, "10.00", "1.00")])
    rows = [("A", "L1", 0, Decimal("5.50"))]  # half was already paid back by another request
    b = refund(order, {"L1": 1}, ledger=ledger_from(rows, "B", {}))
    assert (b.total, b.total_tax, b.adjustment) == (usd("5.50"), usd("0.50"), usd("5.50"))
    assert identity_holds(b)


# ---------------------------------------------------------------- property


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)
rates = st.sampled_from([Decimal(0), Decimal("0.05"), Decimal("0.0725"), Decimal("0.2")])


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_refunding_every_unit_in_any_steps_pays_exactly_what_was_paid(
    data: st.DataObject,
) -> None:
    included = data.draw(st.booleans(), label="taxes_included")
    specs = []
    for i in range(data.draw(st.integers(1, 4), label="lines")):
        qty, price, rate = data.draw(st.integers(1, 5)), data.draw(prices), data.draw(rates)
        tax = (price * qty * rate).quantize(Decimal("0.01"))
        specs.append((f"L{i}", qty, str(price), str(tax)))
    ship = data.draw(st.decimals(min_value=0, max_value=30, places=2))
    order = taxed_order(specs, shipping=str(ship), included=included,
                        shipping_tax=str((ship * Decimal("0.1")).quantize(Decimal("0.01"))),
                        discount=str(data.draw(st.decimals(min_value=0, max_value=50,
                                                           places=2))))
    left = {lid: q for lid, q, _, _ in specs}
    rows: list[tuple[str, str, int, Decimal]] = []
    shipping_by: dict[str, Decimal] = {}
    paid_total = Money.zero("USD")
    paid_tax = Money.zero("USD")
    step = 0
    while any(left.values()):
        rma = f"R{step}"
        step += 1
        units = {lid: data.draw(st.integers(1, n)) for lid, n in left.items() if n
                 and data.draw(st.booleans())} or {next(k for k, v in left.items() if v): 1}
        b = refund(order, units, refund_shipping=True,
                   ledger=ledger_from(rows, rma, shipping_by))
        assert identity_holds(b)
        for ln in b.lines:
            rows.append((rma, ln.order_line_id, ln.quantity, ln.amount.amount))
            left[ln.order_line_id] -= ln.quantity
        if b.shipping or b.shipping_tax:
            shipping_by[rma] = b.shipping.amount or Decimal("0.01")
        paid_total += b.total
        paid_tax += b.total_tax
    if not shipping_by:  # a free, untaxed shipping was never due
        assert order.shipping.is_zero()
        assert order.shipping_tax.is_zero()
    assert paid_total == order.total
    if not included:  # tax on top is money of its own: every cent of it goes back
        assert paid_tax == order.tax
    else:  # tax inside is reported per unit, never more than was inside
        assert paid_tax <= order.tax


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_total_alone_is_the_breakdowns_total_written_the_same_way(
    data: st.DataObject,
) -> None:
    """``refund_total`` (what the auto-approve rules read) equals ``compute_refund``'s total:
    the same amount with the same digits (it is quoted in the audit row's reason)."""
    included = data.draw(st.booleans(), label="taxes_included")
    specs = []
    for i in range(data.draw(st.integers(1, 4), label="lines")):
        qty, price, rate = data.draw(st.integers(1, 5)), data.draw(prices), data.draw(rates)
        tax = (price * qty * rate).quantize(Decimal("0.01"))
        specs.append((f"L{i}", qty, str(price), str(tax)))
    ship = data.draw(st.decimals(min_value=0, max_value=30, places=2))
    order = taxed_order(specs, shipping=str(ship), included=included,
                        shipping_tax=str((ship * Decimal("0.1")).quantize(Decimal("0.01"))),
                        discount=str(data.draw(st.decimals(min_value=0, max_value=50,
                                                           places=2))))
    reasons = list(ReturnReason)
    lines = [ReturnLine(order_line_id=data.draw(st.sampled_from([s[0] for s in specs])),
                        quantity=data.draw(st.integers(1, 6)),
                        reason=data.draw(st.sampled_from(reasons)))
             for _ in range(data.draw(st.integers(1, 4), label="request lines"))]
    policy = ReturnPolicy(restocking_fee_rate=data.draw(rates),
                          restocking_fee_reasons=frozenset(data.draw(
                              st.lists(st.sampled_from(reasons), max_size=3))),
                          shipping_refund_reasons=frozenset(data.draw(
                              st.lists(st.sampled_from(reasons), max_size=3))))
    kind = data.draw(st.sampled_from(list(ReturnKind)))
    whole = compute_refund(order, lines, kind=kind, policy=policy).total
    alone = refund_total(order, lines, kind=kind, policy=policy)
    assert (str(alone.amount), alone.currency) == (str(whole.amount), whole.currency)


def test_the_total_alone_refuses_a_line_the_order_lacks() -> None:
    order = taxed_order([("L1", 1, "10.00", "1.00")])
    with pytest.raises(ValidationError):
        refund_total(order, [ReturnLine(order_line_id="L9", quantity=1, reason=ReturnReason.OTHER)],
                     kind=ReturnKind.RETURN, policy=ReturnPolicy())


# ---------------------------------------------------------------- partial refunds and top-ups


@pytest.mark.parametrize("included", [False, True], ids=["tax-on-top", "tax-inside"])
@pytest.mark.parametrize(("price", "tax"), [("1.00", "0.01"), ("0.98", "0.02"),
                                             ("3.00", "0.07"), ("2.00", "0.15")])
def test_partial_refunds_then_a_top_up_never_report_more_tax_than_was_paid(
    included: bool, price: str, tax: str,
) -> None:
    """Each partial refund's tax is rounded half-up on its own share; rounded
    cumulatively, a request paid back in steps reports exactly the line's tax
    (two halves of 0.01 tax reported 0.01 each before: 0.02 told as tax refunded)."""
    order = taxed_order([("L1", 1, price, tax)], included=included)
    full = refund(order, {"L1": 1})
    cent = Decimal("0.01")
    for first in range(1, int(full.total.amount / cent)):
        for second in (None, 1):  # a top-up of the rest, or of one cent then the rest
            steps = [Money(first * cent, "USD")]
            if second is not None and first + second < full.total.amount / cent:
                steps.append(Money(second * cent, "USD"))
            steps.append(None)  # type: ignore[arg-type]
            rows: list[tuple[str, str, int, Decimal]] = []
            told = Money.zero("USD")
            paid = Money.zero("USD")
            for amount in steps:
                b = refund(order, {"L1": 1}, amount=amount, ledger=ledger_from(rows, "R1", {}))
                rows.append(("R1", "L1", 1, b.lines[0].amount.amount))
                told += b.total_tax
                paid += b.total
            assert paid == full.total
            assert told == full.total_tax, (first, second)


def test_an_order_too_large_to_round_is_a_validation_error_not_a_decimal_trap() -> None:
    """An order a backend built with 1e30 (no wire bound on its way in): refund arithmetic
    raised decimal.InvalidOperation from quantize; it is a one-line ValidationError."""
    order = taxed_order([("L1", 1, "1e30", "0")])
    line = [ReturnLine(order_line_id="L1", quantity=1)]
    with pytest.raises(ValidationError, match="beyond any amount"):
        refund(order, {"L1": 1})
    with pytest.raises(ValidationError, match="beyond any amount"):
        refund_total(order, line, kind=ReturnKind.RETURN, policy=ReturnPolicy())


@pytest.mark.parametrize("included", [False, True], ids=["tax-on-top", "tax-inside"])
@pytest.mark.parametrize("first", ["5.00", "0.01", "10.99"])
def test_a_partial_refund_of_the_shipping_leaves_the_rest_of_it_to_the_top_up(
    included: bool, first: str,
) -> None:
    """A goodwill partial refund below the shipping alone takes it from the shipping; the
    top-up then paid the goods but none of the shipping left (refunded "once per order"),
    so refunding everything fell short of what the buyer paid."""
    order = taxed_order([("L1", 1, "100.00", "10.00")], shipping="10.00",
                        shipping_tax="1.00", included=included)
    full = refund(order, {"L1": 1}, refund_shipping=True)
    a = refund(order, {"L1": 1}, refund_shipping=True, amount=usd(first))
    assert a.total == usd(first)
    rows = [("R1", "L1", 1, a.lines[0].amount.amount)]
    ledger = ledger_from(rows, "R1", {"R1": a.shipping.amount},
                         shipping_tax={"R1": a.shipping_tax.amount})
    b = refund(order, {"L1": 1}, refund_shipping=True, ledger=ledger,
               shipping_refunded_here=a.shipping.amount)
    assert a.total + b.total == full.total == order.total
    assert a.total_tax + b.total_tax == full.total_tax
    assert a.shipping + b.shipping == full.shipping
    assert a.shipping_tax + b.shipping_tax == full.shipping_tax
    # and nothing more after that, for this request or another
    rows.append(("R1", "L1", 1, b.lines[0].amount.amount))
    for rma in ("R1", "R2"):
        again = refund(order, {"L1": 1}, refund_shipping=True, ledger=ledger_from(
            rows, rma, {"R1": a.shipping.amount + b.shipping.amount},
            shipping_tax={"R1": a.shipping_tax.amount + b.shipping_tax.amount}),
            shipping_refunded_here=(a.shipping + b.shipping).amount if rma == "R1" else 0)
        assert again.total.is_zero(), rma


# ---------------------------------------------------------------- what the marketplace paid


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.integers(min_value=0, max_value=40000),
       st.sampled_from(["0", "7.35"]), st.sampled_from(["0", "0.59"]))
def test_a_refund_recorded_at_what_was_paid_adds_up_to_it(
        included: bool, cents: int, shipping: str, shipping_tax: str) -> None:
    """Whatever the marketplace paid, the breakdown recorded for it adds up to it, part by
    part, keeps the breakdown's identity, and never tells more tax than a part carries."""
    from aftersales.returns.refunds import as_paid

    order = taxed_order([("L1", 2, "19.99", "3.20"), ("L2", 1, "5.00", "0.41")],
                        shipping=shipping, shipping_tax=shipping_tax, included=included)
    asked = refund(order, {"L1": 2, "L2": 1}, refund_shipping=True)
    paid = usd(f"{cents / 100:.2f}")
    got = as_paid(asked, paid)
    ship = got.shipping if included else got.shipping + got.shipping_tax
    assert got.total == paid
    assert sum((ln.amount for ln in got.lines), ship) == paid
    assert identity_holds(got)
    assert got.shipping_tax <= asked.shipping_tax
    for before, after in zip(asked.lines, got.lines, strict=True):
        assert after.amount_tax <= before.amount_tax
        assert after.amount_tax <= after.amount or after.amount.is_zero()
    assert as_paid(asked, asked.total) == asked
    assert as_paid(asked, Money(paid.amount, "CAD")) == asked
