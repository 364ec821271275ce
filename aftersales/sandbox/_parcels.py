"""Sandbox tracking numbers and the journey each one describes.

A sandbox tracking number is shaped like a real waybill of its carrier
(``SF`` + 13 digits, ``YT`` + 13, ``JT`` + 13, ``JDX`` + 12, ZTO ``78`` + 12,
STO ``77`` + 13, Yunda ``5`` + 12) and carries, in its digits, the parcel's
serial, the hour it was handed over and a check digit. The journey of a
parcel is therefore a pure function of its number: the marketplace (which
issues numbers and reports delivery) and the carrier (which tracks them)
agree without sharing any state, and any sandbox instance can track a
number another one issued. A string that is not such a number (wrong shape
or check digit) was never issued and has no journey.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from aftersales.models import ParcelIssue, ParcelStatus, Tracking, TrackingEvent
from aftersales.sandbox._data import HUBS

__all__ = [
    "FORMATS",
    "RAW_PARCEL_STATUSES",
    "Journey",
    "Stop",
    "build_journey",
    "carrier_of",
    "issue_number",
    "journey",
    "tracking_at",
]

#: every raw scan code a sandbox journey uses, and its canonical status.
RAW_PARCEL_STATUSES: dict[str, ParcelStatus] = {
    "PICKUP": ParcelStatus.PICKED_UP,
    "TRANSIT": ParcelStatus.IN_TRANSIT,
    "DELAY": ParcelStatus.EXCEPTION,
    "LOST": ParcelStatus.EXCEPTION,
    "DELIVERING": ParcelStatus.OUT_FOR_DELIVERY,
    "FAILED": ParcelStatus.FAILED_ATTEMPT,
    "LOCKER": ParcelStatus.AVAILABLE_FOR_PICKUP,
    "SIGNED": ParcelStatus.DELIVERED,
    "REFUSED": ParcelStatus.EXCEPTION,
    "RETURNING": ParcelStatus.RETURNING,
    "RETURNED": ParcelStatus.RETURNED,
}

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class _Format:
    prefix: str
    serial_digits: int  # then 5 digits of hours since 2024 and one check digit
    salt: int


#: carrier code -> number shape; carrier codes follow ARCHITECTURE.md.
FORMATS: dict[str, _Format] = {
    "sf": _Format("SF", 7, 1),
    "yto": _Format("YT", 7, 2),
    "jtexpress": _Format("JT", 7, 3),
    "jd": _Format("JDX", 6, 4),
    "zto": _Format("78", 6, 5),
    "sto": _Format("77", 7, 6),
    "yunda": _Format("5", 6, 7),
}
_PATTERNS = {
    code: re.compile(rf"^{f.prefix}(\d{{{f.serial_digits}}})(\d{{5}})(\d)$")
    for code, f in FORMATS.items()
}


def _check_digit(digits: str, salt: int) -> str:
    total = salt + sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return str((10 - total % 10) % 10)


def issue_number(carrier: str, serial: int, handed_over: datetime) -> str:
    """The number of parcel ``serial`` handed to ``carrier`` in the hour of ``handed_over``."""
    fmt = FORMATS[carrier]
    hours = (handed_over - _EPOCH) // _HOUR
    if not 0 <= hours < 100_000:
        raise ValueError("sandbox parcels must ship between 2024 and 2035")
    space = 10**fmt.serial_digits
    # an affine bijection on the serial space: numbers look scattered, stay unique
    mixed = (serial * 7_919_113 + 4_603_981) % space
    body = f"{mixed:0{fmt.serial_digits}d}{hours:05d}"
    return fmt.prefix + body + _check_digit(body, fmt.salt)


def _parse(number: str) -> tuple[str, int] | None:
    """(carrier, hours since 2024) for a sandbox-issued number, else None."""
    for code, pattern in _PATTERNS.items():
        m = pattern.match(number)
        if m and _check_digit(m[1] + m[2], FORMATS[code].salt) == m[3]:
            return code, int(m[2])
    return None


def carrier_of(number: str) -> str | None:
    """The carrier a sandbox-issued number belongs to; ``None`` for any other string."""
    parsed = _parse(number.strip().upper())
    return parsed[0] if parsed else None


class Stop(NamedTuple):
    """One scan of a journey."""

    time: datetime
    status: ParcelStatus
    description: str
    location: str | None
    raw_code: str
    issue: ParcelIssue | None = None


@dataclass(frozen=True)
class Journey:
    """Every scan a parcel will get, the future ones included."""

    carrier: str
    number: str
    stops: tuple[Stop, ...]

    @property
    def shipped_at(self) -> datetime:
        """When the carrier picked the parcel up."""
        return self.stops[0].time

    def at(self, status: ParcelStatus) -> datetime | None:
        """When the journey first reaches ``status``, if it ever does."""
        return next((s.time for s in self.stops if s.status is status), None)

    @property
    def final(self) -> Stop:
        """The last scan the parcel will ever get."""
        return self.stops[-1]


@lru_cache(maxsize=16_384)
def journey(number: str) -> Journey | None:
    """The whole journey of a sandbox-issued number; ``None`` if it was never issued.

    Cached for trackers that ask again; :func:`build_journey` is the same
    without the cache, for callers that keep only a summary.
    """
    return build_journey(number)


def build_journey(number: str) -> Journey | None:
    """See :func:`journey` (uncached)."""
    number = number.strip().upper()
    parsed = _parse(number)
    if parsed is None:
        return None
    carrier, hours = parsed
    h = hashlib.sha256(number.encode()).digest()
    t = _EPOCH + hours * _HOUR + timedelta(minutes=h[0] % 60)
    hub1, hub2 = HUBS[h[2] % len(HUBS)], HUBS[(h[2] + 1 + h[3] % (len(HUBS) - 1)) % len(HUBS)]
    scenario = h[1] % 100
    stops: list[Stop] = []

    def add(after_minutes: int, status: ParcelStatus, text: str, where: str | None, raw: str,
            issue: ParcelIssue | None = None) -> None:
        nonlocal t
        t = t + timedelta(minutes=after_minutes)
        stops.append(Stop(t, status, text, where, raw, issue))

    add(0, ParcelStatus.PICKED_UP, "快件已揽收 Picked up", hub1, "PICKUP")
    add(120 + h[4] * 2, ParcelStatus.IN_TRANSIT, f"到达 {hub1}", hub1, "TRANSIT")
    add(360 + h[5] * 3, ParcelStatus.IN_TRANSIT, f"离开 {hub1}，发往 {hub2}", hub1, "TRANSIT")
    if 86 <= scenario <= 90:
        add(240, ParcelStatus.EXCEPTION, "天气原因延误 Delayed by weather", hub1, "DELAY",
            ParcelIssue.DELAYED)
        add(2880, ParcelStatus.IN_TRANSIT, "恢复运输 Back in transit", hub1, "TRANSIT")
    if 91 <= scenario <= 94:
        add(5760, ParcelStatus.EXCEPTION, "快件丢失，已登记理赔 Lost, claim filed", None, "LOST",
            ParcelIssue.LOST)
        return Journey(carrier, number, tuple(stops))
    add(600 + h[6] * 5, ParcelStatus.IN_TRANSIT, f"到达 {hub2}", hub2, "TRANSIT")
    add(360 + h[7] * 2, ParcelStatus.OUT_FOR_DELIVERY, "派件中 Out for delivery", hub2,
        "DELIVERING")
    if 76 <= scenario <= 81:
        add(180, ParcelStatus.FAILED_ATTEMPT, "派送未成功，收件人不在 Recipient absent", hub2,
            "FAILED")
        add(1200, ParcelStatus.OUT_FOR_DELIVERY, "再次派件 Out for delivery again", hub2,
            "DELIVERING")
    elif 82 <= scenario <= 85:
        add(150, ParcelStatus.AVAILABLE_FOR_PICKUP, "已放入快递柜 In a parcel locker", hub2,
            "LOCKER")
        add(900 + h[8] * 2, ParcelStatus.DELIVERED, "已取件 Collected", hub2, "SIGNED")
        return Journey(carrier, number, tuple(stops))
    elif scenario >= 95:
        add(180, ParcelStatus.EXCEPTION, "收件人拒收 Refused by recipient", hub2, "REFUSED",
            ParcelIssue.REFUSED)
        add(300, ParcelStatus.RETURNING, "退回中 Returning to sender", hub2, "RETURNING",
            ParcelIssue.REFUSED)
        add(3600, ParcelStatus.RETURNED, "已退回寄件人 Returned to sender", hub1, "RETURNED",
            ParcelIssue.REFUSED)
        return Journey(carrier, number, tuple(stops))
    add(60 + h[9] * 1, ParcelStatus.DELIVERED, "已签收 Delivered", hub2, "SIGNED")
    return Journey(carrier, number, tuple(stops))


def tracking_at(number: str, now: datetime, *, carrier: str | None = None,
                provider: str | None = "sandbox") -> Tracking:
    """The parcel's tracking as it stands at ``now`` (pending before the first scan)."""
    j = journey(number)
    if j is None:
        return Tracking(carrier=carrier, number=number, provider=provider)
    seen = [s for s in j.stops if s.time <= now]
    if not seen:
        return Tracking(carrier=j.carrier, number=j.number, provider=provider)
    last = seen[-1]
    events = [
        TrackingEvent(time=s.time, status=s.status, description=s.description,
                      location=s.location, raw_code=s.raw_code)
        for s in seen
    ]
    issue = last.issue if last.status in _ISSUE_STATUSES else None
    delivered = last.time if last.status is ParcelStatus.DELIVERED else None
    return Tracking(carrier=j.carrier, number=j.number, status=last.status, issue=issue,
                    events=events, delivered_at=delivered, provider=provider,
                    raw_status=last.raw_code)


_ISSUE_STATUSES = frozenset({ParcelStatus.EXCEPTION, ParcelStatus.RETURNING, ParcelStatus.RETURNED})
