"""Refunds the platform reports count once: the library's own by their platform id, others added.

The rule: every refund on the order, whoever made it, is subtracted from
what is left exactly once. The library's own refunds are already in its
ledger (from the store); the platform lists them again on the order once it
is re-synced, and they are recognised there by the platform's refund id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.models import (
    Buyer,
    Order,
    OrderLine,
    PlatformRefund,
    RefundedLine,
    ReturnKind,
    ReturnLine,
)
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import (
    RefundLedger,
    compute_refund,
    ledger_from,
    units_value,
    with_outside,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _order(quantity: int, unit: str, refunds: list[PlatformRefund], shipping: str = "0",
           total: str | None = None) -> Order:
    goods = Decimal(unit) * quantity
    return Order(
        marketplace="shop", external_id="1001", buyer=Buyer(external_id="b1"), currency="USD",
        lines=[OrderLine(external_id="L1", sku="S1", quantity=quantity,
                         unit_price=Money(unit, "USD"))],
        shipping=Money(shipping, "USD"), discount=Money("0", "USD"),
        total=Money(total or str(goods + Decimal(shipping)), "USD"),
        placed_at=T0, updated_at=T0, refunds=refunds,
    )


def _listed(rid: str, units: int, amount: Money) -> PlatformRefund:
    return PlatformRefund(external_id=rid, amount=amount, created_at=T0, lines=[
        RefundedLine(order_line_id="L1", quantity=units, amount=amount)])


def _left(order: Order, ledger: RefundLedger) -> Money:
    line = order.lines[0]
    return compute_refund(order, [ReturnLine(order_line_id="L1", quantity=line.quantity)],
                          kind=ReturnKind.REFUND_ONLY, policy=ReturnPolicy(),
                          ledger=ledger).total


# ---------------------------------------------------------------- a table


def _table_ledger(own_ids: set[str]) -> tuple[Order, RefundLedger]:
    # Line of 4 x 25.00. The library paid 1 unit (platform id R-own); someone
    # refunded 1 unit in the admin (R-admin); the platform lists both.
    order = _order(4, "25.00", [_listed("R-own", 1, Money("25.00", "USD")),
                                _listed("R-admin", 1, Money("25.00", "USD"))])
    base = ledger_from([("RMA-1", "L1", 1, Decimal("25.00"))], "RMA-2", {"RMA-1": Decimal(0)})
    base = base.model_copy(update={"order_refunded": Decimal("25.00")})
    return order, with_outside(base, order.refunds, own_ids)


def test_own_refund_listed_by_the_platform_is_not_counted_again() -> None:
    order, ledger = _table_ledger({"R-own"})
    assert ledger.outside == ("R-admin",)
    assert ledger.line("L1").settled_elsewhere == 2
    assert ledger.line("L1").refunded == Decimal("50.00")
    assert _left(order, ledger) == Money("50.00", "USD")  # two units of four are left


def test_a_refund_made_in_the_admin_is_counted() -> None:
    order = _order(4, "25.00", [_listed("R-admin", 1, Money("25.00", "USD"))])
    ledger = with_outside(RefundLedger(), order.refunds, set())
    assert _left(order, ledger) == Money("75.00", "USD")


def test_an_amount_only_refund_elsewhere_caps_the_order() -> None:
    # 10.00 refunded on the platform without naming a line or the shipping.
    order = _order(2, "20.00", [PlatformRefund(external_id="R-x", amount=Money("10.00", "USD"),
                                               other=Money("10.00", "USD"))], shipping="5.00")
    ledger = with_outside(RefundLedger(), order.refunds, set())
    b = compute_refund(order, [ReturnLine(order_line_id="L1", quantity=2)],
                       kind=ReturnKind.REFUND_ONLY, policy=ReturnPolicy(), ledger=ledger,
                       refund_shipping=True)
    assert b.total == Money("35.00", "USD")  # 45.00 paid, 10.00 gone already
    assert b.shipping == Money("5.00", "USD")  # the cut comes from the goods first


# ---------------------------------------------------------------- a property


refund_kinds = st.sampled_from(["own-listed", "own-not-yet-synced", "admin"])


@settings(max_examples=200, deadline=None)
@given(quantity=st.integers(1, 6), cents=st.integers(1, 99_999),
       refunds=st.lists(st.tuples(refund_kinds, st.integers(1, 3)), max_size=6))
def test_every_refund_counts_exactly_once(quantity: int, cents: int,
                                          refunds: list[tuple[str, int]]) -> None:
    unit = Money(Decimal(cents) / 100, "USD")
    paid = (unit * quantity).rounded()
    rows: list[tuple[str, str, int, Decimal]] = []
    listed: list[PlatformRefund] = []
    own: set[str] = set()
    settled = 0
    for i, (kind, units) in enumerate(refunds):
        units = min(units, quantity - settled)
        if units <= 0:
            break
        money = units_value(paid, quantity, settled, units)
        settled += units
        rid = f"R{i}"
        if kind != "admin":  # the library's own: in its ledger, under its own request
            rows.append((f"RMA-{i}", "L1", units, money.amount))
            own.add(rid)
        if kind != "own-not-yet-synced":  # the platform lists it
            listed.append(_listed(rid, units, money))
    order = _order(quantity, str(unit.amount), listed, total=str(paid.amount))
    base = ledger_from(rows, "RMA-new", {})
    base = base.model_copy(update={"order_refunded": sum((r[3] for r in rows), Decimal(0))})
    ledger = with_outside(base, order.refunds, own)
    assert ledger.line("L1").settled_elsewhere == settled
    left = _left(order, ledger)
    # What is left is what the buyer paid less every refund, each once.
    assert left == paid - units_value(paid, quantity, 0, settled)
