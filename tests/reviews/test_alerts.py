"""Each alert rule, as a pure function of review snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.models import Sentiment
from aftersales.reviews.alerts import (
    AlertConfig,
    AlertRule,
    ReviewSnapshot,
    review_alerts,
    spike_alert,
    spikes,
)
from aftersales.reviews.classify import Severity

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def snap(
    key: str = "m:1",
    *,
    rating: int = 1,
    sentiment: Sentiment = Sentiment.NEGATIVE,
    complaints: tuple[str, ...] = (),
    severity: Severity = Severity.MEDIUM,
    sku: str | None = "SKU-1",
    at: datetime = T0,
    excerpt: str = "质量太差",
) -> ReviewSnapshot:
    return ReviewSnapshot(key, sku, rating, sentiment, complaints, severity, at, excerpt)


def rules(drafts: list) -> set[AlertRule]:  # type: ignore[type-arg]
    return {d.rule for d in drafts}


def test_negative_review_raises_one_negative_alert() -> None:
    drafts = review_alerts(snap())
    assert rules(drafts) == {AlertRule.NEGATIVE}
    (draft,) = drafts
    assert draft.subject == "m:1"
    assert draft.severity >= Severity.MEDIUM
    assert "SKU-1" in draft.message
    assert "质量太差" in draft.message
    assert AlertRule.NEGATIVE.event == "review.negative"


def test_positive_and_neutral_reviews_raise_nothing() -> None:
    assert review_alerts(snap(rating=5, sentiment=Sentiment.POSITIVE)) == []
    assert review_alerts(snap(rating=3, sentiment=Sentiment.NEUTRAL)) == []


@pytest.mark.parametrize("topic", ["counterfeit", "safety"])
def test_counterfeit_or_safety_is_critical_even_on_a_good_rating(topic: str) -> None:
    drafts = review_alerts(
        snap(rating=4, sentiment=Sentiment.POSITIVE, complaints=(topic,), severity=Severity.CRITICAL)
    )
    assert rules(drafts) == {AlertRule.COUNTERFEIT}
    assert drafts[0].severity is Severity.CRITICAL
    assert drafts[0].data["topics"] == [topic]


def test_counterfeit_and_negative_fire_together() -> None:
    drafts = review_alerts(snap(complaints=("counterfeit", "quality"), severity=Severity.CRITICAL))
    assert rules(drafts) == {AlertRule.COUNTERFEIT, AlertRule.NEGATIVE}
    assert max(d.severity for d in drafts) is Severity.CRITICAL


def test_rating_drop_fires_on_an_edit_from_positive_to_negative() -> None:
    before = snap(rating=5, sentiment=Sentiment.POSITIVE, at=T0)
    after = snap(rating=1, at=T0 + timedelta(days=3))
    drafts = review_alerts(after, before)
    assert rules(drafts) == {AlertRule.NEGATIVE, AlertRule.RATING_DROP}
    drop = next(d for d in drafts if d.rule is AlertRule.RATING_DROP)
    assert drop.data["previous_rating"] == 5
    assert drop.severity >= Severity.HIGH
    assert "5★" in drop.message
    assert "1★" in drop.message


def test_no_rating_drop_without_a_positive_before() -> None:
    before = snap(rating=3, sentiment=Sentiment.NEUTRAL)
    assert AlertRule.RATING_DROP not in rules(review_alerts(snap(), before))
    assert AlertRule.RATING_DROP not in rules(review_alerts(snap(), snap()))
    improved = snap(rating=5, sentiment=Sentiment.POSITIVE)
    assert review_alerts(improved, snap()) == []


def test_rules_can_be_switched_off() -> None:
    config = AlertConfig(rules=frozenset({AlertRule.COUNTERFEIT}))
    assert review_alerts(snap(), config=config) == []


def test_alert_message_masks_personal_data() -> None:
    drafts = review_alerts(snap(excerpt="太差了，联系我 13812345678 或 amy@example.com"))
    assert "13812345678" not in drafts[0].message
    assert "amy@example.com" not in drafts[0].message


def test_spike_needs_k_negatives_of_one_sku_within_the_window() -> None:
    config = AlertConfig(spike_threshold=3, spike_window=timedelta(hours=24))
    a = snap("m:a", at=T0)
    b = snap("m:b", at=T0 + timedelta(hours=5))
    c = snap("m:c", at=T0 + timedelta(hours=20))
    draft = spike_alert(c, [a, b], config)
    assert draft is not None
    assert draft.rule is AlertRule.SPIKE
    assert draft.subject == "m:c"
    assert draft.data["count"] == 3
    assert draft.data["reviews"] == ["m:a", "m:b", "m:c"]
    assert "SKU-1" in draft.message


def test_spike_ignores_old_reviews_and_other_skus() -> None:
    config = AlertConfig(spike_threshold=3, spike_window=timedelta(hours=24))
    old = snap("m:old", at=T0 - timedelta(hours=30))
    other = snap("m:other", sku="SKU-2", at=T0)
    b = snap("m:b", at=T0 + timedelta(hours=1))
    c = snap("m:c", at=T0 + timedelta(hours=2))
    assert spike_alert(c, [old, other, b], config) is None


def test_spike_counts_each_review_once() -> None:
    config = AlertConfig(spike_threshold=3)
    a = snap("m:a")
    assert spike_alert(a, [a, a, a], config) is None


def test_spike_stays_quiet_for_a_window_after_firing() -> None:
    config = AlertConfig(spike_threshold=2, spike_window=timedelta(hours=10))
    stream = [snap(f"m:{i}", at=T0 + timedelta(hours=i)) for i in range(12)]
    fired = spikes(stream, config)
    assert [d.subject for d in fired] == ["m:1", "m:11"]


def test_spike_threshold_is_validated() -> None:
    with pytest.raises(ValidationError) as info:
        AlertConfig(spike_threshold=1)
    assert info.value.field == "spike_threshold"
    with pytest.raises(ValidationError):
        AlertConfig(spike_window=timedelta(0))


_stream = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", None]),
        st.integers(0, 72),
        st.sampled_from(list(Sentiment)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(stream=_stream, k=st.integers(2, 5), hours=st.integers(1, 24))
def test_every_spike_is_backed_by_k_negatives_and_none_repeat_within_a_window(
    stream: list[tuple[str | None, int, Sentiment]], k: int, hours: int
) -> None:
    config = AlertConfig(spike_threshold=k, spike_window=timedelta(hours=hours))
    snaps = [
        snap(f"m:{i}", sku=sku, at=T0 + timedelta(hours=h), sentiment=s)
        for i, (sku, h, s) in enumerate(stream)
    ]
    fired = spikes(snaps, config)
    by_key = {s.key: s for s in snaps}
    last: dict[str, datetime] = {}
    for draft in fired:
        trigger = by_key[draft.subject]
        assert trigger.sentiment is Sentiment.NEGATIVE
        window = [
            s
            for s in snaps
            if s.sku == trigger.sku
            and s.sentiment is Sentiment.NEGATIVE
            and trigger.at - config.spike_window < s.at <= trigger.at
        ]
        assert len(window) >= k
        assert trigger.sku is not None
        if trigger.sku in last:
            assert trigger.at - last[trigger.sku] >= config.spike_window
        last[trigger.sku] = trigger.at
