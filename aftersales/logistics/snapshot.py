"""A tracking reduced to the plain values a write needs.

A refresh settles thousands of trackings and holds each until its write.
As pydantic models each would be a dozen objects for Python's cycle
collector to walk, and those that wait long enough are promoted into the
oldest generation, whose full collections pause every thread of the
process. On the refresh benchmark those pauses were most of the distance
between the wall time and the latency bound with four calls in flight.
Tuples holding only strings, numbers and datetimes are untracked by the
collector, so a waiting :class:`Snapshot` costs it nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import NamedTuple

from aftersales.models import Tracking, TrackingEvent

__all__ = ["Scan", "Snapshot", "fingerprint", "snapshot"]


class Scan(NamedTuple):
    """One event, ready to store."""

    fingerprint: str
    time: datetime
    status: str
    description: str
    location: str | None
    raw_code: str | None


class Snapshot(NamedTuple):
    """A fresh tracking as plain values: statuses as their string values.

    Attributes:
        last_event_at: the time of the latest event, ``None`` without events.
        scans: the events, oldest first.
    """

    carrier: str | None
    status: str
    issue: str | None
    raw_status: str | None
    provider: str | None
    delivered_at: datetime | None
    last_event_at: datetime | None
    scans: tuple[Scan, ...]


def fingerprint(event: TrackingEvent) -> str:
    """A stable identity for one scan, so a re-fetched event is recognised."""
    text = "|".join(
        [event.time.isoformat(), event.status.value, event.description, event.location or ""]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snapshot(tracking: Tracking) -> Snapshot:
    """``tracking`` as a :class:`Snapshot` (events fingerprinted once, here)."""
    events = tracking.events
    return Snapshot(
        tracking.carrier,
        tracking.status.value,
        tracking.issue.value if tracking.issue else None,
        tracking.raw_status,
        tracking.provider,
        tracking.delivered_at,
        events[-1].time if events else None,
        tuple(
            Scan(fingerprint(e), e.time, e.status.value, e.description, e.location, e.raw_code)
            for e in events
        ),
    )
