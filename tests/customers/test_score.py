"""The serial-returner rule: each clause at its boundary, and the rule shown with the score."""

from __future__ import annotations

from decimal import Decimal

from aftersales.customers.score import ReturnerInputs, ReturnerRule, score


def _inputs(**over: object) -> ReturnerInputs:
    data: dict[str, object] = {"orders": 10, "returns": 0, "returned_orders": 0}
    data.update(over)
    return ReturnerInputs(**data)  # type: ignore[arg-type]


def test_too_little_history_scores_nothing_and_says_why() -> None:
    result = score(_inputs(orders=2, returns=2, returned_orders=2, failed_inspections=2))
    assert result.points == 0
    assert "too little history" in result.reasons[0]


def test_return_rate_clauses_at_their_boundaries() -> None:
    assert score(_inputs(returns=5, returned_orders=5)).points == 40  # exactly 50%
    assert score(_inputs(orders=10_000, returns=4999, returned_orders=4999)).points == 20
    assert score(_inputs(returns=3, returned_orders=3)).points == 20  # exactly 30%
    assert score(_inputs(returns=2, returned_orders=2)).points == 0  # 20%
    # A high rate on a single return is not a pattern.
    assert score(_inputs(orders=3, returns=1, returned_orders=1)).points == 0


def test_buyer_reasons_inspections_and_refund_share() -> None:
    assert score(_inputs(buyer_reason_returns=3)).points == 20
    assert score(_inputs(buyer_reason_returns=2)).points == 0
    assert score(_inputs(failed_inspections=1)).points == 20
    assert score(_inputs(failed_inspections=9)).points == 40  # at most two count
    half = _inputs(spent={"CNY": Decimal("100.00"), "USD": Decimal("10")},
                   refunded={"CNY": Decimal("10"), "USD": Decimal("5.00")})
    result = score(half)
    assert result.points == 20
    assert "USD" in result.reasons[0]


def test_levels_the_cap_and_the_rule_text() -> None:
    worst = score(_inputs(returns=9, returned_orders=9, buyer_reason_returns=9,
                          failed_inspections=9, spent={"CNY": Decimal(1)},
                          refunded={"CNY": Decimal(1)}))
    assert worst.points == 100
    assert worst.level == "high"
    assert score(_inputs(failed_inspections=2)).level == "watch"
    assert score(_inputs(failed_inspections=1)).level == "low"
    assert "return rate >= 50%" in worst.rule
    assert worst.inputs["return_rate"] == "0.9000"
    strict = score(_inputs(returns=2, returned_orders=2), ReturnerRule(watch_rate=Decimal("0.2")))
    assert strict.points == 20
