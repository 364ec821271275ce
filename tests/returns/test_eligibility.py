"""Eligibility validators: each rule, the combination, and the words a customer hears."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aftersales.models import Order, ReturnKind, ReturnLine, ReturnReason
from aftersales.returns.eligibility import (
    DEFAULT_VALIDATORS,
    Decision,
    EligibilityContext,
    Finding,
    evaluate,
)
from aftersales.returns.policy import BuyerStats, ReturnPolicy

R = ReturnReason
K = ReturnKind
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def ctx(
    make_order: Callable[..., Order], make_line: Callable[..., ReturnLine]
) -> Callable[..., EligibilityContext]:
    def build(
        lines: list[ReturnLine] | None = None,
        kind: ReturnKind = K.RETURN,
        policy: ReturnPolicy | None = None,
        order: Order | None = None,
        **kw: Any,
    ) -> EligibilityContext:
        return EligibilityContext(
            order=order or make_order(),
            lines=lines or [make_line()],
            kind=kind,
            policy=policy or ReturnPolicy(),
            now=kw.pop("now", NOW),
            **kw,
        )

    return build


def test_plain_return_in_window_is_eligible_and_says_why(
    ctx: Callable[..., EligibilityContext],
) -> None:
    result = evaluate(ctx())
    assert result.eligible
    assert any("within its 7-day return period (until 2026-01-08)" in r for r in result.reasons)
    assert any("paid by the customer" in r for r in result.reasons)
    assert result.explain().startswith("This request can be accepted.")


def test_after_the_window_is_ineligible_with_the_date(
    ctx: Callable[..., EligibilityContext],
) -> None:
    result = evaluate(ctx(now=datetime(2026, 1, 9, 0, 0, tzinfo=UTC)))
    assert result.decision is Decision.INELIGIBLE
    assert result.reasons == ["The 7-day return period for “Tshirt-M” ended on 2026-01-08."]


def test_last_minute_of_the_window_is_still_inside(
    ctx: Callable[..., EligibilityContext],
) -> None:
    assert evaluate(ctx(now=datetime(2026, 1, 8, 23, 59, tzinfo=UTC))).eligible


def test_quality_issue_gets_its_longer_window(
    ctx: Callable[..., EligibilityContext], make_line: Callable[..., ReturnLine]
) -> None:
    policy = ReturnPolicy(reason_window_days={R.QUALITY_ISSUE: 15})
    late = datetime(2026, 1, 12, tzinfo=UTC)
    assert evaluate(ctx([make_line(reason=R.QUALITY_ISSUE)], policy=policy, now=late)).eligible
    assert not evaluate(ctx([make_line(reason=R.NO_REASON)], policy=policy, now=late)).eligible


def test_reasons_are_per_line(
    ctx: Callable[..., EligibilityContext], make_line: Callable[..., ReturnLine]
) -> None:
    policy = ReturnPolicy(reason_window_days={R.QUALITY_ISSUE: 15})
    late = datetime(2026, 1, 12, tzinfo=UTC)
    lines = [make_line("L1", reason=R.QUALITY_ISSUE), make_line("L2", reason=R.WRONG_SIZE)]
    result = evaluate(ctx(lines, policy=policy, now=late))
    assert result.decision is Decision.INELIGIBLE
    bad = [f for f in result.findings if f.decision is Decision.INELIGIBLE]
    assert [f.order_line_id for f in bad] == ["L2"]
    assert any("shop pays the return postage only for faulty" in r
               for r in (f.message for f in result.findings))


def test_not_yet_delivered_return_needs_review_but_refund_only_is_fine(
    ctx: Callable[..., EligibilityContext], make_order: Callable[..., Order]
) -> None:
    order = make_order(delivered_at=None)
    assert evaluate(ctx(order=order)).decision is Decision.NEEDS_REVIEW
    assert evaluate(ctx(order=order, kind=K.REFUND_ONLY)).eligible


def test_line_not_in_order_and_too_many_units(
    ctx: Callable[..., EligibilityContext], make_line: Callable[..., ReturnLine]
) -> None:
    result = evaluate(ctx([make_line("L9")]))
    assert result.reasons == ["Line L9 is not part of order O-1."]
    result = evaluate(ctx([make_line("L1", qty=2)], already_requested={"L1": 1}))
    assert result.reasons == ["Only 1 of 2 × “Tshirt-M” can still be returned; 2 were asked for."]
    result = evaluate(ctx([make_line("L1", qty=1)], already_requested={"L1": 2}))
    assert result.reasons == ["Every unit of “Tshirt-M” is already in another request."]


def test_same_line_twice_in_one_request_counts_together(
    ctx: Callable[..., EligibilityContext], make_line: Callable[..., ReturnLine]
) -> None:
    lines = [make_line("L1", qty=2, reason=R.WRONG_SIZE), make_line("L1", qty=1)]
    assert evaluate(ctx(lines)).decision is Decision.INELIGIBLE


def test_non_returnable_item_refused_with_the_policys_note(
    ctx: Callable[..., EligibilityContext], make_order: Callable[..., Order],
    make_line: Callable[..., ReturnLine],
) -> None:
    policy = ReturnPolicy.from_mapping(
        {"categories": {"food": {"returnable": False, "note": "Food is final sale."}}}
    )
    order = make_order(categories={"MUG": "food"})
    result = evaluate(ctx([make_line("L2")], order=order, policy=policy))
    assert result.reasons == ["“Mug” cannot be returned. Food is final sale."]
    # A transit claim on the same item is still possible.
    claim = evaluate(ctx([make_line("L2", reason=R.DAMAGED_IN_TRANSIT)], kind=K.REFUND_ONLY,
                         order=order, policy=policy, evidence=["photo.jpg"]))
    assert claim.eligible


def test_exchange_needs_a_replacement(
    ctx: Callable[..., EligibilityContext], make_line: Callable[..., ReturnLine]
) -> None:
    assert evaluate(ctx([make_line()], kind=K.EXCHANGE)).reasons == [
        "Please tell us which size or colour you would like instead."
    ]
    ok = evaluate(ctx([make_line(replacement_sku="TSHIRT-L")], kind=K.EXCHANGE))
    assert ok.eligible


def test_claim_without_evidence_goes_to_review(
    ctx: Callable[..., EligibilityContext], make_line: Callable[..., ReturnLine]
) -> None:
    lines = [make_line(reason=R.DAMAGED_IN_TRANSIT)]
    result = evaluate(ctx(lines, kind=K.REFUND_ONLY))
    assert result.decision is Decision.NEEDS_REVIEW
    assert "photo" in result.reasons[0]
    assert evaluate(ctx(lines, kind=K.REFUND_ONLY, evidence=["img-1"])).eligible
    relaxed = ReturnPolicy(claim_evidence_required=False)
    assert evaluate(ctx(lines, kind=K.REFUND_ONLY, policy=relaxed)).eligible


def test_refund_only_for_a_change_of_mind_is_for_a_human(
    ctx: Callable[..., EligibilityContext], make_line: Callable[..., ReturnLine]
) -> None:
    result = evaluate(ctx([make_line(reason=R.CHANGED_MIND)], kind=K.REFUND_ONLY))
    assert result.decision is Decision.NEEDS_REVIEW


def test_serial_returner_is_reviewed_not_refused(ctx: Callable[..., EligibilityContext]) -> None:
    result = evaluate(ctx(buyer_stats=BuyerStats(orders=10, returns=8)))
    assert result.decision is Decision.NEEDS_REVIEW
    assert result.explain().startswith("This request needs a member of our team")


def test_ineligible_beats_review(ctx: Callable[..., EligibilityContext]) -> None:
    result = evaluate(ctx(buyer_stats=BuyerStats(orders=10, returns=8),
                          now=NOW + timedelta(days=30)))
    assert result.decision is Decision.INELIGIBLE


def test_custom_validator_plugs_in(ctx: Callable[..., EligibilityContext]) -> None:
    def no_mugs(c: EligibilityContext) -> Iterator[Finding]:
        for line in c.lines:
            if c.order.line(line.order_line_id).sku == "MUG":
                yield Finding("mugs", Decision.INELIGIBLE, "Mugs are final sale.")

    c = ctx([ReturnLine(order_line_id="L2", quantity=1, reason=R.NO_REASON)])
    assert evaluate(c).eligible
    result = evaluate(c, [*DEFAULT_VALIDATORS, no_mugs])
    assert result.reasons == ["Mugs are final sale."]


def test_no_validators_means_eligible(ctx: Callable[..., EligibilityContext]) -> None:
    assert evaluate(ctx(), []).eligible
