"""SLA clocks and deadlines: boundaries, a DST change, business hours, holidays, pauses."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.cases import sla
from aftersales.cases.clock import BusinessClock, CalendarClock
from aftersales.cases.policy import load_policy
from aftersales.errors import ValidationError
from aftersales.store.tables.cases import CaseSlaRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
H = 3600.0


def _local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def _deadline(clock: object, start: datetime, target: float, warn: float) -> CaseSlaRow:
    row = CaseSlaRow(metric="resolution", clock="x", round=1, target_seconds=target,
                     warn_seconds=warn, elapsed_seconds=0.0, running_since=start,
                     status=sla.RUNNING)
    sla.recompute(row, clock)  # type: ignore[arg-type]
    return row


def test_business_hours_skip_nights_lunch_weekends_and_holidays() -> None:
    clock = BusinessClock(SHANGHAI, windows=((time(9), time(12)), (time(13), time(18))),
                          holidays=frozenset({date(2026, 3, 9)}))
    friday_5pm = _local(SHANGHAI, 2026, 3, 6, 17, 0)
    # 1h Friday, weekend and the Monday holiday closed, 11:00 Tuesday is 3h more
    assert clock.add(friday_5pm, 3 * H) == _local(SHANGHAI, 2026, 3, 10, 11, 0)
    assert clock.counted(friday_5pm, _local(SHANGHAI, 2026, 3, 10, 11, 0)) == 3 * H
    # a count that runs out exactly at a window's end is due at that end, not after lunch
    assert clock.add(_local(SHANGHAI, 2026, 3, 10, 9, 0), 3 * H) == _local(
        SHANGHAI, 2026, 3, 10, 12, 0)
    # started at lunch: the count begins at 13:00
    assert clock.add(_local(SHANGHAI, 2026, 3, 10, 12, 30), 1) == _local(
        SHANGHAI, 2026, 3, 10, 13, 0) + timedelta(seconds=1)


def test_breach_and_warning_exactly_at_their_boundaries() -> None:
    clock = BusinessClock(SHANGHAI)
    start = _local(SHANGHAI, 2026, 3, 2, 9, 0)  # Monday 09:00
    row = _deadline(clock, start, target=8 * H, warn=6 * H)
    assert row.warn_at == _local(SHANGHAI, 2026, 3, 2, 15, 0)
    assert row.due_at == _local(SHANGHAI, 2026, 3, 2, 17, 0)
    assert row.next_at == row.warn_at
    one = timedelta(seconds=1)
    assert sla.counted(row, row.due_at - one, clock) == 8 * H - 1
    assert sla.counted(row, row.due_at, clock) == 8 * H


def test_calendar_hours_across_the_spring_dst_change_are_real_hours() -> None:
    start = _local(BERLIN, 2026, 3, 28, 12, 0)  # clocks go forward on Sunday 29 March
    row = _deadline(CalendarClock(), start, target=24 * H, warn=20 * H)
    assert row.due_at is not None
    assert row.due_at.astimezone(BERLIN) == datetime(2026, 3, 29, 13, 0, tzinfo=BERLIN)


def test_business_hours_across_dst_changes_keep_local_opening_times() -> None:
    clock = BusinessClock(BERLIN, weekdays=frozenset(range(1, 8)),
                          windows=((time(0), None),))  # open around the clock, every day
    # the night of the spring change has 23 hours; of the autumn change 25
    spring = (_local(BERLIN, 2026, 3, 29, 0, 0), _local(BERLIN, 2026, 3, 30, 0, 0))
    autumn = (_local(BERLIN, 2026, 10, 25, 0, 0), _local(BERLIN, 2026, 10, 26, 0, 0))
    assert clock.counted(*spring) == 23 * H
    assert clock.counted(*autumn) == 25 * H
    office = BusinessClock(BERLIN, weekdays=frozenset(range(1, 8)))
    # Saturday 17:00 + 2h of 09:00-18:00 hours: 1h Saturday, 1h Sunday (after the change)
    due = office.add(_local(BERLIN, 2026, 3, 28, 17, 0), 2 * H)
    assert due.astimezone(BERLIN) == datetime(2026, 3, 29, 10, 0, tzinfo=BERLIN)
    assert due - _local(BERLIN, 2026, 3, 28, 17, 0) == timedelta(hours=16)


def test_a_pause_moves_the_deadline_by_the_paused_business_time() -> None:
    clock = BusinessClock(SHANGHAI)
    start = _local(SHANGHAI, 2026, 3, 2, 9, 0)
    row = _deadline(clock, start, target=8 * H, warn=6 * H)
    sla.pause(row, _local(SHANGHAI, 2026, 3, 2, 11, 0), clock)  # 2h counted
    assert row.next_at is None
    assert row.due_at is None
    assert row.elapsed_seconds == 2 * H
    sla.resume(row, _local(SHANGHAI, 2026, 3, 3, 10, 0), clock)  # Tuesday 10:00
    assert row.due_at == _local(SHANGHAI, 2026, 3, 3, 16, 0)
    sla.meet(row, _local(SHANGHAI, 2026, 3, 3, 12, 0), clock)
    assert row.status == sla.MET
    assert row.elapsed_seconds == 4 * H
    assert row.next_at is None


def test_policy_targets_fall_back_and_bad_policies_name_the_field() -> None:
    policy = load_policy('clock = "business"\n[targets.complaint.high]\n'
                         'first_response = "1h"\nresolution = "1d"\n'
                         '[targets."*"."*"]\nfirst_response = "5h"\n')
    from aftersales.cases.states import CaseKind, Priority

    assert policy.target(CaseKind.COMPLAINT, Priority.HIGH).first_response == timedelta(hours=1)
    assert policy.target(CaseKind.INQUIRY, Priority.LOW).first_response == timedelta(hours=5)
    for text, field in (('clock = "lunar"', "clock"),
                        ('[targets.rant.high]\nresolution = "1d"', "targets"),
                        ('[hours]\nwindows = ["18:00-09:00"]', "hours.windows"),
                        ('[targets.complaint.high]\nresolution = "-1d"', "resolution"),
                        ("warn_ratio = 1.5", "warn_ratio")):
        with pytest.raises(ValidationError) as info:
            load_policy(text)
        assert field in str(info.value)
        assert "\n" not in str(info.value)


# ---------------------------------------------------------------- the property

_BASE = datetime(2026, 3, 23, 0, 0, tzinfo=UTC)  # a week that holds Berlin's spring change
_CLOCK = BusinessClock(BERLIN, windows=((time(9), time(12)), (time(13), time(17, 30))),
                       holidays=frozenset({date(2026, 3, 27)}))


def _open(minute: datetime) -> bool:
    local = minute.astimezone(BERLIN)
    if local.isoweekday() > 5 or local.date() == date(2026, 3, 27):
        return False
    t = local.time()
    return time(9) <= t < time(12) or time(13) <= t < time(17, 30)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=14 * 24 * 4), min_size=2, max_size=8,
                unique=True))
def test_counted_time_never_includes_paused_or_closed_hours(marks: list[int]) -> None:
    """Pause and resume at random quarter-hours over two weeks: the deadline counts
    exactly the minutes that were both running and inside business hours."""
    times = [_BASE + timedelta(minutes=15 * m) for m in sorted(marks)]
    row = _deadline(_CLOCK, times[0], target=1000 * H, warn=900 * H)
    running, expected = True, 0
    for a, b in itertools.pairwise(times):
        if running:
            minute = a
            while minute < b:
                expected += _open(minute)
                minute += timedelta(minutes=1)
            sla.pause(row, b, _CLOCK)
        else:
            sla.resume(row, b, _CLOCK)
        running = not running
    assert sla.counted(row, times[-1], _CLOCK) == expected * 60
    if row.running_since is not None:  # the deadline sits where the count will reach its target
        assert row.due_at is not None
        assert _CLOCK.counted(times[-1], row.due_at) == pytest.approx(
            1000 * H - expected * 60)


@pytest.mark.parametrize(("text", "field", "meant"), [
    ('[escalaton]\nhigh_value = "100"\n', "escalaton", "escalation"),
    ('[escalation]\nhigh_valu = "100"\n', "escalation.high_valu", "high_value"),
    ('folow_up_plan = "x"\n', "folow_up_plan", "follow_up_plan"),
    ('[targets."*"."*"]\nfirst_respons = "4h"\n', "targets.*.*.first_respons",
     "first_response"),
    ('[hours]\nwindowz = ["09:00-18:00"]\n', "hours.windowz", "windows"),
])
def test_a_misspelt_policy_key_names_the_key_it_meant(text: str, field: str, meant: str) -> None:
    """A typo in cases.toml was refused as "Extra inputs are not permitted", no more."""
    with pytest.raises(ValidationError) as caught:
        load_policy(text)
    assert str(caught.value) == (f"field '{field}': case policy: unknown setting; "
                                 f"did you mean '{meant}'?")


def test_an_unknown_policy_key_with_nothing_close_is_refused_plainly() -> None:
    with pytest.raises(ValidationError) as caught:
        load_policy('colour = "red"\n')
    assert str(caught.value) == "field 'colour': case policy: unknown setting"
