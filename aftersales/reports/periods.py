"""Report windows and time buckets in the shop's zone, DST-correct on every backend.

SQLite has no time zones, so the zone is never asked of the database: the
bucket boundaries (local midnights, Mondays or first days of a month) are
computed here in Python from the IANA zone, turned into UTC instants, and the
SQL only compares a stored UTC time with those instants. A day across a DST
change is then 23 or 25 hours long, exactly as the shop's calendar says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, literal, null

from aftersales.errors import ValidationError
from aftersales.times import aware, utc

__all__ = ["EARLIEST", "GRAINS", "LATEST", "MAX_BUCKETS", "Grain", "Period", "Scope", "bucket",
           "check_bounds", "periods"]

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
#: The times a report window may start or end at: a year 1 or 9999 date overflowed in
#: the bucket and "previous window" arithmetic.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
#: The most buckets one table may have (about four years of days, 125 years of months):
#: beyond it SQLite's parser overflowed on the bucket expression, and before that the
#: report took minutes for rows nobody reads.
MAX_BUCKETS = 1500
_DAYS = {"day": 1, "week": 7, "month": 28}


@dataclass(frozen=True)
class Period:
    """One bucket: ``[start, end)`` as aware UTC instants, named by its local first day."""

    label: str
    start: datetime
    end: datetime


def _floor(day: date, grain: Grain) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if grain == "month":
        return day.replace(day=1)
    return day


def _next(day: date, grain: Grain) -> date:
    if grain == "day":
        return day + timedelta(days=1)
    if grain == "week":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def periods(since: datetime, until: datetime, grain: Grain, zone: ZoneInfo) -> list[Period]:
    """The buckets of ``grain`` in ``zone`` that cover ``[since, until)``.

    The first and last buckets are whole local days, weeks (Monday first) or
    months; rows are still filtered by the window itself, so a partial first
    or last bucket counts only what falls inside the window.
    """
    if grain not in GRAINS:
        raise ValidationError(f"must be one of {', '.join(GRAINS)}", field="by")
    if (until - since).days // _DAYS[grain] + 2 > MAX_BUCKETS:
        raise ValidationError(f"the window holds more than {MAX_BUCKETS} {grain}s; "
                              "start it later or count by a longer period", field="since")
    out: list[Period] = []
    day = _floor(since.astimezone(zone).date(), grain)
    while True:
        start = _midnight(day, zone)
        if start >= until:
            break
        nxt = _next(day, grain)
        out.append(Period(day.isoformat(), start, _midnight(nxt, zone)))
        day = nxt
    return out


def bucket(column: Any, buckets: list[Period]) -> ColumnElement[Any]:
    """A SQL expression giving the label of the bucket ``column`` falls in (NULL outside).

    A balanced tree of ``CASE`` comparisons against the UTC boundaries: each
    row costs about log2(buckets) comparisons, whatever the backend.
    """
    if not buckets:
        return null()

    def tree(lo: int, hi: int) -> ColumnElement[Any]:
        if hi - lo == 1:
            return literal(buckets[lo].label)
        mid = (lo + hi) // 2
        return case((column < buckets[mid].start, tree(lo, mid)), else_=tree(mid, hi))

    inside = and_(column >= buckets[0].start, column < buckets[-1].end)
    return case((inside, tree(0, len(buckets))), else_=null())


def check_bounds(value: datetime, name: str) -> datetime:
    """``value`` in UTC, if it is aware and from :data:`EARLIEST` to :data:`LATEST`.

    Raises:
        ValidationError: naive or out of range (field ``name``).
    """
    try:
        moment = aware(value, name).astimezone(UTC)
    except OverflowError:
        moment = EARLIEST - timedelta(days=1)  # a year 1 time with a positive offset
    if not EARLIEST <= moment <= LATEST:
        raise ValidationError(f"must be from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}",
                              field=name)
    return moment


@dataclass(frozen=True)
class Scope:
    """What a report covers: the window ``[since, until)``, the shop's zone, the stores.

    Attributes:
        since: first instant counted (aware).
        until: first instant not counted (aware); also the "as of" moment for
            figures that depend on now (a deadline passed, a parcel stuck).
        zone: the shop's IANA zone; every bucket is a local day, week or month.
        stores: only these stores (marketplace names); empty means every store.
    """

    since: datetime
    until: datetime
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    stores: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "since", utc(self.since, "since"))
        object.__setattr__(self, "until", utc(self.until, "until"))
        if self.since >= self.until:
            raise ValidationError("must be after since", field="until")

    def window(self, column: Any) -> ColumnElement[bool]:
        """``since <= column < until``."""
        return and_(column >= self.since, column < self.until)

    def store_filter(self, column: Any) -> list[ColumnElement[bool]]:
        """``column IN stores`` when stores are chosen (else no condition)."""
        return [column.in_(self.stores)] if self.stores else []

    def periods(self, grain: Grain) -> list[Period]:
        """This window's buckets of ``grain`` in the shop's zone."""
        return periods(self.since, self.until, grain, self.zone)

    def previous(self) -> Scope:
        """The window of the same length just before this one (for changes)."""
        span = self.until - self.since
        return Scope(self.since - span, self.since, self.zone, self.stores)
