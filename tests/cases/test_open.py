"""Opening cases: by hand and from events, one open case per store, buyer, order and kind."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.cases import CaseStatus
from aftersales.errors import InvalidTransitionError, ValidationError
from aftersales.followups.contact_policy import HoldKind
from aftersales.store.tables.core import OutboxRow
from aftersales.store.tables.followups import ContactHoldRow
from tests.cases.conftest import an_order, emit


def _events(app: AfterSales, name: str) -> list[OutboxRow]:
    with app.store.session() as session:
        rows = list(session.scalars(select(OutboxRow).where(OutboxRow.event_type == name)))
        session.expunge_all()
        return rows


def test_five_triggers_for_one_order_and_kind_make_one_case_with_five_facts(
        app: AfterSales) -> None:
    order, buyer = an_order(app)
    for n in range(5):
        emit(app, "review.negative", {"marketplace": "sandbox", "review_id": 100 + n,
                                      "order_id": order, "buyer_id": buyer, "rating": 1,
                                      "severity": 2}, key=f"review.negative:sandbox:r{n}")
    cases = app.cases.list(buyer_id=buyer)
    assert len(cases) == 1
    case = app.cases.get(cases[0].id)
    assert len(case.facts) == 5
    assert case.kind.value == "negative_review"
    assert case.status is CaseStatus.RECEIVED
    assert sorted(case.links["review"]) == ["100", "101", "102", "103", "104"]
    assert len(_events(app, "case.opened")) == 1
    assert len(_events(app, "case.fact_added")) == 4  # the first trigger opened it


def test_a_retried_event_never_adds_a_second_fact(app: AfterSales) -> None:
    order, buyer = an_order(app)
    payload = {"marketplace": "sandbox", "review_id": 1, "order_id": order, "buyer_id": buyer,
               "rating": 1}
    for _ in range(3):
        app.cases._on_event(type("E", (), {"name": "review.negative", "payload": payload,
                                           "key": "review.negative:sandbox:1"})())  # type: ignore[arg-type]
    (case,) = app.cases.list(buyer_id=buyer)
    assert len(app.cases.get(case.id).facts) == 1


def test_opening_holds_review_requests_until_the_case_closes(app: AfterSales) -> None:
    order, buyer = an_order(app)
    # the hold is written in the opening's own transaction, not left to an after-commit hook
    app.events.off("complaint.opened", app.followups._on_hold_event)
    case = app.cases.open(store="sandbox", buyer_id=buyer, order_id=order, kind="complaint",
                          subject="box crushed", key="call-1")
    assert HoldKind.COMPLAINT in _holds(app, buyer)
    app.cases.close(case.id, note="sorted on the phone")
    assert HoldKind.COMPLAINT not in _holds(app, buyer)
    # closed: the key is free, a new trigger opens a new case
    again = app.cases.open(store="sandbox", buyer_id=buyer, order_id=order, kind="complaint",
                           key="call-2")
    assert again.id != case.id
    with pytest.raises(InvalidTransitionError, match="is open for the same order"):
        app.cases.reopen(case.id)


def _holds(app: AfterSales, buyer: str) -> set[HoldKind]:
    with app.store.session() as session:
        return {HoldKind(r.kind) for r in session.scalars(select(ContactHoldRow).where(
            ContactHoldRow.buyer_id == buyer, ContactHoldRow.resolved_at.is_(None)))}


def test_parcel_exceptions_open_logistics_cases_only_for_lost_damaged_refused(
        lite: AfterSales) -> None:
    from aftersales.store.tables.core import OrderRow

    with lite.store.session() as session:
        row = session.scalars(select(OrderRow).order_by(OrderRow.id)).first()
        assert row is not None
        internal, buyer = row.id, row.buyer_id
    for n, issue in enumerate(["delayed", "lost", "damaged", "refused", "customs"]):
        emit(lite, "parcel.exception", {"shipment_id": n, "order_id": internal, "issue": issue,
                                        "status": "exception"}, key=f"parcel.exception:{n}")
    kinds = sorted(c.kind.value for c in lite.cases.list(buyer_id=buyer))
    assert kinds == ["damage_claim", "logistics"]
    logistics = next(c for c in lite.cases.list(buyer_id=buyer) if c.kind.value == "logistics")
    assert len(lite.cases.get(logistics.id).facts) == 2  # lost and refused


def test_counterfeit_review_escalates_and_alerts_the_shop(lite: AfterSales) -> None:
    order, buyer = an_order(lite)
    emit(lite, "review.counterfeit", {"marketplace": "sandbox", "review_id": 9,
                                      "order_id": order, "buyer_id": buyer, "rating": 1,
                                      "topics": ["counterfeit"]}, key="review.counterfeit:9")
    (case,) = lite.cases.list(buyer_id=buyer)
    assert case.priority.value == "urgent"
    assert case.escalation == 2
    assert case.root_cause == "product.counterfeit"
    alerts = [r for r in _all(lite) if r.topic == "alert"]
    assert len(alerts) == 1
    assert alerts[0].payload["metadata"]["case_id"] == case.id


def _all(app: AfterSales) -> list[OutboxRow]:
    with app.store.session() as session:
        rows = list(session.scalars(select(OutboxRow)))
        session.expunge_all()
        return rows


def test_low_csat_and_detractors_open_complaints_and_good_scores_do_not(
        lite: AfterSales) -> None:
    order, buyer = an_order(lite)
    base = {"marketplace": "sandbox", "order_id": order, "buyer_id": buyer, "follow_up_id": 5}
    emit(lite, "followup.responded", {**base, "csat": 4}, key="f:1")
    assert lite.cases.list(buyer_id=buyer) == []
    emit(lite, "followup.responded", {**base, "nps": 3}, key="f:2")
    emit(lite, "followup.responded", {**base, "csat": 1}, key="f:3")
    (case,) = lite.cases.list(buyer_id=buyer)
    assert case.channel.value == "follow_up"
    assert len(lite.cases.get(case.id).facts) == 2


def test_buyer_messages_open_a_case_only_when_the_rules_mark_a_complaint(
        lite: AfterSales) -> None:
    order, buyer = an_order(lite)
    emit(lite, "message.received", {"store": "sandbox", "buyer_id": buyer, "order_id": order,
                                    "text": "when will it ship?"}, key="m:1")
    assert lite.cases.list(buyer_id=buyer) == []
    emit(lite, "message.received", {"store": "sandbox", "buyer_id": buyer, "order_id": order,
                                    "text": "我要投诉，东西是坏的"}, key="m:2")
    assert len(lite.cases.list(buyer_id=buyer)) == 1


def test_a_platform_dispute_is_opened_and_updated_through_one_public_call(
        lite: AfterSales) -> None:
    order, buyer = an_order(lite)
    for status in ("1", "2", "2"):
        lite.cases.open_or_update(store="sandbox", buyer_id=buyer, order_id=order,
                                  kind="platform_dispute", source="douyin.arbitrate_status",
                                  key=f"douyin:arbitrate:{order}:{status}",
                                  data={"arbitrate_status": status})
    (case,) = lite.cases.list(buyer_id=buyer)
    assert [f.data["arbitrate_status"] for f in lite.cases.get(case.id).facts] == ["1", "2"]


@pytest.mark.parametrize(("field", "kwargs"), [
    ("store", {"store": ""}),
    ("buyer_id", {"buyer_id": "x" * 500}),
    ("kind", {"kind": "rant"}),
    ("channel", {"channel": "pigeon"}),
    ("priority", {"priority": "asap"}),
    ("subject", {"subject": "line\nbreak"}),
    ("order_id", {"order_id": "o\x00"}),
])
def test_hostile_fields_are_one_line_errors_naming_the_field(
        lite: AfterSales, field: str, kwargs: dict[str, str]) -> None:
    args = {"store": "sandbox", "buyer_id": "b", "kind": "complaint", **kwargs}
    with pytest.raises(ValidationError) as info:
        lite.cases.open(**args)  # type: ignore[arg-type]
    assert f"'{field}'" in str(info.value)
    assert "\n" not in str(info.value)
    assert lite.cases.list() == []


def test_the_database_refuses_a_second_open_case_for_the_same_key(app: AfterSales) -> None:
    from aftersales.errors import StorageError
    from aftersales.store.tables.cases import CaseRow

    order, buyer = an_order(app)
    case = app.cases.open(store="sandbox", buyer_id=buyer, order_id=order, kind="complaint",
                          key="k1")
    with pytest.raises(StorageError), app.store.session() as session:
        row = session.get(CaseRow, case.id)
        assert row is not None
        session.add(CaseRow(store=row.store, kind=row.kind, channel=row.channel,
                            buyer_id=row.buyer_id, order_id=row.order_id, priority="normal",
                            status="received", open_key=row.open_key, subject="",
                            escalation=0, reopened=0, opened_at=row.opened_at))
    assert len(app.cases.list(buyer_id=buyer)) == 1


def test_racing_triggers_in_parallel_still_make_one_case(app: AfterSales, at_once: Any) -> None:
    order, buyer = an_order(app)

    def trigger(n: int) -> Any:
        return lambda: app.cases.open(store="sandbox", buyer_id=buyer, order_id=order,
                                      kind="logistics", key=f"race-{n}")

    results, errors = at_once([trigger(n) for n in range(5)])
    assert errors == []
    assert len({c.id for c in results}) == 1
    assert len(app.cases.get(results[0].id).facts) == 5


def test_a_platform_dispute_on_a_return_opens_one_case_and_each_change_is_a_fact(
        lite: AfterSales) -> None:
    order, buyer = an_order(lite)
    base = {"marketplace": "sandbox", "order_id": order, "rma_id": "RMA-1"}
    emit(lite, "return.dispute_changed", {**base, "dispute": None}, key="d:0")
    assert lite.cases.list(buyer_id=buyer) == []
    for n, status in enumerate(["1", "2"], start=1):
        emit(lite, "return.dispute_changed",
             {**base, "dispute": {"status": status, "platform": "douyin"}}, key=f"d:{n}")
    (case,) = lite.cases.list(buyer_id=buyer)
    got = lite.cases.get(case.id)
    assert got.kind.value == "platform_dispute"
    assert [f.data["dispute"]["status"] for f in got.facts] == ["1", "2"]
    assert got.links["return"] == ["RMA-1"]


def test_a_buyer_message_marked_a_complaint_opens_a_case_once(lite: AfterSales) -> None:
    order, buyer = an_order(lite)
    assert lite.cases.receive_message(store="sandbox", buyer_id=buyer, order_id=order,
                                      message_id="m1", text="when will it ship?") is None
    case = lite.cases.receive_message(store="sandbox", buyer_id=buyer, order_id=order,
                                      message_id="m2", text="杯子碎了，我要投诉", channel="chat")
    assert case is not None
    assert (case.kind.value, case.channel.value, case.order_id) == ("complaint", "chat", order)
    again = lite.cases.receive_message(store="sandbox", buyer_id=buyer, order_id=order,
                                       message_id="m2", text="杯子碎了，我要投诉")
    assert again is not None
    assert again.id == case.id
    # the shop's own classifier marks a message as a complaint by intent
    third = lite.cases.receive_message(store="sandbox", buyer_id=buyer, order_id=order,
                                       message_id="m3", text="the mug arrived in pieces",
                                       intents=["damaged", "complaint"])
    assert third is not None
    assert third.id == case.id
    got = lite.cases.get(case.id)
    assert [f.data["message_id"] for f in got.facts] == ["m2", "m3"]
    assert got.links["message"] == ["m2", "m3"]
    assert len(_events(lite, "message.received")) == 3  # every message once, complaint or not
    assert HoldKind.COMPLAINT in _holds(lite, buyer)


def test_the_shops_complaint_rules_come_from_its_policy(sqlite_url: str, clock: Any) -> None:
    from tests.cases.conftest import make_app

    policy = 'complaint_keywords = ["差评"]\ncomplaint_intents = ["refund_dispute"]\n'
    app = make_app(sqlite_url, clock, cases={"policy": policy})
    try:
        order, buyer = an_order(app)
        assert app.cases.receive_message(store="sandbox", buyer_id=buyer, order_id=order,
                                         message_id="a", text="我要投诉",
                                         intents=["complaint"]) is None
        assert app.cases.receive_message(store="sandbox", buyer_id=buyer, message_id="b",
                                         text="ok", intents=["refund_dispute"]) is not None
    finally:
        app.close()


@pytest.mark.parametrize(("field", "kwargs"), [
    ("message_id", {"message_id": ""}),
    ("text", {"text": " "}),
    ("text", {"text": "x" * 5001}),
    ("intents", {"intents": ["a\nb"]}),
    # one intent given as text was read letter by letter: no complaint, no error
    ("intents", {"text": "hello", "intents": "complaint"}),
    ("intents", {"intents": 5}),
    ("intents", {"intents": ["x"] * 101}),
    ("channel", {"channel": "pigeon"}),
    ("buyer_id", {"buyer_id": None}),
])
def test_hostile_messages_are_one_line_errors_and_record_nothing(
        lite: AfterSales, field: str, kwargs: dict[str, Any]) -> None:
    args = {"store": "sandbox", "buyer_id": "b", "message_id": "m", "text": "投诉", **kwargs}
    with pytest.raises(ValidationError) as info:
        lite.cases.receive_message(**args)
    assert f"'{field}'" in str(info.value)
    assert "\n" not in str(info.value)
    assert _events(lite, "message.received") == []


def test_an_event_too_wide_for_a_case_is_skipped_and_the_rest_of_its_commit_opens(
        app: AfterSales, caplog: pytest.LogCaptureFixture) -> None:
    """A review whose buyer id is 300 characters long failed its whole batch on
    PostgreSQL: the other events of that commit opened nothing, and every tick's
    catch-up failed on the same batch again."""
    hostile = "buyer-" + "9" * 294
    with app.store.session() as session:
        app.events.emit(session, "review.negative",
                        {"marketplace": "sandbox", "buyer_id": hostile, "review_id": "r1",
                         "rating": 1}, key="review.negative:r1")
        app.events.emit(session, "review.negative",
                        {"marketplace": "sandbox", "buyer_id": "good", "review_id": "r2",
                         "rating": 1}, key="review.negative:r2")
    assert [c.buyer_id for c in app.cases.list()] == ["good"]
    assert app.cases.tick().failed == 0
    assert [c.buyer_id for c in app.cases.list()] == ["good"]
    assert hostile not in caplog.text
    mine = [r for r in caplog.records if r.name == "aftersales.cases"]
    assert mine
    assert all(r.exc_info is None and "'buyer_id'" in r.getMessage() for r in mine)


@pytest.mark.parametrize(("field", "kwargs"), [
    ("csat", {"csat": 99}), ("csat", {"csat": 0}), ("csat", {"csat": "5"}),
    ("csat", {"csat": True}), ("nps", {"nps": 11}), ("nps", {"nps": -1}),
    ("nps", {"nps": 7.5}),
])
def test_an_answer_out_of_its_scale_is_refused_by_name(
        lite: AfterSales, field: str, kwargs: dict[str, Any]) -> None:
    """A CSAT of 99 closed the case as satisfied and was stored; "5" was a TypeError."""
    case = lite.cases.open(store="sandbox", buyer_id="b", kind="complaint")
    with pytest.raises(ValidationError) as info:
        lite.cases.record_answer(case.id, **kwargs)
    assert f"'{field}'" in str(info.value)
    after = lite.cases.get(case.id)
    assert (after.status, after.csat, len(after.facts)) == (CaseStatus.RECEIVED, None, 1)


@pytest.mark.parametrize("change", ["priority", "cause"])
def test_an_actor_the_audit_cannot_hold_is_refused_by_name(lite: AfterSales,
                                                            change: str) -> None:
    """Both took any actor; PostgreSQL then refused a long one as an unnamed database error."""
    case = lite.cases.open(store="sandbox", buyer_id="b", kind="complaint")
    with pytest.raises(ValidationError, match="'actor'"):
        if change == "priority":
            lite.cases.set_priority(case.id, "high", actor="a" * 121)
        else:
            lite.cases.set_cause(case.id, "product.quality", valid=True, actor="x\ny")
    assert lite.cases.get(case.id).priority.value == "normal"
    assert lite.cases.get(case.id).root_cause is None


def test_two_cases_of_one_buyer_opened_at_once_count_each_other_as_repeats(
        app: AfterSales, at_once: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The buyer's third case escalates (repeat complainant, two cases before it), also
    when the second and third open at the same instant: on PostgreSQL each counted the
    buyer's cases before the other had committed, so neither escalated."""
    import threading

    from aftersales.cases import repository

    buyer = "B-REPEAT"
    app.cases.open(store="sandbox", buyer_id=buyer, order_id="R-1", kind="inquiry", key="r-1")
    real = repository.prior_cases
    meet = threading.Barrier(2)

    def counted_then_paused(*args: Any, **kwargs: Any) -> int:
        found = real(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)  # the other opening counts now, unless it must wait
        return found

    monkeypatch.setattr(repository, "prior_cases", counted_then_paused)

    def opening(n: int) -> Any:
        return lambda: app.cases.open(store="sandbox", buyer_id=buyer, order_id=f"R-{n}",
                                      kind="inquiry", key=f"r-{n}")

    results, errors = at_once([opening(2), opening(3)])
    assert errors == []
    levels = sorted(app.cases.get(c.id).escalation for c in results)
    assert levels == [0, 1]


def test_two_batches_with_one_buyer_opened_at_once_count_each_other_as_repeats(
        app: AfterSales, at_once: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The set-based path (a page of trigger events) counts the same way."""
    import threading

    from aftersales.cases import opening as batch
    from aftersales.cases.states import CaseChannel, CaseKind, Priority
    from aftersales.cases.triggers import Opening

    buyer = "B-REPEAT"
    app.cases.open(store="sandbox", buyer_id=buyer, order_id="R-1", kind="inquiry", key="r-1")
    real = batch._prior_cases
    meet = threading.Barrier(2)

    def counted_then_paused(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait(timeout=2)
        return found

    monkeypatch.setattr(batch, "_prior_cases", counted_then_paused)

    def page(n: int) -> Any:
        one = Opening(store="sandbox", buyer_id=buyer, order_id=f"R-{n}", kind=CaseKind.INQUIRY,
                      channel=CaseChannel.CHAT, priority=Priority.NORMAL, subject="",
                      key=f"r-{n}", source="test")
        return lambda: app.cases.open_many([one])

    results, errors = at_once([page(2), page(3)])
    assert errors == []
    assert results == [1, 1]
    levels = sorted(c.escalation for c in app.cases.list(buyer_id=buyer) if c.order_id != "R-1")
    assert levels == [0, 1]
