"""The send-time verdict, judged from loaded facts without a database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftersales.followups.contact_policy import Contact, ContactPolicy, HoldKind, MessageKind
from aftersales.followups.decide import BuyerFacts, Outcome, evaluate
from aftersales.followups.plans import CancelCondition, FollowUpPlan, PlanKind
from aftersales.followups.quiet_hours import QuietHours
from aftersales.models import FollowUpStatus

NOW = datetime(2024, 6, 3, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SH = ZoneInfo("Asia/Shanghai")
PLAN = FollowUpPlan(name="p", body="x", cancel_if=frozenset(CancelCondition))
POLICY = ContactPolicy()


def judge(plan: FollowUpPlan = PLAN, facts: BuyerFacts | None = None, now: datetime = NOW,
          not_after: datetime | None = None, responded: bool = False) -> Outcome:
    return evaluate(plan, now=now, created_at=NOW - timedelta(days=1), not_after=not_after,
                    buyer_id="b1", facts=facts or BuyerFacts(), policy=POLICY, zone=SH,
                    responded_on_order=responded)


def test_send_when_nothing_stands_in_the_way() -> None:
    assert judge().send


def test_order_of_rules() -> None:
    facts = BuyerFacts(opt_outs={"*"}, holds=[(HoldKind.RETURN, NOW, None)])
    # a closed deadline wins over everything
    out = judge(facts=facts, not_after=NOW - timedelta(seconds=1))
    assert out.status is FollowUpStatus.SKIPPED
    assert "deadline" in (out.reason or "")
    # then opt-out, then cancel conditions
    assert judge(facts=facts).reason == "buyer opted out"
    facts.opt_outs.clear()
    out = judge(facts=facts)
    assert out.status is FollowUpStatus.CANCELLED


def test_holds_opened_before_scheduling_do_not_cancel() -> None:
    facts = BuyerFacts(holds=[(HoldKind.RETURN, NOW - timedelta(days=2), None)])
    assert judge(facts=facts).send
    review = PLAN.model_copy(update={"kind": PlanKind.REVIEW_REQUEST})
    out = judge(review, facts=facts)
    assert out.status is FollowUpStatus.SCHEDULED
    assert out.due_at == NOW + POLICY.hold_recheck


def test_responded_cancels() -> None:
    out = judge(responded=True)
    assert out.status is FollowUpStatus.CANCELLED


def test_quiet_hours_defer_to_morning_and_skip_past_deadline() -> None:
    plan = FollowUpPlan(name="q", body="x", quiet_hours=QuietHours(start=time(21),
                                                                   end=time(9)))
    late = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)  # 22:00 Shanghai
    out = judge(plan, now=late)
    assert out.due_at == datetime(2024, 6, 4, 1, 0, tzinfo=UTC)
    assert out.reason == "quiet hours"
    out = judge(plan, now=late, not_after=late + timedelta(hours=2))
    assert out.status is FollowUpStatus.SKIPPED


def test_cap_deferral_lands_outside_quiet_hours() -> None:
    plan = FollowUpPlan(name="q", body="x", quiet_hours=QuietHours(start=time(21),
                                                                   end=time(9)))
    # contacted at 22:30 Shanghai yesterday (by another area): the cap frees at 22:30 today
    facts = BuyerFacts(history=[Contact(datetime(2024, 6, 2, 14, 30, tzinfo=UTC),
                                        MessageKind.RETURN_UPDATE)])
    out = judge(plan, facts=facts, now=datetime(2024, 6, 3, 4, 0, tzinfo=UTC))
    assert out.reason == "frequency cap reached"
    assert out.due_at == datetime(2024, 6, 4, 1, 0, tzinfo=UTC)
