"""Quiet hours: a due time inside the window moves to the next allowed moment."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.followups.quiet_hours import QuietHours, next_allowed, resolve_zone, shift_local

NY = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(start=time(21), end=time(9))


def test_outside_window_is_unchanged() -> None:
    due = datetime(2024, 6, 1, 14, 0, tzinfo=SHANGHAI)
    assert next_allowed(due, NIGHT, SHANGHAI) == due
    assert next_allowed(due, NIGHT, SHANGHAI).tzinfo is UTC


def test_late_evening_moves_to_next_morning() -> None:
    due = datetime(2024, 6, 1, 23, 15, tzinfo=SHANGHAI)
    assert next_allowed(due, NIGHT, SHANGHAI) == datetime(2024, 6, 2, 9, 0, tzinfo=SHANGHAI)


def test_early_morning_moves_to_same_morning() -> None:
    due = datetime(2024, 6, 1, 3, 0, tzinfo=SHANGHAI)
    assert next_allowed(due, NIGHT, SHANGHAI) == datetime(2024, 6, 1, 9, 0, tzinfo=SHANGHAI)


def test_start_is_inside_end_is_outside() -> None:
    assert next_allowed(datetime(2024, 6, 1, 21, 0, tzinfo=BERLIN), NIGHT, BERLIN) == datetime(
        2024, 6, 2, 9, 0, tzinfo=BERLIN
    )
    at_end = datetime(2024, 6, 1, 9, 0, tzinfo=BERLIN)
    assert next_allowed(at_end, NIGHT, BERLIN) == at_end


def test_same_instant_judged_on_each_zone_clock() -> None:
    # 13:00 UTC is 21:00 in Shanghai (quiet) and 09:00 in New York (allowed).
    due = datetime(2024, 6, 1, 13, 0, tzinfo=UTC)
    assert next_allowed(due, NIGHT, NY) == due
    assert next_allowed(due, NIGHT, SHANGHAI) == datetime(2024, 6, 2, 1, 0, tzinfo=UTC)


def test_daytime_window_does_not_wrap() -> None:
    lunch = QuietHours(start=time(12), end=time(14))
    due = datetime(2024, 6, 1, 13, 0, tzinfo=BERLIN)
    assert next_allowed(due, lunch, BERLIN) == datetime(2024, 6, 1, 14, 0, tzinfo=BERLIN)
    assert next_allowed(due.replace(hour=23), lunch, BERLIN) == due.replace(hour=23)


def test_window_end_in_spring_forward_gap_is_the_jump() -> None:
    # 2024-03-10 New York: 02:00 EST jumps to 03:00 EDT; 02:30 never exists.
    quiet = QuietHours(start=time(21), end=time(2, 30))
    due = datetime(2024, 3, 10, 1, 0, tzinfo=NY)
    result = next_allowed(due, quiet, NY)
    assert result == datetime(2024, 3, 10, 7, 0, tzinfo=UTC)
    assert result.astimezone(NY).time() == time(3, 0)


def test_morning_end_after_spring_forward_keeps_wall_clock() -> None:
    # Europe/Berlin springs forward on 2024-03-31: 09:00 local is 07:00 UTC, not 08:00.
    due = datetime(2024, 3, 30, 23, 0, tzinfo=BERLIN)
    assert next_allowed(due, NIGHT, BERLIN) == datetime(2024, 3, 31, 7, 0, tzinfo=UTC)


def test_fall_back_repeated_hour_both_inside() -> None:
    # 2024-11-03 New York: 01:00-02:00 happens twice (EDT then EST).
    quiet = QuietHours(start=time(1), end=time(2))
    first = datetime(2024, 11, 3, 1, 30, fold=0, tzinfo=NY)
    second = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=NY)
    assert first.astimezone(UTC) != second.astimezone(UTC)
    expected = datetime(2024, 11, 3, 7, 0, tzinfo=UTC)  # 02:00 EST
    assert next_allowed(first, quiet, NY) == expected
    assert next_allowed(second, quiet, NY) == expected


def test_fall_back_ambiguous_end_never_moves_backwards() -> None:
    quiet = QuietHours(start=time(22), end=time(1, 30))
    due = datetime(2024, 11, 3, 1, 10, fold=1, tzinfo=NY)  # second pass, EST
    result = next_allowed(due, quiet, NY)
    assert result > due
    assert result == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)  # 01:30 EST


def test_no_quiet_hours_returns_due_in_utc() -> None:
    due = datetime(2024, 6, 1, 3, 0, tzinfo=SHANGHAI)
    assert next_allowed(due, None, SHANGHAI) == due.astimezone(UTC)


def test_naive_due_is_refused() -> None:
    with pytest.raises(ValidationError, match="due_at"):
        next_allowed(datetime(2024, 6, 1, 3, 0), NIGHT, SHANGHAI)


def test_empty_window_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="equal"):
        QuietHours(start=time(9), end=time(9))


def test_resolve_zone_falls_back_and_names_bad_zone() -> None:
    assert resolve_zone(None, "Asia/Shanghai") == SHANGHAI
    assert resolve_zone("Europe/Berlin", "Asia/Shanghai") == BERLIN
    assert resolve_zone(None, None) == ZoneInfo("UTC")
    with pytest.raises(ValidationError, match="timezone"):
        resolve_zone("Mars/Olympus", None)


def test_shift_local_keeps_wall_clock_across_dst() -> None:
    delivered = datetime(2024, 3, 8, 10, 0, tzinfo=NY)  # EST
    later = shift_local(delivered, timedelta(days=3), NY)
    assert later.astimezone(NY).time() == time(10, 0)
    assert later - delivered == timedelta(days=3, hours=-1)


ZONES = st.sampled_from(
    ["America/New_York", "Europe/Berlin", "Asia/Shanghai", "Australia/Lord_Howe", "UTC",
     "America/Santiago", "Asia/Kolkata"]
)


@settings(max_examples=300, deadline=None)
@given(
    due=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                     timezones=st.just(UTC)),
    zone=ZONES,
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    length=st.integers(min_value=1, max_value=23 * 60),
)
def test_result_is_the_first_allowed_moment(
    due: datetime, zone: str, start: time, length: int
) -> None:
    tz = ZoneInfo(zone)
    end_dt = datetime.combine(datetime(2000, 1, 1), start) + timedelta(minutes=length)
    quiet = QuietHours(start=start, end=end_dt.time())
    result = next_allowed(due, quiet, tz)
    assert result >= due
    assert not quiet.contains(result.astimezone(tz).time())
    if result > due:
        assert quiet.contains(due.astimezone(tz).time())
        just_before = result - timedelta(seconds=1)
        if just_before >= due:
            assert quiet.contains(just_before.astimezone(tz).time())
