"""FollowUpsService: scheduling, dispatch, the contact policy, retries, leases, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from aftersales.errors import (
    InvalidTransitionError,
    RemoteRejectedError,
    TransientError,
    ValidationError,
)
from aftersales.followups import repository as repo
from aftersales.followups.backoff import RetryPolicy
from aftersales.followups.contact_policy import HoldKind, MessageKind, Verdict
from aftersales.followups.plans import CancelCondition, FollowUpPlan, PlanKind, ReviewWindow
from aftersales.followups.quiet_hours import QuietHours
from aftersales.models import FollowUpStatus
from aftersales.store.tables.core import OutboxRow
from aftersales.store.tables.followups import ContactLogRow, FollowUpRow

NIGHT = QuietHours(start=time(21), end=time(9))
SURVEY = FollowUpPlan(name="survey", delay=timedelta(days=3), channel="outbox",
                      subject="Order {order.id}", body="Hi {buyer.name}, how was it?",
                      quiet_hours=NIGHT, cancel_if=frozenset({CancelCondition.RETURN_OPENED}),
                      low_score_plan="callback")
CALLBACK = FollowUpPlan(name="callback", kind=PlanKind.CALLBACK, channel="recorder",
                        body="Sorry {buyer.name}; we will call you.")
NUDGE = FollowUpPlan(name="nudge", channel="recorder", body="Still happy, {buyer.name}?",
                     retry=RetryPolicy(max_attempts=3, initial=timedelta(minutes=10),
                                       factor=2, jitter=0))
REVIEW = FollowUpPlan(name="review", kind=PlanKind.REVIEW_REQUEST, channel="recorder",
                      body="Would you review {order.id}?")


def buyer(name: str = "Li", zone: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name}
    if zone:
        data["timezone"] = zone
    return {"buyer": data}


def status_of(app: Any, fid: int | None) -> str:
    assert fid is not None
    return str(app.followups.get(fid).status.value)


def test_schedule_applies_delay_and_buyer_quiet_hours(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    # delivered 20:30 New York time; +3 days lands 20:30 local, allowed (quiet from 21:00)
    ny = app.followups.schedule("survey", buyer_id="b1", order_id="A-1",
                                at=datetime(2024, 6, 4, 0, 30, tzinfo=UTC),
                                context=buyer(zone="America/New_York"))
    assert ny.due_at == datetime(2024, 6, 7, 0, 30, tzinfo=UTC)
    # the same instant in Shanghai is 08:30: moved to 09:00 local
    sh = app.followups.schedule("survey", buyer_id="b2", order_id="A-2",
                                at=datetime(2024, 6, 4, 0, 30, tzinfo=UTC),
                                context=buyer())
    assert sh.due_at == datetime(2024, 6, 7, 1, 0, tzinfo=UTC)


def test_schedule_is_idempotent_on_key(app: Any) -> None:
    app.followups.register(SURVEY)
    first = app.followups.schedule("survey", buyer_id="b1", order_id="A-1", context=buyer())
    again = app.followups.schedule("survey", buyer_id="b1", order_id="A-1", context=buyer())
    assert first.id == again.id
    assert len(app.followups.list()) == 1


def test_schedule_refuses_naive_times_and_unknown_plans(app: Any) -> None:
    app.followups.register(SURVEY)
    with pytest.raises(ValidationError, match="'at'"):
        app.followups.schedule("survey", buyer_id="b1", at=datetime(2024, 1, 1))
    with pytest.raises(Exception, match="follow-up plan nope not found"):
        app.followups.schedule("nope", buyer_id="b1")
    assert app.followups.list() == []


def test_dispatch_sends_due_ones_to_outbox_once(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    due = app.followups.schedule("survey", buyer_id="b1", order_id="A-1", context=buyer(),
                                 due_at=clock.now)
    later = app.followups.schedule("survey", buyer_id="b2", order_id="A-2", context=buyer())
    report = app.followups.dispatch_due()
    assert (report.claimed, report.sent) == (1, 1)
    assert status_of(app, due.id) == "sent"
    assert status_of(app, later.id) == "scheduled"
    with app.store.session() as s:
        rows = list(s.scalars(select(OutboxRow).where(OutboxRow.topic == "message")))
    assert len(rows) == 1
    assert rows[0].payload["body"] == "Hi Li, how was it?"
    assert rows[0].payload["subject"] == "Order A-1"
    assert app.followups.dispatch_due().claimed == 0


def test_frequency_cap_spans_plans_and_channels(app: Any, clock: Any, recorder: Any) -> None:
    app.followups.register(SURVEY, NUDGE)
    a = app.followups.schedule("survey", buyer_id="b1", order_id="A-1", context=buyer(),
                               due_at=clock.now)
    b = app.followups.schedule("nudge", buyer_id="b1", context=buyer(), due_at=clock.now)
    report = app.followups.dispatch_due()
    assert (report.sent, report.deferred) == (1, 1)
    assert status_of(app, a.id) == "sent"
    deferred = app.followups.get(b.id)
    assert deferred.status is FollowUpStatus.SCHEDULED
    assert deferred.last_error == "frequency cap reached"
    assert deferred.due_at == clock.now + timedelta(days=1)
    assert deferred.attempts == 0
    clock.advance(days=1)
    assert app.followups.dispatch_due().sent == 1
    assert len(recorder.sent) == 1


def test_other_areas_share_the_policy(app: Any, clock: Any) -> None:
    app.followups.register(NUDGE)
    decision = app.followups.record_contact("b1", MessageKind.RETURN_UPDATE, key="ret:1",
                                            channel="smtp", source="returns")
    assert decision.verdict is Verdict.SEND
    fid = app.followups.schedule("nudge", buyer_id="b1", context=buyer(), due_at=clock.now).id
    app.followups.dispatch_due()
    assert status_of(app, fid) == "scheduled"  # the return update used today's contact
    assert app.followups.check_contact("b1", MessageKind.FOLLOW_UP).verdict is Verdict.DEFER


def test_review_request_held_while_return_open(app: Any, clock: Any, recorder: Any) -> None:
    app.followups.register(REVIEW)
    with app.store.session() as s:
        app.events.emit(s, "return.requested", {"buyer_id": "b1", "rma_id": "R1"}, key="rr:1")
    fid = app.followups.schedule("review", buyer_id="b1", order_id="A-1", context=buyer(),
                                 due_at=clock.now).id
    assert app.followups.dispatch_due().deferred == 1
    assert app.followups.get(fid).last_error == "on hold: open return"
    with app.store.session() as s:
        app.events.emit(s, "return.closed", {"buyer_id": "b1", "rma_id": "R1"}, key="rc:1")
    clock.advance(hours=13)
    assert app.followups.dispatch_due().sent == 1
    assert len(recorder.sent) == 1


def test_no_review_request_after_negative_review_until_resolved(app: Any, clock: Any) -> None:
    app.followups.register(REVIEW)
    app.followups.hold("b1", HoldKind.NEGATIVE_REVIEW, "rev-9")
    fid = app.followups.schedule("review", buyer_id="b1", order_id="A-1", context=buyer(),
                                 due_at=clock.now).id
    app.followups.dispatch_due()
    assert status_of(app, fid) == "scheduled"
    assert app.followups.resolve_hold("b1", HoldKind.NEGATIVE_REVIEW) == 1
    clock.advance(hours=13)
    app.followups.dispatch_due()
    assert status_of(app, fid) == "sent"


def test_review_window_for_amazon(app: Any, clock: Any) -> None:
    app.followups.register(REVIEW)
    delivered = clock.now
    fu = app.followups.schedule("review", buyer_id="b1", order_id="111-1", marketplace="amazon",
                                at=delivered, context=buyer())
    assert fu.due_at == delivered + timedelta(days=5)
    clock.advance(days=31)  # the worker was down for a month
    report = app.followups.dispatch_due()
    assert report.skipped == 1
    assert app.followups.get(fu.id).last_error.startswith("past its deadline")


def test_explicit_window_closed_at_schedule_is_skipped(app: Any, clock: Any) -> None:
    plan = REVIEW.model_copy(update={"name": "tight",
                                     "review_window": ReviewWindow(min_days=0, max_days=1)})
    fu = app.followups.schedule(plan, buyer_id="b1", at=clock.now - timedelta(days=3),
                                context=buyer())
    assert fu.status is FollowUpStatus.SKIPPED


def test_opt_out_store_and_plan_list(app: Any, clock: Any, recorder: Any) -> None:
    app.followups.register(NUDGE, NUDGE.model_copy(update={"name": "nudge2",
                                                           "opt_out": frozenset({"b2"})}))
    app.followups.opt_out("b1", note="asked by phone")
    a = app.followups.schedule("nudge", buyer_id="b1", context=buyer(), due_at=clock.now).id
    b = app.followups.schedule("nudge2", buyer_id="b2", context=buyer(), due_at=clock.now).id
    report = app.followups.dispatch_due()
    assert report.skipped == 2
    assert recorder.sent == []
    assert app.followups.get(a).last_error == "buyer opted out"
    assert status_of(app, b) == "skipped"
    app.followups.opt_in("b1")
    assert app.followups.check_contact("b1", MessageKind.FOLLOW_UP).allowed


def test_cancel_condition_return_opened_since(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    fid = app.followups.schedule("survey", buyer_id="b1", order_id="A-1", context=buyer(),
                                 due_at=clock.now + timedelta(hours=2)).id
    clock.advance(hours=1)
    app.followups.hold("b1", HoldKind.RETURN, "R7")
    clock.advance(hours=1)
    assert app.followups.dispatch_due().cancelled == 1
    assert "return_opened" in (app.followups.get(fid).last_error or "")


def test_retry_with_backoff_then_failed(app: Any, clock: Any, recorder: Any) -> None:
    app.followups.register(NUDGE)
    recorder.fail_with = TransientError("503 from gateway", adapter="recorder", status=503)
    fid = app.followups.schedule("nudge", buyer_id="b1", context=buyer(), due_at=clock.now).id
    start = clock.now
    assert app.followups.dispatch_due().retried == 1
    first = app.followups.get(fid)
    assert (first.status, first.attempts) == (FollowUpStatus.SCHEDULED, 1)
    assert first.due_at == start + timedelta(minutes=10)
    assert "503" in (first.last_error or "")
    clock.advance(minutes=10)
    assert app.followups.dispatch_due().retried == 1
    assert app.followups.get(fid).due_at == clock.now + timedelta(minutes=20)
    clock.advance(minutes=20)
    assert app.followups.dispatch_due().failed == 1
    final = app.followups.get(fid)
    assert (final.status, final.attempts) == (FollowUpStatus.FAILED, 3)
    assert "TransientError" in (final.last_error or "")
    with app.store.session() as s:  # failed sends do not count toward the caps
        assert s.scalar(select(func.count()).select_from(ContactLogRow)) == 0


def test_rejection_fails_at_once(app: Any, clock: Any, recorder: Any) -> None:
    app.followups.register(NUDGE)
    recorder.fail_with = RemoteRejectedError("unknown buyer", adapter="recorder", status=422)
    fid = app.followups.schedule("nudge", buyer_id="b1", context=buyer(), due_at=clock.now).id
    assert app.followups.dispatch_due().failed == 1
    assert app.followups.get(fid).attempts == 1


def test_render_error_fails_with_field_name(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    fid = app.followups.schedule("survey", buyer_id="b1", context={}, due_at=clock.now).id
    assert app.followups.dispatch_due().failed == 1
    assert "field 'order.id'" in (app.followups.get(fid).last_error or "")


def test_expired_lease_returns_row_to_pool(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    fid = app.followups.schedule("survey", buyer_id="b1", order_id="A-1", context=buyer(),
                                 due_at=clock.now).id
    with app.store.session() as s:  # a worker claims it, then dies
        claimed = repo.claim_due(s, owner="dead-worker", now=clock.now,
                                 until=clock.now + timedelta(minutes=5), limit=10)
    assert [r.id for r in claimed] == [fid]
    assert app.followups.dispatch_due().claimed == 0  # still leased
    clock.advance(minutes=5)
    report = app.followups.dispatch_due()
    assert (report.claimed, report.sent) == (1, 1)
    done = app.followups.get(fid)
    assert (done.status, done.attempts) == (FollowUpStatus.SENT, 2)


def test_worker_that_lost_its_lease_does_not_send(app: Any, clock: Any, recorder: Any) -> None:
    app.followups.register(NUDGE)
    app.followups.schedule("nudge", buyer_id="b1", context=buyer(), due_at=clock.now)
    with app.store.session() as s:
        rows = repo.claim_due(s, owner="slow", now=clock.now,
                              until=clock.now + timedelta(minutes=5), limit=1)
    clock.advance(minutes=6)
    assert app.followups.dispatch_due().sent == 1  # another worker took over
    slow = app.followups.dispatcher()
    slow.owner = "slow"
    from aftersales.followups.dispatch import DispatchReport

    report = DispatchReport()
    slow.process(rows[0], clock.now, report)
    assert report.lost_lease == 1
    assert len(recorder.sent) == 1


def test_stop_finishes_current_and_releases_rest(app: Any, clock: Any, recorder: Any) -> None:
    app.followups.register(NUDGE)
    for n in range(5):
        app.followups.schedule("nudge", buyer_id=f"b{n}", context=buyer(), due_at=clock.now)
    recorder.on_send = lambda message: app.followups.request_stop()
    report = app.followups.dispatch_due()
    assert (report.claimed, report.sent, report.released) == (5, 1, 4)
    with app.store.session() as s:
        leased = s.scalar(select(func.count()).select_from(FollowUpRow)
                          .where(FollowUpRow.lease_owner.is_not(None)))
        attempts = set(s.scalars(select(FollowUpRow.attempts)
                                 .where(FollowUpRow.status == "scheduled")))
    assert leased == 0
    assert attempts == {0}


def test_trigger_event_schedules_plan_once(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY.model_copy(update={"trigger": "order.delivered"}))
    payload = {"marketplace": "sandbox", "order_id": "A-1", "buyer_id": "b1",
               "delivered_at": clock.now.isoformat()}
    for _ in range(2):
        with app.store.session() as s:
            app.events.emit(s, "order.delivered", payload, key="order.delivered:sandbox:A-1",
                            outbox=False)
    rows = app.followups.list(plan="survey")
    assert len(rows) == 1
    assert rows[0].order_id == "A-1"
    assert rows[0].due_at == clock.now + timedelta(days=3)


def test_outcome_low_score_alerts_and_triggers_plan(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY, CALLBACK)
    alerts: list[Any] = []
    app.on("followup.low_score", alerts.append)
    ids = [app.followups.schedule("survey", buyer_id=f"b{n}", order_id=f"A-{n}",
                                  context=buyer(), due_at=clock.now).id for n in range(4)]
    app.followups.dispatch_due()
    app.followups.record_outcome(ids[0], csat=2, comment="box crushed")
    app.followups.record_outcome(ids[1], csat=5, nps=10)
    app.followups.record_outcome(ids[2], nps=9)
    app.followups.record_outcome(ids[2], nps=9)  # repeated answer: no change
    assert [a.payload["follow_up_id"] for a in alerts] == [ids[0]]
    callbacks = app.followups.list(plan="callback")
    assert [c.buyer_id for c in callbacks] == ["b0"]
    assert callbacks[0].context["outcome"]["comment"] == "box crushed"
    (survey,) = app.followups.metrics(plan="survey")
    assert (survey.sent, survey.responded) == (4, 3)
    assert survey.response_rate == 0.75
    assert survey.csat == 3.5
    assert survey.csat_satisfied == 0.5
    assert survey.nps == 100.0
    assert survey.nps_count == 2


def test_outcome_validation(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    fid = app.followups.schedule("survey", buyer_id="b1", context=buyer()).id
    with pytest.raises(InvalidTransitionError):
        app.followups.record_outcome(fid, csat=4)
    with pytest.raises(ValidationError, match="csat"):
        app.followups.record_outcome(fid, csat=6)
    with pytest.raises(ValidationError, match="nps"):
        app.followups.record_outcome(fid, nps=11)
    assert app.followups.get(fid).status is FollowUpStatus.SCHEDULED


def test_cancel_only_before_sending(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    fid = app.followups.schedule("survey", buyer_id="b1", order_id="A", context=buyer(),
                                 due_at=clock.now).id
    sent = app.followups.schedule("survey", buyer_id="b2", order_id="B", context=buyer(),
                                  due_at=clock.now).id
    assert app.followups.cancel(fid).status is FollowUpStatus.CANCELLED
    app.followups.dispatch_due()
    with pytest.raises(InvalidTransitionError):
        app.followups.cancel(sent)


def test_claim_walks_the_due_index(app: Any) -> None:
    # The cost of a tick follows the due rows: SQLite plans the claim on (status, due_at).
    with app.store.engine.connect() as conn:
        plan = conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM follow_ups WHERE status='scheduled' "
            "AND due_at <= '2024-01-01' ORDER BY due_at LIMIT 100")).all()
    assert any("ix_follow_ups_due" in str(row) for row in plan)


def test_plans_from_app_option(make_app: Any) -> None:
    app = make_app(plans='[plans.hello]\nbody = "Hi {buyer.name}"\ntrigger = "custom.thing"\n')
    assert app.followups.plan("hello").trigger == "custom.thing"
    assert datetime.now(UTC)  # sanity


def test_cap_holds_inside_one_claimed_batch(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY, SURVEY.model_copy(update={"name": "survey2"}))
    a = app.followups.schedule("survey", buyer_id="b1", order_id="A", context=buyer(),
                               due_at=clock.now).id
    b = app.followups.schedule("survey2", buyer_id="b1", order_id="A", context=buyer(),
                               due_at=clock.now).id
    report = app.followups.dispatch_due()
    assert (report.claimed, report.sent, report.deferred) == (2, 1, 1)
    assert {status_of(app, a), status_of(app, b)} == {"sent", "scheduled"}


def test_schedule_many_bulk_is_idempotent_and_applies_rules(app: Any, clock: Any) -> None:
    app.followups.register(SURVEY)
    items = [{"buyer_id": f"b{n}", "order_id": f"A-{n}", "marketplace": "shop",
              "at": clock.now, "context": buyer(zone="America/New_York" if n % 2 else None)}
             for n in range(10)]
    assert app.followups.schedule_many("survey", items, chunk=4) == 10
    assert app.followups.schedule_many("survey", items) == 0  # re-run schedules nothing
    rows = {r.buyer_id: r for r in app.followups.list(limit=100)}
    # same rule as schedule(): Shanghai buyers at +3 days 10:00 local; New York
    # buyers' +3 days is 22:00 local (quiet) and moves to 09:00 the next day
    assert rows["b0"].due_at == clock.now + timedelta(days=3)
    assert rows["b1"].due_at == datetime(2024, 6, 6, 13, 0, tzinfo=UTC)


def test_schedule_many_refuses_items_without_buyer(app: Any) -> None:
    app.followups.register(SURVEY)
    with pytest.raises(ValidationError, match="row 2"):
        app.followups.schedule_many("survey", [{"buyer_id": "b1", "key": "k1"},
                                               {"key": "k2"}])
    assert app.followups.list() == []


def test_returns_events_open_and_resolve_holds_via_the_order(app: Any, clock: Any) -> None:
    # The returns area's events carry the order, not the buyer: the buyer is looked up.
    from aftersales.store.tables.core import OrderRow

    with app.store.session() as s:
        s.add(OrderRow(marketplace="shop", external_id="A-1", buyer_id="b1", buyer={},
                       currency="CNY", shipping=0, discount=0, total=10, placed_at=clock.now,
                       remote_updated_at=clock.now))
    ev = {"rma_id": "R1", "marketplace": "shop", "order_id": "A-1"}
    assert app.followups is not None  # the area subscribes to the bus when it starts
    for name, key in (("return.requested", "1"), ("return.rejected", "2"),
                      ("return.requested", "3")):
        with app.store.session() as s:
            app.events.emit(s, name, ev, key=f"{name}:{key}", outbox=False)
        open_now = app.followups.check_contact("b1", MessageKind.REVIEW_REQUEST).verdict
        assert open_now is (Verdict.SEND if name == "return.rejected" else Verdict.DEFER)


def test_shop_zone_preference_ignores_buyer_zone(app: Any, clock: Any) -> None:
    shop_quiet = QuietHours(start=time(21), end=time(9), zone="shop")
    plan = SURVEY.model_copy(update={"name": "shopclock", "quiet_hours": shop_quiet})
    # 13:00 UTC is 09:00 in New York (allowed) but 21:00 in Shanghai, the shop's zone
    fu = app.followups.schedule(plan, buyer_id="b1", context=buyer(zone="America/New_York"),
                                due_at=datetime(2024, 6, 4, 13, 0, tzinfo=UTC))
    assert fu.due_at == datetime(2024, 6, 5, 1, 0, tzinfo=UTC)  # 09:00 Shanghai


def test_review_request_through_marketplace_messaging(make_app: Any, clock: Any) -> None:
    from aftersales.interfaces import Capability, MarketplaceBase
    from aftersales.models import Message, Receipt

    class Amazonish(MarketplaceBase):
        name = "amazon"
        capabilities = frozenset({Capability.MESSAGE_BUYER})

        def __init__(self) -> None:
            self.sent: list[Message] = []

        def send_message(self, message: Message) -> Receipt:
            self.sent.append(message)
            return Receipt(channel="amazon", message_id="sol-1", accepted_at=clock.now)

    market = Amazonish()
    app = make_app(marketplaces=[market])
    plan = REVIEW.model_copy(update={"name": "ask", "channel": "marketplace"})
    fu = app.followups.schedule(plan, buyer_id="b1", order_id="111-2", marketplace="amazon",
                                at=clock.now, context=buyer())
    assert app.followups.dispatch_due().claimed == 0  # the window opens after 5 days
    clock.advance(days=5)
    assert app.followups.dispatch_due().sent == 1
    assert [m.body for m in market.sent] == ["Would you review 111-2?"]
    assert market.sent[0].idempotency_key == "ask:amazon:111-2"
    assert status_of(app, fu.id) == "sent"


def test_bad_plans_register_nothing(app: Any) -> None:
    text_ = '[plans.ok]\nbody = "hi"\n\n[plans.bad]\nbody = "{unclosed"\n'
    with pytest.raises(ValidationError, match="plan 'bad'"):
        app.followups.register(text_)
    assert app.followups.plans == {}


def test_review_events_hold_on_the_review_not_its_return(app: Any, clock: Any) -> None:
    # review.negative as the reviews area emits it: buyer, review id, and a linked return
    payload = {"marketplace": "shop", "review_id": 41, "external_id": "RV41", "buyer_id": "b1",
               "order_id": "A-1", "rma_id": "R9", "rating": 1}
    assert app.followups is not None
    with app.store.session() as s:
        app.events.emit(s, "review.negative", payload, key="review.negative:shop:RV41")
    assert app.followups.check_contact("b1", MessageKind.REVIEW_REQUEST).verdict is Verdict.DEFER
    with app.store.session() as s:  # the return closing does not lift the review's hold
        app.events.emit(s, "return.closed", {**payload, "rating": None}, key="return.closed:R9")
    assert app.followups.check_contact("b1", MessageKind.REVIEW_REQUEST).verdict is Verdict.DEFER
    with app.store.session() as s:
        app.events.emit(s, "review.resolved", payload, key="review.resolved:shop:RV41:2")
    assert app.followups.check_contact("b1", MessageKind.REVIEW_REQUEST).allowed
