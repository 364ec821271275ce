"""Helpers every tracking adapter shares: status tables, times, Tracking assembly.

Each provider maps its own codes through one table of
``code -> StatusRule``; :func:`lookup` reads such a table with a fallback,
:func:`parse_time` turns a provider's time text into an aware datetime and
:func:`build_tracking` assembles the core :class:`~aftersales.models.Tracking`
(events oldest first, ``delivered_at`` filled in) the same way for all.

What a provider answers is checked here the same way for every adapter: a
parcel-level code nobody documented is :data:`UNKNOWN` (a problem to look
at, never "delivered"), :func:`scan_time` refuses a scan time that is no
time by naming the field, and :func:`track_result` keeps an answer that
names another number or carrier than was asked off the asked parcel. A
batch answer's items are read one by one, so one
malformed item spoils only itself (:func:`aftersales.wire.split_items`): its
number's error, or, when it has no readable number, a one-line error the
call hands back beside its results (:class:`TrackAnswer`) and the refresh
counts as a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

from aftersales.errors import ValidationError
from aftersales.logistics.detect import normalize_number
from aftersales.logistics.zones import zone_for
from aftersales.models import (
    ParcelIssue,
    ParcelStatus,
    Tracking,
    TrackingEvent,
    TrackQuery,
    TrackResult,
)
from aftersales.redact import redact_remote

__all__ = [
    "CHINA_TZ",
    "UNKNOWN",
    "ScanTime",
    "StatusRule",
    "StatusTable",
    "TrackAnswer",
    "build_tracking",
    "foreign_answer",
    "header_value",
    "lookup",
    "parcel_rule",
    "parse_time",
    "place_time",
    "provider_reason",
    "scan_clock",
    "scan_time",
    "status_codes",
    "status_map",
    "track_result",
]

#: China Standard Time; Chinese carriers print local times with no offset (no DST).
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class StatusRule(NamedTuple):
    """What one provider code means: a canonical status and, for problems, why."""

    status: ParcelStatus
    issue: ParcelIssue | None = None


StatusTable = Mapping[str, StatusRule]

#: A parcel-level code the provider's documents do not list: an exception to
#: look at (快递异常), never read as delivered nor as quietly in transit.
UNKNOWN = StatusRule(ParcelStatus.EXCEPTION, ParcelIssue.OTHER)


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


#: The code :func:`status_codes` gives for a main status that is none; no table holds it.
_NOT_A_STATUS = "\x00not a status"


def status_codes(main: str | None, sub: str | None) -> tuple[str | None, ...]:
    """A status and its sub-status as codes for :func:`lookup`, most specific first.

    Providers name a sub-status after its main status (AfterShip's
    ``Delivered_001`` under ``Delivered``, 17TRACK's ``InTransit_PickedUp``
    under ``InTransit``). A sub-status that belongs to another status than
    the one sent beside it is a contradiction, not a refinement, so only the
    main status is read: a forged or garbled ``Delivered_001`` never marks a
    parcel delivered on its own. A sub-status sent in the main status's
    place (``Delivered_001`` as the tag) is no main status: the codes are
    then ones no table knows, so the parcel reads as unknown.
    """
    if main and "_" in main:
        return (_NOT_A_STATUS,)
    if sub and main and not sub.startswith(f"{main}_"):
        return (main,)
    return (sub, main)


def parcel_rule(
    table: StatusTable, *codes: str | None, absent: StatusRule = UNKNOWN
) -> StatusRule:
    """A parcel's status from its codes, most specific first.

    The first code the table knows wins (a sub-status, then its main
    status); codes given but none known are :data:`UNKNOWN`; no code at all
    is ``absent``.
    """
    given = [code for code in codes if code]
    if not given:
        return absent
    return lookup(table, *given, default=UNKNOWN)


def status_map(table: StatusTable) -> dict[str, ParcelStatus]:
    """Each code of ``table`` and its canonical status, dropping the issue.

    What a tracking adapter publishes as ``parcel_status_table`` (next to
    ``raw_parcel_statuses = tuple(table)``) for the conformance kit.
    """
    return {code: rule.status for code, rule in table.items()}


#: No scan happens before this, nor after :data:`LATEST_SCAN` (0, a year 2999, ...).
EARLIEST_SCAN = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_SCAN = datetime(2100, 1, 1, tzinfo=UTC)
#: How far ahead of the clock a scan may be (a local time read in a neighbouring zone).
_AHEAD = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"\d{1,13}", re.ASCII)


def parse_time(text: str | None, naive_tz: tzinfo = UTC) -> datetime | None:
    """An aware UTC datetime from ISO-8601-ish text, or ``None`` when empty, unreadable
    or outside 2000–2100.

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
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's end
        return None
    return moment if EARLIEST_SCAN <= moment < LATEST_SCAN else None


#: The clock scan times are checked against inside :func:`scan_clock` (the app's).
_scan_clock: ContextVar[Callable[[], datetime] | None] = ContextVar(
    "aftersales_scan_clock", default=None)


@contextmanager
def scan_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Check scan times against ``clock`` inside the block (see :func:`scan_time`).

    The logistics service opens it with the app's clock around every provider
    call and push it reads, so "more than a day ahead" means ahead of the
    app's now (a shop replaying a day, a test at a set time), not the
    machine's; the refresh's worker threads run in a copy of the caller's
    context and see it too.
    """
    token = _scan_clock.set(clock)
    try:
        yield
    finally:
        _scan_clock.reset(token)


class ScanTime(NamedTuple):
    """A scan's time in UTC, and whether the provider wrote it without an offset."""

    time: datetime
    naive: bool


def scan_time(
    value: object, *, field: str, payload: str, naive_tz: tzinfo = UTC,
    now: datetime | None = None,
) -> ScanTime | None:
    """A scan's time as the provider wrote it: ISO-8601 text (an offset honoured, none
    read in ``naive_tz``) or epoch seconds or milliseconds, as a number or digits.

    ``None`` or empty text is no time (a placeholder scan, skipped by the caller).

    Raises:
        ValidationError: a time that is no time: unreadable, a flag, before 2000,
            or more than a day ahead of ``now`` (default: the :func:`scan_clock`
            in effect, else the machine's clock); names the field and the
            payload, never the value.
    """
    if value is None or value == "":
        return None
    naive = False
    moment: datetime | None = None
    if isinstance(value, bool):
        moment = None
    elif isinstance(value, int | float) or (isinstance(value, str)
                                            and _DIGITS.fullmatch(value.strip())):
        try:
            number = float(value)
            moment = _EPOCH + (timedelta(milliseconds=number) if number > 10**11
                               else timedelta(seconds=number))
        except (ValueError, OverflowError):
            moment = None
    elif isinstance(value, str):
        text = value.strip()
        try:
            naive = datetime.fromisoformat(text).tzinfo is None
        except ValueError:
            naive = False
        moment = parse_time(text, naive_tz)
    if moment is None or not EARLIEST_SCAN <= moment < LATEST_SCAN:
        raise ValidationError("not a scan time (ISO-8601 or epoch seconds, 2000–2100)",
                              field=field, payload=payload)
    if now is None:
        clock = _scan_clock.get()
        now = clock() if clock is not None else datetime.now(UTC)
    if moment > now + _AHEAD:
        raise ValidationError("a scan time in the future", field=field, payload=payload)
    return ScanTime(moment.astimezone(UTC), naive)


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

    An event listed more than once (same time, status, text, place and code)
    is kept once.

    ``delivered_at`` is the time of the latest delivered event, or of the
    latest event of any kind when the provider says delivered but marks no
    single event so; it stays ``None`` for parcels not delivered.
    """
    # A scan listed twice (a provider's retry, two carriers echoing one scan) is
    # one scan; Tracking puts them in time order itself.
    seen: set[tuple[object, ...]] = set()
    unique = []
    for event in events:
        mark = (event.time, event.status, event.description, event.location, event.raw_code)
        if mark not in seen:
            seen.add(mark)
            unique.append(event)
    events = unique
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


def place_time(
    value: object, *, field: str, payload: str, country: str | None = None,
    country_name: str | None = None, region: str | None = None, location: str | None = None,
) -> tuple[datetime, bool] | None:
    """A scan's time and whether its zone was inferred (``None``: no time given).

    A time without an offset is the carrier's local time at the scan's
    place: its zone comes from the country, region or location
    (:func:`~aftersales.logistics.zones.zone_for`), UTC when none tells it,
    and the time is marked inferred either way.

    Raises:
        ValidationError: as :func:`scan_time`.
    """
    found = scan_time(value, field=field, payload=payload)
    if found is None or not found.naive:
        return None if found is None else (found.time, False)
    zone = zone_for(country=country, country_name=country_name, region=region,
                    location=location)
    if zone is not None:
        local = scan_time(value, field=field, payload=payload, naive_tz=zone)
        if local is not None:
            return local.time, True
    return found.time, True


def foreign_answer(query: TrackQuery, tracking: Tracking) -> str | None:
    """Why ``tracking`` does not answer ``query``, or ``None`` when it does.

    The number must be the asked one (spacing and case aside); the carrier,
    when both the query and the answer name one, must be the asked one. An
    answer for another parcel is never stored against the asked one.
    """
    if normalize_number(tracking.number) != normalize_number(query.number):
        return "the answer names another tracking number than was asked"
    if query.carrier and tracking.carrier and tracking.carrier != query.carrier:
        return "the answer names another carrier than was asked"
    return None


def track_result(query: TrackQuery, build: Callable[[], Tracking]) -> TrackResult:
    """The result for one asked number: the tracking ``build`` reads from the answer,
    or a per-number error when the answer holds a bad value
    (:class:`~aftersales.errors.ValidationError`) or is about another parcel.
    """
    try:
        tracking = build()
    except ValidationError as exc:
        return TrackResult(query=query, error=str(exc), error_code="invalid")
    why = foreign_answer(query, tracking)
    if why is not None:
        return TrackResult(query=query, error=why, error_code="mismatch")
    return TrackResult(query=query, tracking=tracking)


#: The longest provider reason kept for one number, and how much of it is read.
_MAX_REASON = 200
_MASKED_AT_MOST = 4000


def provider_reason(message: object, default: str = "refused") -> str:
    """A provider's per-number message, fit to show and store: masked (phones, names,
    keys), on one line, at most 200 characters; ``default`` when it gave none."""
    text = message if isinstance(message, str) else ""
    # Masking costs time with the text's length; no reason needs more than this.
    text = " ".join(redact_remote(text[:_MASKED_AT_MOST].replace("\x00", " ")).split())
    if len(text) > _MAX_REASON:
        text = text[: _MAX_REASON - 1] + "…"
    return text or default


class TrackAnswer(list[TrackResult]):
    """What one ``Carrier.track`` call found: one result per query, in order (a
    list like any other), and ``unowned``: a one-line error for each item of
    the provider's answer that no query owns because it has no readable number.

    Such an item is no asked number's error, and dropping it would hide a
    broken answer: the refresh keeps the batch's other results and counts each
    unowned item as a failure (``RefreshReport.malformed``), so the job says
    something failed.
    """

    unowned: tuple[str, ...]

    def __init__(self, results: Iterable[TrackResult] = (), unowned: Iterable[str] = ()) -> None:
        super().__init__(results)
        self.unowned = tuple(unowned)

