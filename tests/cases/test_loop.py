"""The whole loop in one test, on SQLite and PostgreSQL.

A sandbox negative review opens a case by itself; a root cause is recorded;
a partial refund is proposed, the buyer is told through a channel, and the
refund is paid exactly once through returns; the case is resolved, a 回访 is
scheduled and sent respecting quiet hours and the contact cap; a CSAT of 5
closes the case. Every step is in the case's audit trail and every event is
emitted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.cases import CaseStatus, Resolution
from aftersales.errors import InvalidTransitionError
from aftersales.followups.contact_policy import MessageKind
from aftersales.models import FollowUpStatus
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.tables.core import OrderRow, OutboxRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLANS = """
[plans.case_callback]
kind = "follow_up"
delay = "3d"
channel = "outbox"
subject = "About your complaint"
body = "Hi, is everything all right now with case {case.id}?"
quiet_hours = { start = "21:00", end = "09:00" }
"""
POLICY = """
follow_up_plan = "case_callback"
[targets."*"."*"]
first_response = "4h"
resolution = "2d"
"""


@pytest.fixture
def shop() -> SandboxMarketplace:
    return SandboxMarketplace(seed=0, orders=40)


@pytest.fixture
def loop_app(db_url: str, shop: SandboxMarketplace) -> Iterator[AfterSales]:
    app = AfterSales(db_url, marketplaces=[shop], clock=lambda: shop.now, migrate=False,
                     channels=["outbox"], timezone="Asia/Shanghai", plans=PLANS,
                     cases={"policy": POLICY})
    app.store.create_all()
    yield app
    app.close()


def _outbox(app: AfterSales) -> list[OutboxRow]:
    with app.store.session() as session:
        rows = list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        session.expunge_all()
        return rows


def test_the_whole_loop(loop_app: AfterSales, shop: SandboxMarketplace) -> None:
    app = loop_app
    # 受理: the sandbox's negative reviews open cases by themselves
    app.sync()
    opened = [c for c in app.cases.list(kind="negative_review") if c.order_id]
    assert opened, "the sandbox shop has negative reviews on known orders"
    case = app.cases.get(opened[-1].id)
    assert case.status is CaseStatus.RECEIVED
    assert case.links["review"]
    assert case.facts[0].source == "review.negative"
    # 记录 and 分析
    app.cases.investigate(case.id, note="called the buyer")
    app.cases.set_cause(case.id, "product.quality", valid=True, note="seam split")
    # 方案 and 反馈: a partial refund, the buyer told through the outbox channel
    order = shop.get_order(str(case.order_id))
    amount = Decimal("1.00")
    proposed = app.cases.propose(case.id, Resolution("refund", amount=amount,
                                                     currency=order.currency,
                                                     note="We will refund 1.00 for the seam."))
    assert proposed.status is CaseStatus.AWAITING_CUSTOMER
    told = [r for r in _outbox(app) if r.topic == "message"
            and r.payload["metadata"].get("kind") == "case_proposal"]
    assert len(told) == 1
    assert told[0].payload["buyer_id"] == case.buyer_id
    # the refund, paid once through returns, however often resolving is retried
    resolved = app.cases.resolve(case.id, note="buyer accepted on chat")
    paid = [r for r in shop.refunds_paid if r.order_id == case.order_id]
    assert [r.amount.amount for r in paid] == [amount]
    with pytest.raises(InvalidTransitionError):
        app.cases.resolve(case.id)
    again = app._case_refund(store=case.store, order_id=str(case.order_id),
                             rma_id=resolved.links["return"][0], amount=amount,
                             currency=order.currency, key=f"case:{case.id}:refund:1", note=None)
    assert again["refund"] in resolved.links["refund"]
    assert len([r for r in shop.refunds_paid if r.order_id == case.order_id]) == 1
    # 回访: scheduled three days on, out of quiet hours, under the contact cap
    assert resolved.status is CaseStatus.FOLLOWING_UP
    (callback,) = app.followups.list(plan="case_callback")
    assert str(callback.id) in resolved.links["callback"]
    local = callback.due_at.astimezone(SHANGHAI)
    assert 9 <= local.hour < 21
    # another message reached the buyer just before: the cap (one a day) defers the 回访
    shop.advance(hours=(callback.due_at - shop.now).total_seconds() / 3600 - 1)
    assert app.followups.record_contact(case.buyer_id, MessageKind.OTHER, key="promo-1",
                                        source="promo").allowed
    shop.advance(hours=1)
    report = app.followups.dispatch_due()
    assert report.sent == 0
    assert app.followups.get(int(callback.id or 0)).status is FollowUpStatus.SCHEDULED
    shop.advance(days=1)
    assert app.followups.dispatch_due().sent == 1
    sent_at = shop.now.astimezone(SHANGHAI)
    assert 9 <= sent_at.hour < 21
    # the buyer's answer: CSAT 5 closes the case
    app.followups.record_outcome(int(callback.id or 0), csat=5)
    closed = app.cases.get(case.id)
    assert closed.status is CaseStatus.CLOSED
    assert closed.csat == 5
    # every step in the audit trail
    trail = app.cases.history(case.id)
    assert [e.to_status for e in trail if e.to_status] == [
        "received", "investigating", "proposed", "awaiting_customer", "resolved",
        "following_up", "closed"]
    assert {"root cause"} <= {e.reason for e in trail}
    # every event once
    mine = Counter(r.event_type for r in _outbox(app)
                   if r.topic == "event" and r.payload.get("case_id") == case.id)
    assert mine == {"case.opened": 1, "complaint.opened": 1, "case.investigating": 1,
                    "case.cause_set": 1, "case.proposed": 1, "case.awaiting_customer": 1,
                    "case.resolved": 1, "case.following_up": 1, "case.closed": 1,
                    "complaint.resolved": 1}
    refunds = Counter(r.event_type for r in _outbox(app)
                      if r.payload.get("rma_id") == resolved.links["return"][0])
    assert refunds["return.refunded"] == 1


def test_a_refund_whose_recording_failed_is_not_paid_again_on_retry(
        loop_app: AfterSales, shop: SandboxMarketplace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refund is paid, then recording it on the case fails (a crash, a lost
    connection): resolving again resumes the same refund under the case's key."""
    from aftersales.cases import repository

    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    order = shop.get_order(str(case.order_id))
    app.cases.propose(case.id, Resolution("refund", amount="1.00", currency=order.currency),
                      notify=False)
    real = repository.link
    calls = {"n": 0}

    def failing(*args: object, **kwargs: object) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("lost the database after the refund was paid")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "link", failing)
    with pytest.raises(ConnectionError):
        app.cases.resolve(case.id)
    assert app.cases.get(case.id).status is CaseStatus.PROPOSED  # nothing recorded
    assert len([r for r in shop.refunds_paid if r.order_id == case.order_id]) == 1
    resolved = app.cases.resolve(case.id)
    assert resolved.status in (CaseStatus.RESOLVED, CaseStatus.FOLLOWING_UP)
    assert len([r for r in shop.refunds_paid if r.order_id == case.order_id]) == 1


def test_a_proposal_told_then_lost_is_told_again_under_its_key(
        loop_app: AfterSales, shop: SandboxMarketplace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The channel took the message, then its answer was lost: proposing the same
    resolution again tells the buyer under the same key (one message), where the
    only way on was a new proposal with a new key: a second message."""
    from aftersales.errors import TransientError

    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    app.cases.investigate(case.id)
    real = app.runtime.channel
    lost = {"n": 0}

    class LosesTheFirstAnswer:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def send(self, message: object) -> object:
            receipt = self.inner.send(message)  # type: ignore[attr-defined]
            lost["n"] += 1
            if lost["n"] == 1:
                raise TransientError("the answer was lost", adapter="outbox")
            return receipt

    monkeypatch.setattr(app.runtime, "channel", lambda name: LosesTheFirstAnswer(real(name)))
    offer = Resolution("reship", note="A new one is on its way.")
    with pytest.raises(TransientError):
        app.cases.propose(case.id, offer)
    assert app.cases.get(case.id).status is CaseStatus.PROPOSED
    with pytest.raises(InvalidTransitionError):  # another offer needs a step back first
        app.cases.propose(case.id, Resolution("explanation"))
    told = app.cases.propose(case.id, Resolution("reship", note="A new one is on its way."))
    assert told.status is CaseStatus.AWAITING_CUSTOMER
    assert (told.resolution or {})["number"] == 1
    sent = [r for r in _outbox(app) if r.topic == "message"
            and r.payload["metadata"].get("kind") == "case_proposal"]
    assert len(sent) == 1
    assert sent[0].payload["body"] == "A new one is on its way."


def test_a_callback_that_failed_after_resolving_is_scheduled_by_resolving_again(
        loop_app: AfterSales, shop: SandboxMarketplace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case is resolved, then scheduling its 回访 fails (or its answer is lost):
    resolving again schedules it once, where it refused (already resolved) and the
    回访 was never made."""
    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    app.cases.propose(case.id, Resolution("reship"), notify=False)
    real = app.cases._schedule_callback
    assert real is not None
    calls = {"n": 0}

    def loses_the_first_answer(*args: object, **kwargs: object) -> int:
        follow_up = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("lost the answer after the 回访 was scheduled")
        return follow_up

    monkeypatch.setattr(app.cases, "_schedule_callback", loses_the_first_answer)
    with pytest.raises(ConnectionError):
        app.cases.resolve(case.id)
    assert app.cases.get(case.id).status is CaseStatus.RESOLVED
    again = app.cases.resolve(case.id)
    assert again.status is CaseStatus.FOLLOWING_UP
    (callback,) = app.followups.list(plan="case_callback")
    assert again.links["callback"] == [str(callback.id)]
    with pytest.raises(InvalidTransitionError):  # nothing left to resume
        app.cases.resolve(case.id)


def test_a_proposal_the_channel_refused_leaves_no_contact_behind(
        loop_app: AfterSales, shop: SandboxMarketplace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel that refused the message (sent nothing) left its contact in the
    log: the buyer's frequency cap counted a message never sent, and held back
    the next one. A lost answer (the message may have gone) keeps its contact."""
    from sqlalchemy import func

    from aftersales.errors import RemoteRejectedError
    from aftersales.followups.contact_policy import MessageKind
    from aftersales.store.tables.followups import ContactLogRow

    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    app.cases.investigate(case.id)

    class Refuses:
        name = "outbox"

        def send(self, message: object) -> object:
            raise RemoteRejectedError("no such recipient", adapter="outbox")

    before = app.followups.check_contact(case.buyer_id, MessageKind.RETURN_UPDATE)
    monkeypatch.setattr(app.runtime, "channel", lambda name: Refuses())
    with pytest.raises(RemoteRejectedError):
        app.cases.propose(case.id, Resolution("reship", note="A new one is on its way."))
    with app.store.session() as session:
        logged = session.scalar(select(func.count()).select_from(ContactLogRow).where(
            ContactLogRow.source == f"case:{case.id}"))
    assert logged == 0
    after = app.followups.check_contact(case.buyer_id, MessageKind.RETURN_UPDATE)
    assert after.verdict == before.verdict


def test_a_proposal_by_email_goes_to_the_buyers_address(
        db_url: str, shop: SandboxMarketplace) -> None:
    """Through an e-mail channel the buyer was "written" at their buyer id: the
    smtp channel refused it as no address, and the proposal never went out.
    As follow-ups do, an e-mail channel takes the order's buyer e-mail."""
    from aftersales.models import Receipt

    class Mail:
        name = "smtp"

        def __init__(self) -> None:
            self.to: list[str] = []

        def send(self, message: Any) -> Receipt:
            if message.metadata.get("kind") == "case_proposal":  # not the shop's alerts
                self.to.append(message.to)
            return Receipt(channel=self.name, message_id=f"m{len(self.to)}",
                           accepted_at=shop.now)

    mail = Mail()
    app = AfterSales(db_url, marketplaces=[shop], clock=lambda: shop.now, migrate=False,
                     channels=[mail], timezone="Asia/Shanghai", plans=PLANS,
                     cases={"policy": POLICY})
    try:
        app.store.create_all()
        app.sync()
        case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
        app.cases.investigate(case.id)
        told = app.cases.propose(case.id, Resolution("reship", note="A new one is coming."))
        assert told.status is CaseStatus.AWAITING_CUSTOMER
        with app.store.session() as session:
            order = session.scalars(select(OrderRow).where(
                OrderRow.marketplace == case.store,
                OrderRow.external_id == case.order_id)).one()
            email = order.buyer["email"]
        assert mail.to == [email]
    finally:
        app.close()


def test_a_refund_in_another_currency_than_the_order_is_refused_when_proposed(
        loop_app: AfterSales, shop: SandboxMarketplace) -> None:
    """The buyer must never be told of a refund the returns area will refuse: a
    refund in another currency than the order's was proposed (and the buyer told),
    and refused only when the case was resolved."""
    from aftersales.errors import ValidationError

    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    order = shop.get_order(str(case.order_id))
    other = "USD" if order.currency != "USD" else "EUR"
    before = len(_outbox(app))
    with pytest.raises(ValidationError, match="field 'currency'"):
        app.cases.propose(case.id, Resolution("refund", amount="1.00", currency=other))
    after = app.cases.get(case.id)
    assert (after.status, after.resolution) == (case.status, case.resolution)
    assert len(_outbox(app)) == before  # nothing told, nothing recorded
    if order.currency in ("CNY", "USD", "EUR"):  # two decimals: three are one too many
        with pytest.raises(ValidationError, match="field 'amount'"):
            app.cases.propose(case.id, Resolution("refund", amount="1.005"), notify=False)
    proposed = app.cases.propose(case.id, Resolution("refund", amount="1.00",
                                                     currency=order.currency), notify=False)
    assert proposed.resolution is not None
    assert proposed.resolution["currency"] == order.currency


def _paid(shop: SandboxMarketplace, order_id: str | None) -> list[Decimal]:
    return [r.amount.amount for r in shop.refunds_paid if r.order_id == order_id]


def test_a_proposal_cannot_replace_one_whose_refund_was_paid_but_not_recorded(
        loop_app: AfterSales, shop: SandboxMarketplace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Proposal 1's refund is paid, then recording it fails: a new refund proposal
    would have been paid as well (the buyer refunded 1.00 + 2.00 for one complaint)."""
    from aftersales.cases import repository
    from aftersales.errors import ValidationError

    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    currency = shop.get_order(str(case.order_id)).currency
    told = app.cases.propose(case.id, Resolution("refund", amount="1.00", currency=currency))
    assert told.status is CaseStatus.AWAITING_CUSTOMER
    real = repository.link
    calls = {"n": 0}

    def failing(*args: object, **kwargs: object) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("lost the database after the refund was paid")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "link", failing)
    with pytest.raises(ConnectionError):
        app.cases.resolve(case.id)
    with pytest.raises(ValidationError, match="field 'resolution': the refund of proposal 1 "
                                              "has started"):
        app.cases.propose(case.id, Resolution("refund", amount="2.00", currency=currency),
                          notify=False)
    again = app.cases.propose(case.id, Resolution("refund", amount="1.00", currency=currency),
                              notify=False)  # the same offer is still welcome
    assert again.resolution is not None
    assert again.resolution["number"] == 1
    resolved = app.cases.resolve(case.id)
    assert resolved.status in (CaseStatus.RESOLVED, CaseStatus.FOLLOWING_UP)
    assert _paid(shop, case.order_id) == [Decimal("1.00")]


def test_a_proposal_made_while_its_refund_is_being_paid_is_refused(
        loop_app: AfterSales, shop: SandboxMarketplace) -> None:
    """Another person proposes while resolving pays: the case was marked resolved with
    the new proposal done, though only the old one was paid."""
    from aftersales.errors import ValidationError

    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    currency = shop.get_order(str(case.order_id)).currency
    told = app.cases.propose(case.id, Resolution("refund", amount="1.00", currency=currency))
    assert told.status is CaseStatus.AWAITING_CUSTOMER
    service = app.cases
    pay = service._refund
    assert pay is not None
    refused: list[str] = []

    def paying(**kwargs: Any) -> dict[str, Any]:
        try:  # the other person, in the middle of the payment
            service.propose(case.id, Resolution("refund", amount="2.00", currency=currency),
                            notify=False)
        except ValidationError as exc:
            refused.append(str(exc))
        return pay(**kwargs)

    service._refund = paying
    resolved = service.resolve(case.id)
    assert refused
    assert "the refund of proposal 1 has started" in refused[0]
    assert resolved.resolution is not None
    assert (resolved.resolution["amount"], resolved.resolution["done"]) == ("1.00", True)
    assert _paid(shop, case.order_id) == [Decimal("1.00")]


def test_a_refund_the_returns_area_refused_can_be_proposed_anew(
        loop_app: AfterSales, shop: SandboxMarketplace) -> None:
    from aftersales.errors import ValidationError

    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    order = shop.get_order(str(case.order_id))
    too_much = str(order.total.amount * 10)
    app.cases.propose(case.id, Resolution("refund", amount=too_much, currency=order.currency))
    with pytest.raises(ValidationError):
        app.cases.resolve(case.id)  # more than the order: refused, nothing paid
    app.cases.propose(case.id, Resolution("refund", amount="1.00", currency=order.currency),
                      notify=False)
    app.cases.resolve(case.id)
    assert _paid(shop, case.order_id) == [Decimal("1.00")]


def test_a_proposal_retried_after_it_was_told_tells_the_buyer_once(
        loop_app: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole call went through (buyer told, case awaiting the customer) but its
    answer never reached the caller, who proposes the same again: it was a second
    proposal under a new key, a second message to the buyer and a second contact."""
    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    offer = Resolution("reship", note="A new one is on its way.")
    first = app.cases.propose(case.id, offer)
    assert first.status is CaseStatus.AWAITING_CUSTOMER
    real, sends = app.runtime.channel, []

    class Counting:  # a channel that would send the same message twice (SMTP)
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def send(self, message: Any) -> Any:
            sends.append(message.idempotency_key)
            return self.inner.send(message)

    monkeypatch.setattr(app.runtime, "channel", lambda name: Counting(real(name)))
    again = app.cases.propose(case.id, Resolution("reship", note="A new one is on its way."))
    assert again.status is CaseStatus.AWAITING_CUSTOMER
    assert (again.resolution or {})["number"] == 1
    assert again.version == first.version  # nothing new recorded
    assert sends == []  # nothing sent again
    sent = [r for r in _outbox(app) if r.topic == "message"
            and r.payload["metadata"].get("kind") == "case_proposal"]
    assert len(sent) == 1
    other = app.cases.propose(case.id, Resolution("explanation", note="It was fine."))
    assert (other.resolution or {})["number"] == 2  # another offer is a new proposal


def test_a_case_closed_while_its_refund_was_paid_still_records_the_refund(
        loop_app: AfterSales, shop: SandboxMarketplace) -> None:
    """Another person closed the case while resolving paid its refund: the money went
    out, then resolving failed (closed cannot move to resolved) and rolled back the
    record of it, leaving a closed case with no trace of the refund."""
    app = loop_app
    app.sync()
    case = next(c for c in app.cases.list(kind="negative_review") if c.order_id)
    currency = shop.get_order(str(case.order_id)).currency
    app.cases.propose(case.id, Resolution("refund", amount="1.00", currency=currency))
    service = app.cases
    pay = service._refund
    assert pay is not None

    def paying(**kwargs: Any) -> dict[str, Any]:
        paid = pay(**kwargs)
        service.close(case.id, note="closed by a colleague")  # the other person
        return paid

    service._refund = paying
    after = service.resolve(case.id)
    assert after.status is CaseStatus.CLOSED
    assert after.resolution is not None
    assert after.resolution["done"] is True
    assert "refund" in after.links
    assert any(f.source == "returns.refund" for f in after.facts)
    assert "callback" not in after.links  # no 回访 for a case someone closed
    assert _paid(shop, case.order_id) == [Decimal("1.00")]
    assert any(e.reason == "refund paid after the case was closed"
               for e in app.cases.history(case.id))
    service._refund = pay
    with pytest.raises(InvalidTransitionError):
        service.resolve(case.id)  # nothing left to do: refused, nothing paid again
    assert _paid(shop, case.order_id) == [Decimal("1.00")]
