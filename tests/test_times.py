"""Aware datetimes at the edge: a naive, odd or out-of-range time is refused by name.

The library took a caller's time through six private copies of this check;
two of them (the knowledge base's validity and the SLA clocks) let a time
near year 1 with a positive offset out as a bare ``OverflowError``, and the
knowledge base read a ``tzinfo`` without an offset in the machine's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest

from aftersales.cases.clock import BusinessClock, CalendarClock
from aftersales.errors import ValidationError
from aftersales.followups.inputs import checked_context
from aftersales.kb.files import validate
from aftersales.kb.models import Entry
from aftersales.paging import Watermark
from aftersales.reports.periods import Scope
from aftersales.times import UtcDatetime, aware, utc

CHINA = timezone(timedelta(hours=8))
WEST = timezone(timedelta(hours=-5))


class _NoOffset(tzinfo):
    """A zone that answers no offset: as naive as none."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return "nowhere"


class _TooFar(tzinfo):
    """A zone that answers an offset of a day or more (``datetime`` refuses it)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return timedelta(hours=25)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return "beyond"


NAIVE = datetime(2026, 1, 5, 9, 30)
NO_OFFSET = datetime(2026, 1, 5, 9, 30, tzinfo=_NoOffset())
TOO_FAR = datetime(2026, 1, 5, 9, 30, tzinfo=_TooFar())
YEAR_1_EAST = datetime(1, 1, 1, 3, 0, tzinfo=CHINA)
YEAR_9999_WEST = datetime(9999, 12, 31, 22, 0, tzinfo=WEST)


@pytest.mark.parametrize("check", [aware, utc])
@pytest.mark.parametrize("bad", [NAIVE, NO_OFFSET, TOO_FAR])
def test_a_time_without_an_offset_is_refused_by_name(check: object, bad: datetime) -> None:
    with pytest.raises(ValidationError, match=r"^field 'since': must be timezone-aware") as info:
        check(bad, "since")  # type: ignore[operator]
    assert info.value.field == "since"
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("check", [aware, utc])
@pytest.mark.parametrize("bad", ["2026-01-05T09:30:00+08:00", date(2026, 1, 5), 1767576600, True])
def test_what_is_no_datetime_is_refused_not_a_bare_type_error(check: object, bad: object) -> None:
    with pytest.raises(ValidationError, match=r"field 'now': must be a datetime"):
        check(bad, "now")  # type: ignore[operator]


def test_aware_hands_the_value_back_unchanged_and_utc_converts_it() -> None:
    moment = datetime(2026, 1, 5, 9, 30, tzinfo=CHINA)
    assert aware(moment, "at") is moment
    converted = utc(moment, "at")
    assert converted == moment
    assert converted.tzinfo is UTC
    assert converted.hour == 1
    assert aware(None, "at") is None
    assert utc(None, "at") is None


@pytest.mark.parametrize("edge", [YEAR_1_EAST, YEAR_9999_WEST])
def test_a_time_beyond_the_years_datetime_holds_in_utc_is_refused(edge: datetime) -> None:
    assert aware(edge, "until") is edge  # unchanged: nothing to overflow
    with pytest.raises(ValidationError, match=r"field 'until': is outside the years"):
        utc(edge, "until")


class _Model(pydantic.BaseModel):
    at: UtcDatetime | None = None


@pytest.mark.parametrize("bad", [NAIVE, NO_OFFSET, "2026-01-05T09:30:00",
                                 "0001-01-01T03:00:00+08:00", "9999-12-31T22:00:00-05:00"])
def test_a_model_field_refuses_a_naive_or_unconvertible_time(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        _Model(at=bad)
    assert info.value.errors()[0]["loc"] == ("at",)


def test_a_model_field_is_stored_in_utc() -> None:
    assert _Model(at="2026-01-05T09:30:00+08:00").at == datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
    assert _Model().at is None


# ------------------------------------------------------------------ call sites


@pytest.mark.parametrize("bad", ["0001-01-01T03:00:00+08:00", "9999-12-31T22:00:00-05:00"])
def test_a_kb_entry_valid_near_year_1_or_9999_is_a_one_line_error(bad: str) -> None:
    """It was a bare OverflowError out of the file import."""
    with pytest.raises(ValidationError, match=r"row 3.*valid_from.*outside the years"):
        validate({"key": "k1", "question": "q", "answer_zh": "a", "valid_from": bad},
                 where="row 3")


def test_a_kb_entry_in_a_zone_with_no_offset_is_refused() -> None:
    """It was read in the machine's zone."""
    with pytest.raises(pydantic.ValidationError, match="timezone-aware"):
        Entry(key="k1", question="q", answer_zh="a", valid_until=NO_OFFSET)


def test_sla_clocks_refuse_a_start_beyond_utc_by_name() -> None:
    """Both clocks raised a bare OverflowError."""
    for clock in (CalendarClock(), BusinessClock(zone=ZoneInfo("UTC"))):
        with pytest.raises(ValidationError, match="field 'start'"):
            clock.add(YEAR_1_EAST, 60)
        with pytest.raises(ValidationError, match="field 'start'"):
            clock.counted(YEAR_1_EAST, datetime(2026, 1, 1, tzinfo=UTC))


def test_a_report_scope_beyond_utc_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="field 'since'"):
        Scope(since=YEAR_1_EAST, until=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_watermark_refuses_a_naive_stamp_by_name() -> None:
    mark = Watermark(datetime(2025, 7, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="field 'at': must be timezone-aware"):
        mark.admits(NAIVE, "1")


@pytest.mark.parametrize("bad", [NAIVE, NO_OFFSET, TOO_FAR])
def test_a_follow_up_context_time_without_a_usable_offset_is_refused_by_path(
        bad: datetime) -> None:
    """A zone whose offset is a day or more raised a bare ValueError out of the check."""
    with pytest.raises(ValidationError, match=r"row 4, field 'context.sent.0'") as info:
        checked_context({"sent": [bad]}, row=4)
    assert "timezone-aware" in str(info.value)


@pytest.mark.parametrize("tick", ["run_timers", "reconcile_refunds"])
def test_the_returns_ticks_refuse_a_naive_now_by_name(tmp_path: Path, tick: str) -> None:
    """Both ticks compare ``now`` with stored times; naive, it was a bare "database error"."""
    from aftersales.app import AfterSales
    from aftersales.sandbox import SandboxMarketplace

    shop = SandboxMarketplace(seed=0, orders=4)
    with (AfterSales(f"sqlite:///{tmp_path}/a.db", marketplaces=[shop],
                     clock=lambda: shop.now) as app,
          pytest.raises(ValidationError, match=r"^field 'now': must be timezone-aware")):
        getattr(app.returns, tick)(NAIVE)
