"""A channel that fails in ways it should not: the row fails, the batch goes on, nothing leaks."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.errors import RemoteRejectedError, ValidationError
from aftersales.followups.contact_policy import HoldKind, MessageKind
from aftersales.followups.plans import FollowUpPlan
from aftersales.models import FollowUpStatus, Message
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.followups import ContactHoldRow, ContactLogRow, FollowUpRow

PLAN = FollowUpPlan(name="nudge", channel="recorder", body="Still happy, {buyer.name}?")
NAME, EMAIL, PHONE = "Alice Wongsworth", "alice.private@example.com", "+86 138 0013 8000"
PERSONAL = ("Alice", "Wongsworth", "alice.private", "138 0013 8000", "13800138000")


def _buyer() -> dict[str, Any]:
    return {"buyer": {"name": NAME, "email": EMAIL, "phone": PHONE}}


def _assert_clean(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, f"{value!r} leaked into {text!r}"


def test_a_channel_bug_fails_its_row_and_the_batch_goes_on(
    app: Any, clock: Any, recorder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A custom channel raising something other than an AfterSalesError (a
    # ValueError from a library it uses) used to escape dispatch_due: the
    # whole claimed batch stayed leased, every tick re-claimed the same
    # first row and raised again, and no follow-up behind it was ever sent.
    app.followups.register(PLAN)
    bad = app.followups.schedule("nudge", buyer_id="b1", context=_buyer(), due_at=clock.now).id
    good = app.followups.schedule("nudge", buyer_id="b2", context={"buyer": {"name": "Bo"}},
                                  due_at=clock.now).id

    def explode(message: Message) -> None:
        if message.buyer_id == "b1":
            raise ValueError(f"cannot deliver to {NAME} <{EMAIL}> / {PHONE}")

    recorder.on_send = explode
    with caplog.at_level(logging.DEBUG):
        report = app.followups.dispatch_due()
    assert (report.claimed, report.sent, report.failed) == (2, 1, 1)
    failed = app.followups.get(bad)
    assert failed.status is FollowUpStatus.FAILED
    assert (failed.last_error or "").startswith("ValueError")
    _assert_clean(failed.last_error or "")
    _assert_clean(" ".join(report.reasons.values()))
    _assert_clean(caplog.text)
    assert app.followups.get(good).status is FollowUpStatus.SENT
    with app.store.session() as s:  # the failed send's contact reservation is freed
        assert list(s.scalars(select(ContactLogRow.buyer_id))) == ["b2"]
    assert app.followups.dispatch_due().claimed == 0  # nothing left leased to come back


def test_a_channel_error_quoting_the_buyer_is_masked_in_the_stored_reason(
    app: Any, clock: Any, recorder: Any
) -> None:
    # A provider's refusal often quotes the buyer it could not reach, with no
    # cue word before the name; the dispatcher knows the buyer, so it masks
    # the buyer's own name, e-mail and phone in whatever the channel said.
    app.followups.register(PLAN)
    fid = app.followups.schedule("nudge", buyer_id="b1", context=_buyer(), due_at=clock.now).id
    recorder.fail_with = RemoteRejectedError(f"{NAME} has blocked messages from the shop",
                                             adapter="recorder", status=422)
    report = app.followups.dispatch_due()
    assert report.failed == 1
    stored = app.followups.get(fid).last_error or ""
    assert "blocked messages" in stored
    _assert_clean(stored)
    _assert_clean(" ".join(report.reasons.values()))


NAIVE = datetime(2024, 6, 3, 3, 0)


@pytest.mark.parametrize(("call", "field"), [
    (lambda f: f.dispatch_due(now=NAIVE), "now"),
    (lambda f: f.check_contact("b1", MessageKind.OTHER, now=NAIVE), "now"),
    (lambda f: f.record_contact("b1", MessageKind.OTHER, key="k", at=NAIVE), "at"),
    (lambda f: f.hold("b1", HoldKind.RETURN, "r1", at=NAIVE), "at"),
    (lambda f: f.resolve_hold("b1", HoldKind.RETURN, at=NAIVE), "at"),
    (lambda f: f.metrics(since=NAIVE), "since"),
    (lambda f: f.metrics(until=NAIVE), "until"),
])
def test_naive_datetimes_are_refused_by_name_and_write_nothing(
    app: Any, clock: Any, call: Any, field: str
) -> None:
    # These reached the store and came back as a StorageError ("database
    # error: refusing to store a naive datetime"), or, where nothing was
    # written yet (resolve_hold with no open hold), were accepted silently.
    app.followups.register(PLAN)
    fid = app.followups.schedule("nudge", buyer_id="b1", context=_buyer(), due_at=clock.now).id
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        call(app.followups)
    assert app.followups.get(fid).status is FollowUpStatus.SCHEDULED
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(ContactLogRow)) == 0
        assert s.scalar(select(func.count()).select_from(ContactHoldRow)) == 0


def test_a_worker_that_lost_its_lease_keeps_the_new_holders_contact(
    make_app: Any, clock: Any, recorder: Any, tmp_path: Any
) -> None:
    # Worker A's send outlasts its lease; worker B takes the row over, sends
    # it and logs the contact. A's send then fails: A used to delete the
    # contact by the follow-up's key before noticing it no longer held the
    # row, so B's contact vanished from the log and the frequency cap let
    # another message through to the same buyer.
    from aftersales.errors import TransientError

    url = f"sqlite:///{tmp_path}/shared.db"
    first = make_app(url)
    second = make_app(url)
    nudge = FollowUpPlan(name="nudge", channel="recorder", body="Hi {buyer.name}")
    other = FollowUpPlan(name="other", channel="recorder", body="Hello again {buyer.name}")
    for app in (first, second):
        app.followups.register(nudge, other)
    fid = first.followups.schedule("nudge", buyer_id="b1", context=_buyer(),
                                   due_at=clock.now).id
    calls: list[str] = []

    def slow_then_fail(message: Message) -> None:
        calls.append(message.idempotency_key)
        if len(calls) == 1:  # A, mid-send: its lease runs out and B takes over
            recorder.fail_with = None
            clock.advance(minutes=6)
            assert second.followups.dispatch_due().sent == 1
            recorder.fail_with = TransientError("gateway timeout", adapter="recorder")

    recorder.on_send = slow_then_fail
    report = first.followups.dispatch_due()
    assert report.lost_lease == 1
    assert first.followups.get(fid).status is FollowUpStatus.SENT
    with first.store.session() as s:
        assert s.scalar(select(func.count()).select_from(ContactLogRow)) == 1
    recorder.on_send = None
    recorder.fail_with = None
    later = first.followups.schedule("other", buyer_id="b1", context=_buyer(),
                                     due_at=clock.now).id
    assert first.followups.dispatch_due().deferred == 1  # the cap still sees B's message
    assert first.followups.get(later).last_error == "frequency cap reached"


def test_a_slow_batch_renews_each_lease_from_the_clock_not_the_batch_start(
    make_app: Any, clock: Any, recorder: Any, tmp_path: Any
) -> None:
    # The lease was renewed to batch start + lease before each send. After a
    # slow first send (6 minutes of SMTP timeouts), the second row's
    # "renewed" lease had already run out: another worker claimed it while
    # it was being sent, and the buyer got the message twice.
    url = f"sqlite:///{tmp_path}/shared.db"
    first = make_app(url)
    second = make_app(url)
    for app in (first, second):
        app.followups.register(PLAN)
    for n in range(2):
        first.followups.schedule("nudge", buyer_id=f"b{n}", due_at=clock.now,
                                 context={"buyer": {"name": "Li"}})
    taken: list[int] = []

    def slow(message: Message) -> None:
        if message.buyer_id == "b0":
            clock.advance(minutes=6)  # the first send hangs past the claim's lease
        else:  # while the second is being sent, another worker ticks
            taken.append(second.followups.dispatch_due().claimed)

    recorder.on_send = slow
    report = first.followups.dispatch_due()
    assert (report.claimed, report.sent) == (2, 2)
    assert taken == [0]
    assert sorted(m.buyer_id or "" for m in recorder.sent) == ["b0", "b1"]


class _RefusingOutbox:
    """A transactional channel (writes in the dispatch's own transaction) that refuses,
    quoting the buyer, as a database-backed SMS queue might."""

    name = "smsqueue"
    transactional = True

    def send(self, message: Message) -> Any:
        raise AssertionError("a transactional channel is sent to with send_in")

    def send_in(self, session: Any, message: Message) -> Any:
        raise RemoteRejectedError(f"no subscriber {NAME} at {PHONE}", adapter=self.name,
                                  body=f"refused: {NAME}")


def test_the_dispatch_failed_warning_masks_the_buyer_at_debug(
    app: Any, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # An error that leaves dispatch_due (here a transactional channel's
    # refusal) is logged as "dispatch failed …" after the send's masking
    # block has closed: it printed the buyer's name whole.
    app.runtime.channels["smsqueue"] = _RefusingOutbox()
    app.followups.register(FollowUpPlan(name="sms", channel="smsqueue", body="Hi {buyer.name}"))
    app.followups.schedule("sms", buyer_id="b1", context=_buyer(), due_at=clock.now)
    with caplog.at_level(logging.DEBUG), pytest.raises(RemoteRejectedError) as raised:
        app.followups.dispatch_due()
    assert "dispatch failed" in caplog.text
    _assert_clean(caplog.text)
    _assert_clean(str(raised.value))
    _assert_clean(raised.value.body or "")


def test_sent_at_is_when_the_channel_took_the_message_not_the_claim(
    app: Any, clock: Any, recorder: Any
) -> None:
    # A slow channel (seven minutes for an SMTP server to answer) recorded
    # the batch's claim time as sent_at, seven minutes before the buyer could
    # have had the message.
    app.followups.register(PLAN)
    claimed_at = clock.now
    fid = app.followups.schedule("nudge", buyer_id="b1", context=_buyer(), due_at=clock.now).id
    recorder.on_send = lambda message: clock.advance(minutes=7)
    assert app.followups.dispatch_due().sent == 1
    with app.store.session() as s:
        assert s.get(FollowUpRow, fid).sent_at == claimed_at + timedelta(minutes=7)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_store_with_a_long_name_gets_its_marketplace_follow_ups(
    make_app: Any, request: pytest.FixtureRequest, db: str
) -> None:
    # The contact log's channel column holds 40 characters; the marketplace
    # channel is called "marketplace:<store>", 52 for a 40-character store
    # name: PostgreSQL refused the contact, and dispatch_due failed on that
    # row every tick.
    from aftersales.sandbox import SandboxMarketplace

    name = "shop-" + "x" * 35  # 40 characters, the longest store name
    url = request.getfixturevalue("pg_url") if db == "postgresql" else None
    app = make_app(url, marketplaces=[SandboxMarketplace(seed=0, orders=3, name=name)])
    app.sync_orders(name)
    with app.store.session() as s:
        order = s.scalars(select(OrderRow)).first()
        buyer, order_id = order.buyer_id, order.external_id
    app.followups.register(FollowUpPlan(name="mp", channel="marketplace", body="Hi"))
    fid = app.followups.schedule("mp", buyer_id=buyer, order_id=order_id, marketplace=name,
                                 due_at=app.runtime.now()).id
    report = app.followups.dispatch_due()
    assert (report.sent, report.failed) == (1, 0), report.reasons
    assert app.followups.get(fid).status is FollowUpStatus.SENT
    with app.store.session() as s:
        (channel,) = s.scalars(select(ContactLogRow.channel))
    assert channel.startswith("marketplace:shop-")


def test_a_rate_limited_channel_keeps_its_queue_until_the_limit_lifts(
    app: Any, clock: Any, recorder: Any
) -> None:
    # A 429 (a marketplace's messaging quota, an endpoint throttling) says
    # nothing of the follow-up: each follow-up of the queue met it in turn,
    # one attempt each, retried a minute later into the same limit, and the
    # whole queue ended failed after max_attempts. The queue now waits for
    # the limit's Retry-After (or the plan's wait when longer), as for a
    # channel out of reach, and the run stops at the first refusal.
    from aftersales.errors import RateLimitError

    app.followups.register(PLAN)
    for i in range(4):
        app.followups.schedule("nudge", buyer_id=f"b{i}", context=_buyer(), due_at=clock.now)
    calls: list[str] = []
    recorder.on_send = lambda m: calls.append(m.buyer_id)
    recorder.fail_with = RateLimitError("rate limited", adapter="recorder", status=429,
                                        retry_after=3600)
    report = app.followups.dispatch_due()
    assert (report.failed, report.retried, len(calls)) == (0, 0, 1)
    assert "rate limited" in report.stopped
    rows = app.followups.list(limit=10)
    assert {(r.status, r.attempts) for r in rows} == {(FollowUpStatus.SCHEDULED, 0)}
    assert min(r.due_at for r in rows) == clock.now + timedelta(hours=1)
    clock.advance(minutes=59)
    assert app.followups.dispatch_due().claimed == 0
    clock.advance(hours=2)
    recorder.fail_with = None
    assert app.followups.dispatch_due().sent == 4


@pytest.mark.parametrize(("hint", "wait"), [
    (float("nan"), None), (float("inf"), None), (-5.0, None), (0.0, None),
    (1e12, timedelta(days=1)), (10**30, timedelta(days=1)),
])
def test_a_rate_limits_hostile_hint_is_bounded(
    app: Any, clock: Any, recorder: Any, hint: float, wait: timedelta | None
) -> None:
    # The hint is the provider's: a NaN or an infinity is no hint (the
    # plan's own wait), and a year is a day.
    from aftersales.errors import RateLimitError

    app.followups.register(PLAN)
    app.followups.schedule("nudge", buyer_id="b1", context=_buyer(), due_at=clock.now)
    recorder.fail_with = RateLimitError("rate limited", adapter="recorder", status=429,
                                        retry_after=hint)
    report = app.followups.dispatch_due()
    assert (report.failed, report.retried) == (0, 0)
    (row,) = app.followups.list(limit=10)
    expected = clock.now + (wait or PLAN.retry.delay(1, "recorder"))
    assert (row.status, row.attempts, row.due_at) == (FollowUpStatus.SCHEDULED, 0, expected)


def test_a_receipt_id_no_column_can_hold_is_stored_readable_and_sent_once(
    make_app: Any, clock: Any, recorder: Any, db_url: str
) -> None:
    # A channel's receipt id is the provider's (an X-Request-Id, a JSON
    # field): a lone surrogate in it raised UnicodeEncodeError out of
    # dispatch_due after the send, the follow-up stayed claimed, and each
    # lease later it was sent again, for ever.
    from aftersales.models import Receipt

    app = make_app(db_url)
    app.followups.register(PLAN)
    fid = app.followups.schedule("nudge", buyer_id="b1", context=_buyer(), due_at=clock.now).id
    plain = recorder.send

    def send(message: Message) -> Receipt:
        plain(message)
        return Receipt(channel="recorder", message_id="id\ud800-\x00-" + "x" * 300,
                       accepted_at=clock.now)

    recorder.send = send
    report = app.followups.dispatch_due()
    assert (report.sent, report.failed) == (1, 0)
    clock.advance(hours=1)
    assert app.followups.dispatch_due().claimed == 0
    assert len(recorder.sent) == 1
    assert app.followups.get(fid).status is FollowUpStatus.SENT
    with app.store.session() as s:
        stored = s.scalar(select(FollowUpRow.receipt_id).where(FollowUpRow.id == fid)) or ""
    assert stored.startswith("id\ufffd-\ufffd-x")
    assert len(stored) == 200


def test_a_send_that_goes_through_clears_a_failure_another_worker_counted(
    make_app: Any, clock: Any, recorder: Any
) -> None:
    # The failing channels were read once a run: a failure another worker
    # counted while this run went on was never cleared by this run's later
    # sends, and the channel's next outage started from that count.
    from aftersales.followups import repository as repo

    app = make_app(followups={"batch": 1})
    app.followups.register(PLAN)
    for i in range(3):
        app.followups.schedule("nudge", buyer_id=f"b{i}", context=_buyer(), due_at=clock.now)

    def other_worker_fails(message: Message) -> None:
        if message.buyer_id == "b1":
            with app.runtime.unit_of_work() as session:
                repo.channel_failed(session, "recorder", now=clock.now,
                                    retry_for=lambda n: clock.now)

    recorder.on_send = other_worker_fails
    assert app.followups.dispatch_due().sent == 3
    with app.runtime.unit_of_work() as session:
        assert repo.failing_channels(session) == {}


def test_a_channel_returning_no_receipt_fails_its_row_and_the_batch_goes_on(
    app: Any, clock: Any, recorder: Any
) -> None:
    # A custom channel that returns None (or anything but a Receipt): the
    # record raised AttributeError out of dispatch_due, the follow-up stayed
    # claimed and was sent again every lease, and none behind it went out.
    app.followups.register(PLAN)
    bad = app.followups.schedule("nudge", buyer_id="b1", context=_buyer(), due_at=clock.now).id
    good = app.followups.schedule("nudge", buyer_id="b2", context=_buyer(), due_at=clock.now).id
    plain = recorder.send

    def send(message: Message) -> Any:
        receipt = plain(message)
        return None if message.buyer_id == "b1" else receipt

    recorder.send = send
    report = app.followups.dispatch_due()
    assert (report.sent, report.failed) == (1, 1)
    failed = app.followups.get(bad)
    assert failed.status is FollowUpStatus.FAILED
    assert "not a Receipt" in (failed.last_error or "")
    assert app.followups.get(good).status is FollowUpStatus.SENT
    clock.advance(hours=1)
    assert app.followups.dispatch_due().claimed == 0
    assert len(recorder.sent) == 2
