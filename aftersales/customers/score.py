"""The serial-returner score: a transparent rule over a buyer's own history (pure; no I/O).

A shop wants to know whether a buyer returns far more than others before it
waives a return fee or approves a refund-only request without a look. A
number nobody can explain is no use to the person deciding, and unfair to
the buyer, so the score is a sum of named points, each shown with the input
that earned it:

=============================================================  ======
clause                                                          points
=============================================================  ======
return rate ≥ 50% (with ≥ ``min_returns`` returns)                   40
return rate ≥ 30% (with ≥ ``min_returns`` returns), else             20
≥ 3 returns for the buyer's own reasons (size, no reason,            20
changed mind)
each return whose inspection failed (used, damaged, swapped,         20
missing), at most 2                                                  each
refunds ≥ 50% of what was spent in one currency                      20
=============================================================  ======

Over 100 points count as 100. Level: ``low`` under 30, ``watch`` from 30,
``high`` from 60. With fewer than ``min_orders`` orders in the window the
score is 0 and says so: too little history to judge. Cancelled and
rejected requests are not returns. Only the window (365 days by default)
counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["BUYER_REASONS", "ReturnerInputs", "ReturnerRule", "ReturnerScore", "score"]

#: Return reasons that are the buyer's choice rather than the shop's fault.
BUYER_REASONS = frozenset({"wrong_size", "no_reason", "changed_mind"})


@dataclass(frozen=True)
class ReturnerRule:
    """The rule's thresholds (defaults in the module docstring); a shop may pass its own."""

    window_days: int = 365
    min_orders: int = 3
    min_returns: int = 2
    high_rate: Decimal = Decimal("0.5")
    watch_rate: Decimal = Decimal("0.3")
    buyer_reason_returns: int = 3
    refund_share: Decimal = Decimal("0.5")
    watch_level: int = 30
    high_level: int = 60


@dataclass(frozen=True)
class ReturnerInputs:
    """What the rule reads, counted over the window.

    Attributes:
        orders: orders placed.
        returns: return, exchange and refund-only requests (not cancelled or rejected).
        returned_orders: distinct orders with such a request.
        buyer_reason_returns: requests whose every line gives a buyer's reason.
        failed_inspections: requests with a returned unit not found resellable.
        spent: order totals per currency.
        refunded: refunds paid per currency.
    """

    orders: int = 0
    returns: int = 0
    returned_orders: int = 0
    buyer_reason_returns: int = 0
    failed_inspections: int = 0
    spent: dict[str, Decimal] = field(default_factory=dict)
    refunded: dict[str, Decimal] = field(default_factory=dict)

    @property
    def return_rate(self) -> Decimal:
        """Returned orders over orders (0 with no orders), to 4 places."""
        if not self.orders:
            return Decimal(0)
        return (Decimal(self.returned_orders) / Decimal(self.orders)).quantize(Decimal("0.0001"))

    def refund_shares(self) -> dict[str, Decimal]:
        """Refunded over spent, per currency that has spending."""
        return {c: (self.refunded.get(c, Decimal(0)) / s).quantize(Decimal("0.0001"))
                for c, s in self.spent.items() if s > 0}


@dataclass(frozen=True)
class ReturnerScore:
    """The score, its level, the clauses that earned points, and the inputs.

    Attributes:
        points: 0-100.
        level: ``low``, ``watch`` or ``high``.
        reasons: one line per clause that earned points (or why none could).
        rule: the rule as text, so it is shown with the score.
        inputs: the inputs, as plain values.
    """

    points: int
    level: str
    reasons: tuple[str, ...]
    rule: str
    inputs: dict[str, Any]


def _rule_text(rule: ReturnerRule) -> str:
    return (f"over the last {rule.window_days} days, with at least {rule.min_orders} orders: "
            f"+40 if return rate >= {rule.high_rate:%} (else +20 if >= {rule.watch_rate:%}), "
            f"with at least {rule.min_returns} returns; +20 if >= {rule.buyer_reason_returns} "
            "returns for the buyer's own reasons (wrong_size, no_reason, changed_mind); "
            "+20 per failed inspection (at most 2); "
            f"+20 if refunds >= {rule.refund_share:%} of spending in a currency; "
            f"level watch from {rule.watch_level}, high from {rule.high_level}")


def score(inputs: ReturnerInputs, rule: ReturnerRule | None = None) -> ReturnerScore:
    """Apply ``rule`` to ``inputs``; see the module docstring for the clauses."""
    rule = rule or ReturnerRule()
    shown = {
        "orders": inputs.orders, "returns": inputs.returns,
        "returned_orders": inputs.returned_orders, "return_rate": str(inputs.return_rate),
        "buyer_reason_returns": inputs.buyer_reason_returns,
        "failed_inspections": inputs.failed_inspections,
        "spent": {c: str(v) for c, v in sorted(inputs.spent.items())},
        "refunded": {c: str(v) for c, v in sorted(inputs.refunded.items())},
    }
    text = _rule_text(rule)
    if inputs.orders < rule.min_orders:
        return ReturnerScore(0, "low", (f"only {inputs.orders} orders in the window "
                                        f"(fewer than {rule.min_orders}): too little history",),
                             text, shown)
    points = 0
    reasons: list[str] = []
    rate = inputs.return_rate
    if inputs.returns >= rule.min_returns and rate >= rule.high_rate:
        points += 40
        reasons.append(f"+40 return rate {rate:.0%} >= {rule.high_rate:.0%}")
    elif inputs.returns >= rule.min_returns and rate >= rule.watch_rate:
        points += 20
        reasons.append(f"+20 return rate {rate:.0%} >= {rule.watch_rate:.0%}")
    if inputs.buyer_reason_returns >= rule.buyer_reason_returns:
        points += 20
        reasons.append(f"+20 {inputs.buyer_reason_returns} returns for the buyer's own reasons")
    failed = min(inputs.failed_inspections, 2)
    if failed:
        points += 20 * failed
        reasons.append(f"+{20 * failed} {inputs.failed_inspections} failed inspection(s)")
    shares = inputs.refund_shares()
    over = sorted(c for c, share in shares.items() if share >= rule.refund_share)
    if over:
        points += 20
        reasons.append(f"+20 refunds {shares[over[0]]:.0%} of spending in {over[0]}")
    points = min(points, 100)
    level = ("high" if points >= rule.high_level else
             "watch" if points >= rule.watch_level else "low")
    return ReturnerScore(points, level, tuple(reasons) or ("no clause applies",), text, shown)
