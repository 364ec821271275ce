"""Quiet hours: the local hours in which no buyer is contacted.

A follow-up due inside quiet hours moves to the next allowed moment, computed
on the wall clock of the buyer's zone (or the shop's when the buyer's is not
known). The rule works on wall-clock time, so a window of 21:00–09:00 stays
21:00–09:00 on the days clocks change:

* on a spring-forward day a window end that falls in the skipped hour (say
  02:30 when 02:00 jumps to 03:00) resolves to the first real instant after
  the gap, never to an instant before it;
* on a fall-back day the repeated hour is judged by its wall-clock time, so
  both 01:30s are inside a 01:00–02:00 window.

Everything here is pure: aware datetimes in, aware datetimes out.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from aftersales.errors import ValidationError
from aftersales.times import aware, utc

__all__ = ["QuietHours", "ZonePreference", "next_allowed", "resolve_zone", "shift_local"]

#: Whose clock quiet hours are read on: the buyer's (falling back to the
#: shop's when the buyer's zone is unknown) or always the shop's.
ZonePreference = Literal["buyer", "shop"]


def resolve_zone(name: str | None, fallback: str | None = None) -> ZoneInfo:
    """The zone called ``name``, else ``fallback``, else UTC.

    Raises:
        ValidationError: a name was given that the tz database does not know
            (or something that is not a name at all).
    """
    for candidate in (name, fallback):
        if candidate:
            try:
                if not isinstance(candidate, str):  # a number on record, say
                    raise ValueError(candidate)
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValidationError(
                    f"unknown time zone {candidate!r}", field="timezone"
                ) from exc
    return ZoneInfo("UTC")


class QuietHours(BaseModel):
    """A daily window of local time in which nobody is contacted.

    ``start`` is inclusive and ``end`` exclusive; a window whose start is
    later than its end wraps past midnight (``21:00``–``09:00``). ``zone``
    says whose clock it is read on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: time
    end: time
    zone: ZonePreference = "buyer"

    @field_validator("start", "end")
    @classmethod
    def _naive_minutes(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("quiet hours are wall-clock times; give no time zone")
        return value.replace(second=0, microsecond=0)

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: ValidationInfo) -> time:
        if info.data.get("start") == value:
            raise ValueError("start and end are equal: the window would be empty or all day")
        return value

    def contains(self, local: time) -> bool:
        """True when the wall-clock time ``local`` lies inside the window."""
        local = local.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, due: datetime, zone: tzinfo) -> datetime:
        """``due`` itself when outside the window, else the window's end (UTC).

        See :func:`next_allowed`.
        """
        return next_allowed(due, self, zone)


_TICK = timedelta(microseconds=1)
_ZERO = timedelta(0)


def _wall_to_instant(day: datetime, at: time, zone: tzinfo, after: datetime | None) -> datetime:
    """The first real instant after ``after`` whose wall time in ``zone`` is ``at`` on
    ``day``'s date, or, when that wall time does not exist (a spring-forward gap), the
    moment the clocks jump past it."""
    return _naive_to_instant(datetime.combine(day.date(), at), zone, after)


def _naive_to_instant(naive: datetime, zone: tzinfo, after: datetime | None) -> datetime:
    """:func:`_wall_to_instant` for the wall date and time ``naive``."""
    offset = zone.utcoffset(naive)
    if offset is not None and offset == zone.utcoffset(naive.replace(fold=1)):
        # No clock change at this wall time (the common case): it names exactly one instant.
        return (naive - offset).replace(tzinfo=UTC)
    options: list[datetime] = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            options.append(instant)
    if not options:
        # Inside a gap: fold=1 reads the wall time with the later offset and
        # lands before the jump, fold=0 with the earlier one and lands after
        # it. The jump itself is the first instant whose wall time is >= naive.
        lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
        hi = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        while hi - lo > timedelta(seconds=1):
            mid = lo + (hi - lo) / 2
            if mid.astimezone(zone).replace(tzinfo=None) >= naive:
                hi = mid
            else:
                lo = mid
        options.append(hi.replace(microsecond=0))
    later = [o for o in options if after is None or o > after]
    return min(later) if later else max(options)


def next_allowed(due: datetime, quiet: QuietHours | None, zone: tzinfo) -> datetime:
    """The earliest instant at or after ``due`` outside the quiet window, in UTC.

    Args:
        due: when the message would go out; must be timezone-aware.
        quiet: the window, or ``None`` for no quiet hours.
        zone: the zone whose wall clock the window is read on.

    Raises:
        ValidationError: ``due`` is naive.
    """
    due_utc = utc(due, "due_at")
    if quiet is None:
        return due_utc
    local = due_utc.astimezone(zone)
    if not quiet.contains(local.time()):
        return due_utc
    end_day = local
    if quiet.start > quiet.end and local.time() >= quiet.start:
        end_day = local + timedelta(days=1)
    result = _wall_to_instant(end_day, quiet.end, zone, due_utc)
    # Defensive: an odd zone (an offset change exactly at the window's end)
    # could leave the instant inside the window; step past it minute by minute.
    for _ in range(24 * 60):
        if result > due_utc and not quiet.contains(result.astimezone(zone).time()):
            return result
        result += timedelta(minutes=1)
    return result  # pragma: no cover - a window cannot cover a whole day


def shift_local(instant: datetime, delta: timedelta, zone: tzinfo) -> datetime:
    """``instant`` moved by ``delta`` on the wall clock of ``zone``, in UTC.

    "Three days after delivery" at 10:00 stays 10:00 across a clock change;
    a result inside a spring-forward gap becomes the moment of the jump.
    """
    aware(instant, "due_at")
    local = instant.astimezone(zone).replace(tzinfo=None) + delta
    after = instant.astimezone(UTC) - _TICK if delta >= _ZERO else None
    return _naive_to_instant(local, zone, after)
