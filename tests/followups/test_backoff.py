"""The retry schedule of failed sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales.followups.backoff import RetryPolicy

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def test_waits_grow_then_cap() -> None:
    policy = RetryPolicy(max_attempts=6, initial=timedelta(minutes=1), factor=3,
                         max_delay=timedelta(minutes=30), jitter=0)
    assert policy.schedule() == [timedelta(minutes=m) for m in (1, 3, 9, 27, 30)]


def test_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0)
    assert policy.next_attempt(NOW, 1) == NOW + timedelta(minutes=1)
    assert policy.next_attempt(NOW, 2) == NOW + timedelta(minutes=2)
    assert policy.next_attempt(NOW, 3) is None
    assert policy.exhausted(3)


def test_jitter_is_reproducible_and_only_shortens() -> None:
    policy = RetryPolicy(jitter=0.5)
    plain = RetryPolicy(jitter=0)
    for attempt in range(1, 5):
        a = policy.delay(attempt, "fu-1")
        assert a == policy.delay(attempt, "fu-1")
        assert plain.delay(attempt) * 0.5 <= a <= plain.delay(attempt)
    assert policy.schedule("fu-1") != policy.schedule("fu-2")


def test_attempt_is_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        RetryPolicy().delay(0)
