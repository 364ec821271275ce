"""The SLA clocks: calendar time, or the shop's business hours.

A clock answers two questions about UTC instants: how many seconds it
counts between two of them (:meth:`counted`), and when it will have counted
a number of seconds after one (:meth:`add`). The business clock counts only
inside the shop's opening windows, on its working weekdays, outside its
holidays, all in the shop's zone: the windows of each local day are turned
into UTC through :mod:`zoneinfo`, so a day on which the clocks change has a
window one hour shorter or longer in real time, as it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from aftersales.errors import ValidationError
from aftersales.times import utc

__all__ = ["BusinessClock", "CalendarClock", "Clock", "parse_window"]

#: How far ahead :meth:`BusinessClock.add` looks before giving up (a shop
#: closed for longer than this has no deadline worth computing).
_HORIZON_DAYS = 3 * 366


class Clock(Protocol):
    """What an SLA deadline needs of a clock."""

    def counted(self, start: datetime, end: datetime) -> float:
        """Seconds counted between ``start`` and ``end`` (0 when ``end`` is not later)."""

    def add(self, start: datetime, seconds: float) -> datetime:
        """The first instant at which ``seconds`` have been counted since ``start``."""


@dataclass(frozen=True)
class CalendarClock:
    """Every second counts: plain elapsed (UTC) time."""

    def counted(self, start: datetime, end: datetime) -> float:
        """Seconds between ``start`` and ``end``, never negative."""
        return max(0.0, (utc(end, "end") - utc(start, "start")).total_seconds())

    def add(self, start: datetime, seconds: float) -> datetime:
        """``start`` plus ``seconds`` of real time."""
        return utc(start, "start") + timedelta(seconds=max(0.0, seconds))


def parse_window(text: str) -> tuple[time, time | None]:
    """``"09:00-18:00"`` as (start, end); an end of ``24:00`` is None (midnight after).

    Raises:
        ValidationError: not ``HH:MM-HH:MM`` with the start before the end.
    """
    try:
        a, b = (part.strip() for part in text.split("-"))
        start = time.fromisoformat(a)
        end = None if b == "24:00" else time.fromisoformat(b)
    except (ValueError, AttributeError):
        raise ValidationError("a window is HH:MM-HH:MM", field="hours.windows") from None
    if end is not None and end <= start:
        raise ValidationError("a window must end after it starts (same day)",
                              field="hours.windows")
    return start, end


@dataclass(frozen=True)
class BusinessClock:
    """Counts only the shop's business hours, in its zone.

    Args:
        zone: the shop's IANA zone.
        weekdays: ISO weekdays open (1 = Monday … 7 = Sunday).
        windows: local opening windows of an open day, in order, not overlapping.
        holidays: local dates closed all day.
    """

    zone: ZoneInfo
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    windows: tuple[tuple[time, time | None], ...] = ((time(9), time(18)),)
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.weekdays or not self.windows:
            raise ValidationError("business hours need a weekday and a window", field="hours")
        if not self.weekdays <= set(range(1, 8)):
            raise ValidationError("weekdays are 1 (Monday) to 7 (Sunday)",
                                  field="hours.weekdays")
        ends = [(s, e or time.max) for s, e in self.windows]
        for (_, e1), (s2, _) in itertools.pairwise(ends):
            if s2 < e1:
                raise ValidationError("windows must be in order and not overlap",
                                      field="hours.windows")

    def _day(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if day.isoweekday() not in self.weekdays or day in self.holidays:
            return
        for start, end in self.windows:
            a = datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC)
            b = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
                 if end is None else datetime.combine(day, end, tzinfo=self.zone)).astimezone(UTC)
            if b > a:
                yield a, b

    def open_intervals(self, start: datetime, end: datetime) -> Iterable[tuple[datetime, datetime]]:
        """The open (UTC) intervals that overlap ``[start, end)``, clipped to it."""
        start, end = utc(start, "start"), utc(end, "end")
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() + timedelta(days=1)
        while day <= last:
            for a, b in self._day(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    yield lo, hi
            day += timedelta(days=1)

    def counted(self, start: datetime, end: datetime) -> float:
        """Business seconds between ``start`` and ``end``."""
        if utc(end, "end") <= utc(start, "start"):
            return 0.0
        return sum((b - a).total_seconds() for a, b in self.open_intervals(start, end))

    def add(self, start: datetime, seconds: float) -> datetime:
        """When ``seconds`` business seconds will have passed after ``start``.

        Exactly at a window's end when the count runs out there; zero
        seconds is ``start`` itself.

        Raises:
            ValidationError: the shop is never open within three years.
        """
        start = utc(start, "start")
        left = max(0.0, seconds)
        if left == 0:
            return start
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(_HORIZON_DAYS):
            for a, b in self._day(day):
                if b <= start:
                    continue
                lo = max(a, start)
                room = (b - lo).total_seconds()
                if left <= room:
                    return lo + timedelta(seconds=left)
                left -= room
            day += timedelta(days=1)
        raise ValidationError("the shop is never open within three years", field="hours")
