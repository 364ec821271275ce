"""A tracking reduced to the plain values a write needs.

A refresh settles thousands of trackings and holds each until its write.
As pydantic models each would be a dozen objects for Python's cycle
collector to walk, and those that wait long enough are promoted into the
oldest generation, whose full collections pause every thread of the
process (on the refresh benchmark with four calls in flight, a few
hundredths of the limit, each time one runs).
Exact tuples holding only strings, numbers and datetimes are untracked by
the collector, so a waiting :data:`Snapshot` costs it nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from aftersales.models import Tracking, TrackingEvent

__all__ = ["Scan", "Snapshot", "fingerprint", "snapshot"]


#: One event ready to store:
#: ``(fingerprint, time, status, description, location, raw_code, time_inferred)``.
Scan = tuple[str, datetime, str, str, str | None, str | None, bool]

#: A fresh tracking as plain values, statuses as their string values:
#: ``(carrier, status, issue, raw_status, provider, delivered_at,
#: last_event_at, scans)``, where ``last_event_at`` is the latest event's
#: time (``None`` without events) and ``scans`` are oldest first. Plain
#: tuples rather than named ones: only exact tuples of untracked values are
#: dropped by the collector.
Snapshot = tuple[
    str | None, str, str | None, str | None, str | None, datetime | None, datetime | None,
    tuple[Scan, ...],
]


def fingerprint(event: TrackingEvent) -> str:
    """A stable identity for one scan, so a re-fetched event is recognised.

    Its time, canonical status, text and place; not ``raw_code``, which is
    the provider's vocabulary for the scan (Kuaidi100's ``1001`` is
    17TRACK's ``InTransit_PickedUp``): the same scan answered by a fallback
    provider, or pushed by one after another polled it, would be stored
    twice. Scans differing only by code are one scan for the shop; the code
    stored is the first provider's. Changing what is hashed would make every
    stored scan look new on the next refresh.
    """
    text = "|".join(
        [event.time.isoformat(), event.status.value, event.description, event.location or ""]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snapshot(tracking: Tracking) -> Snapshot:
    """``tracking`` as a :data:`Snapshot` (events fingerprinted once, here)."""
    events = tracking.events
    return (
        tracking.carrier,
        tracking.status.value,
        tracking.issue.value if tracking.issue else None,
        tracking.raw_status,
        tracking.provider,
        tracking.delivered_at,
        events[-1].time if events else None,
        tuple(
            (fingerprint(e), e.time, e.status.value, e.description, e.location, e.raw_code,
             e.time_inferred)
            for e in events
        ),
    )
