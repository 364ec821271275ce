"""The helpers every tracking adapter shares: lookup, times, Tracking assembly, headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.logistics.tracking import (
    CHINA_TZ,
    StatusRule,
    build_tracking,
    header_value,
    lookup,
    parse_time,
    status_map,
)
from aftersales.models import ParcelIssue, ParcelStatus, TrackingEvent
from aftersales.signing import hexdigest_matches

TABLE = {"A": StatusRule(ParcelStatus.DELIVERED), "B": StatusRule(ParcelStatus.EXCEPTION,
                                                                   ParcelIssue.LOST)}


def test_status_map_keeps_every_code_and_its_status_only() -> None:
    assert status_map(TABLE) == {"A": ParcelStatus.DELIVERED, "B": ParcelStatus.EXCEPTION}
    assert list(status_map(TABLE)) == list(TABLE)  # same codes, same order
    assert status_map({}) == {}


def test_lookup_takes_the_most_specific_known_code() -> None:
    assert lookup(TABLE, "B_x", "B").issue is ParcelIssue.LOST
    assert lookup(TABLE, None, "A").status is ParcelStatus.DELIVERED
    assert lookup(TABLE, "zzz").status is ParcelStatus.IN_TRANSIT
    assert lookup(TABLE, "zzz", default=StatusRule(ParcelStatus.PENDING)).status is (
        ParcelStatus.PENDING
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-10T12:34:00Z", datetime(2024, 5, 10, 12, 34, tzinfo=UTC)),
        ("2024-05-10T14:34:00+02:00", datetime(2024, 5, 10, 12, 34, tzinfo=UTC)),
        ("2024-05-03 18:52:32", datetime(2024, 5, 3, 10, 52, 32, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_time(text: str | None, expected: datetime | None) -> None:
    assert parse_time(text, CHINA_TZ) == expected


def _event(hours: int, status: ParcelStatus) -> TrackingEvent:
    return TrackingEvent(time=datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=hours),
                         status=status)


def test_delivered_at_is_the_last_delivered_event() -> None:
    events = [_event(5, ParcelStatus.DELIVERED), _event(1, ParcelStatus.PICKED_UP),
              _event(7, ParcelStatus.IN_TRANSIT)]
    tracking = build_tracking(carrier="sf", number="n", rule=StatusRule(ParcelStatus.DELIVERED),
                              events=events, provider="p", raw_status="3")
    assert [e.time.hour for e in tracking.events] == [1, 5, 7]
    assert tracking.delivered_at == events[0].time


def test_no_delivered_at_unless_delivered() -> None:
    tracking = build_tracking(carrier=None, number="n", rule=StatusRule(ParcelStatus.IN_TRANSIT),
                              events=[_event(1, ParcelStatus.DELIVERED)], provider="p",
                              raw_status=None)
    assert tracking.delivered_at is None


def test_header_value_ignores_case() -> None:
    assert header_value({"Sign": "abc"}, "sign") == "abc"
    assert header_value({}, "sign") is None


@given(st.binary(min_size=1, max_size=32))
def test_hexdigest_matches_any_case_and_nothing_else(raw: bytes) -> None:
    digest = raw.hex()
    assert hexdigest_matches(digest.upper(), digest)
    assert hexdigest_matches(f" {digest} ", digest)
    assert not hexdigest_matches(digest + "0", digest)
    assert not hexdigest_matches("", digest)
    assert not hexdigest_matches(None, digest)
