"""Helpers every tracking adapter shares: status tables, times, Tracking assembly.

Each provider maps its own codes through one table of
``code -> StatusRule``; :func:`lookup` reads such a table with a fallback,
:func:`parse_time` turns a provider's time text into an aware datetime and
:func:`build_tracking` assembles the core :class:`~aftersales.models.Tracking`
(events oldest first, ``delivered_at`` filled in) the same way for all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

from aftersales.models import ParcelIssue, ParcelStatus, Tracking, TrackingEvent

__all__ = [
    "CHINA_TZ",
    "StatusRule",
    "StatusTable",
    "build_tracking",
    "header_value",
    "lookup",
    "parse_time",
    "status_map",
]

#: China Standard Time; Chinese carriers print local times with no offset (no DST).
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class StatusRule(NamedTuple):
    """What one provider code means: a canonical status and, for problems, why."""

    status: ParcelStatus
    issue: ParcelIssue | None = None


StatusTable = Mapping[str, StatusRule]


def lookup(table: StatusTable, *codes: str | None, default: StatusRule | None = None) -> StatusRule:
    """The rule for the first of ``codes`` the table knows (most specific first).

    Providers keep adding codes; an unknown one falls back to a broader code
    (a sub-status's main status) and finally to ``default`` (in transit),
    never to an exception.
    """
    for code in codes:
        if code is not None and code in table:
            return table[code]
    return default or StatusRule(ParcelStatus.IN_TRANSIT)


def status_map(table: StatusTable) -> dict[str, ParcelStatus]:
    """Each code of ``table`` and its canonical status, dropping the issue.

    What a tracking adapter publishes as ``parcel_status_table`` (next to
    ``raw_parcel_statuses = tuple(table)``) for the conformance kit.
    """
    return {code: rule.status for code, rule in table.items()}


def parse_time(text: str | None, naive_tz: tzinfo = UTC) -> datetime | None:
    """An aware UTC datetime from ISO-8601-ish text, or ``None`` when empty or unreadable.

    Text without an offset is read in ``naive_tz`` (China time for Kuaidi100).
    """
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())  # reads a trailing "Z" since 3.11
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    # One time zone for every event: the store keeps UTC, and comparing
    # datetimes that share a tzinfo is the fast path when events are sorted.
    return parsed.astimezone(UTC)


def build_tracking(
    *,
    carrier: str | None,
    number: str,
    rule: StatusRule,
    events: Iterable[TrackingEvent],
    provider: str,
    raw_status: str | None,
) -> Tracking:
    """Assemble a :class:`Tracking`, deriving ``delivered_at`` from the events.

    ``delivered_at`` is the time of the latest delivered event, or of the
    latest event of any kind when the provider says delivered but marks no
    single event so; it stays ``None`` for parcels not delivered.
    """
    events = list(events)  # Tracking puts them in time order itself
    delivered_at = None
    if rule.status is ParcelStatus.DELIVERED and events:
        marked = [e.time for e in events if e.status is ParcelStatus.DELIVERED]
        delivered_at = max(marked or [e.time for e in events])
    return Tracking(
        carrier=carrier,
        number=number,
        status=rule.status,
        issue=rule.issue,
        events=events,
        delivered_at=delivered_at,
        provider=provider,
        raw_status=raw_status,
    )


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` whatever its case (web frameworks differ)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
