"""The one contact policy: caps across plans and channels, holds, opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.followups.contact_policy import (
    Contact,
    ContactPolicy,
    FrequencyCap,
    HoldKind,
    MessageKind,
    Verdict,
)

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
POLICY = ContactPolicy()


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def test_first_message_goes() -> None:
    assert POLICY.decide(MessageKind.FOLLOW_UP, now=NOW).allowed


def test_daily_cap_counts_other_plans_and_channels() -> None:
    # A review request sent by e-mail an hour ago caps a follow-up through the outbox.
    history = [Contact(ago(hours=1), MessageKind.REVIEW_REQUEST, "smtp", "review")]
    decision = POLICY.decide(MessageKind.FOLLOW_UP, now=NOW, history=history)
    assert decision.verdict is Verdict.DEFER
    assert decision.reason == "frequency cap reached"
    assert decision.retry_at == ago(hours=1) + timedelta(days=1)


def test_weekly_cap_waits_for_oldest_counted_contact() -> None:
    history = [
        Contact(ago(days=6), MessageKind.FOLLOW_UP, "outbox", "a"),
        Contact(ago(days=4), MessageKind.CALLBACK, "webhook", "b"),
        Contact(ago(days=2), MessageKind.RETURN_UPDATE, "smtp", "returns"),
    ]
    decision = POLICY.decide(MessageKind.FOLLOW_UP, now=NOW, history=history)
    assert decision.verdict is Verdict.DEFER
    assert decision.retry_at == ago(days=6) + timedelta(days=7)
    # and once that moment comes, it goes
    later = POLICY.decide(MessageKind.FOLLOW_UP, now=decision.retry_at, history=history)
    assert later.allowed


def test_contacts_outside_period_do_not_count() -> None:
    history = [Contact(ago(days=1, seconds=1), MessageKind.FOLLOW_UP)]
    assert POLICY.decide(MessageKind.FOLLOW_UP, now=NOW, history=history).allowed


def test_return_updates_are_exempt_but_counted() -> None:
    history = [Contact(ago(hours=2), MessageKind.FOLLOW_UP)]
    assert POLICY.decide(MessageKind.RETURN_UPDATE, now=NOW, history=history).allowed
    # the update it sent counts against the next follow-up
    updates = [Contact(ago(hours=2), MessageKind.RETURN_UPDATE)]
    assert not POLICY.decide(MessageKind.FOLLOW_UP, now=NOW, history=updates).allowed


def test_review_request_held_while_return_open() -> None:
    decision = POLICY.decide(
        MessageKind.REVIEW_REQUEST, now=NOW, open_holds=[HoldKind.RETURN]
    )
    assert decision.verdict is Verdict.DEFER
    assert decision.reason == "on hold: open return"
    assert decision.retry_at == NOW + POLICY.hold_recheck


def test_review_request_held_after_negative_review_and_complaint() -> None:
    for hold in (HoldKind.NEGATIVE_REVIEW, HoldKind.COMPLAINT):
        decision = POLICY.decide(MessageKind.REVIEW_REQUEST, now=NOW, open_holds=[hold])
        assert decision.verdict is Verdict.DEFER
        assert hold.value in (decision.reason or "")


def test_holds_do_not_block_other_kinds() -> None:
    holds = list(HoldKind)
    assert POLICY.decide(MessageKind.FOLLOW_UP, now=NOW, open_holds=holds).allowed
    assert POLICY.decide(MessageKind.CALLBACK, now=NOW, open_holds=holds).allowed


def test_opt_out_refuses_for_good_even_if_exempt() -> None:
    decision = POLICY.decide(MessageKind.RETURN_UPDATE, now=NOW, opted_out=True)
    assert decision.verdict is Verdict.REFUSE
    assert decision.retry_at is None


def test_cap_limited_to_kinds() -> None:
    policy = ContactPolicy(
        caps=(FrequencyCap(limit=1, period=timedelta(days=30),
                           kinds=frozenset({MessageKind.REVIEW_REQUEST})),),
    )
    history = [Contact(ago(days=3), MessageKind.REVIEW_REQUEST)]
    assert not policy.decide(MessageKind.REVIEW_REQUEST, now=NOW, history=history).allowed
    assert policy.decide(MessageKind.FOLLOW_UP, now=NOW, history=history).allowed
    assert policy.lookback == timedelta(days=30)


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=10 * 24 * 3600), max_size=8),
    limit=st.integers(min_value=1, max_value=4),
    days=st.integers(min_value=1, max_value=7),
)
def test_a_deferred_message_fits_exactly_at_retry_at(
    offsets: list[int], limit: int, days: int
) -> None:
    cap = FrequencyCap(limit=limit, period=timedelta(days=days))
    policy = ContactPolicy(caps=(cap,), exempt=frozenset())
    history = [Contact(NOW - timedelta(seconds=s), MessageKind.FOLLOW_UP) for s in offsets]
    decision = policy.decide(MessageKind.FOLLOW_UP, now=NOW, history=history)
    in_window = sum(1 for c in history if c.sent_at > NOW - cap.period)
    assert decision.allowed == (in_window < limit)
    if not decision.allowed:
        assert decision.retry_at is not None
        assert decision.retry_at > NOW
        assert policy.decide(MessageKind.FOLLOW_UP, now=decision.retry_at,
                             history=history).allowed
        assert not policy.decide(MessageKind.FOLLOW_UP,
                                 now=decision.retry_at - timedelta(seconds=1),
                                 history=history).allowed
