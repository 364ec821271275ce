"""Pure conversions for 17TRACK: statuses, carrier keys, error codes, webhook signing.

``STATUS_TABLE`` maps every documented sub-status and main status to a
canonical status; a sub-status not in the table falls back to its main
status. An event without ``sub_status`` is read by its ``stage``
(:data:`STAGES`, the milestone key stages). The tests check each row.

Checked against the 17TRACK Tracking API v2.2 reference (api.17track.net/en/doc,
status, sub-status, key stage and error code lists) on 2026-12-02. Error
codes: only -18010003 ("internal error, retry later") is documented as worth
retrying at once; the daily limit and quota codes are rate limits the caller's
scheduler waits out (not retried in-process); any other non-zero code is a
clear ``RemoteError`` naming the code. 17TRACK documents batches of at most
40 numbers and no paging for gettrackinfo. The official pages retrieved say
nothing of a request rate (third parties cite 3 a second, answered with HTTP
429, which the core's ApiClient handles); ``requests_per_second`` paces calls
when set. Webhook events: ``TRACKING_UPDATED`` and ``TRACKING_STOPPED``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.logistics.tracking import (
    UNKNOWN,
    StatusRule,
    build_tracking,
    lookup,
    parcel_rule,
    place_time,
    scan_time,
    status_codes,
)
from aftersales.models import ParcelIssue, ParcelStatus, Tracking, TrackingEvent
from aftersales.signing import hexdigest_matches
from aftersales.webhook_body import raw_body
from aftersales_seventeentrack.schemas import RawEvent, TrackItem

__all__ = [
    "CARRIER_BY_KEY",
    "KEY_BY_CARRIER",
    "NOT_REGISTERED",
    "PENDING_CODES",
    "STAGES",
    "STATUS_TABLE",
    "carrier_for",
    "error_for_code",
    "key_for",
    "pending",
    "to_tracking",
    "verify_webhook",
    "webhook_sign",
]

S, R = ParcelStatus, ParcelIssue  # status, reason

#: main status and sub_status -> canonical status (logistics.md §2.7).
STATUS_TABLE: dict[str, StatusRule] = {
    "NotFound": StatusRule(S.PENDING),
    "NotFound_Other": StatusRule(S.PENDING),
    "NotFound_InvalidCode": StatusRule(S.PENDING),
    "InfoReceived": StatusRule(S.INFO_RECEIVED),
    "InTransit": StatusRule(S.IN_TRANSIT),
    "InTransit_PickedUp": StatusRule(S.PICKED_UP),
    "InTransit_Other": StatusRule(S.IN_TRANSIT),
    "InTransit_Departure": StatusRule(S.IN_TRANSIT),
    "InTransit_Arrival": StatusRule(S.IN_TRANSIT),
    "InTransit_CustomsProcessing": StatusRule(S.IN_TRANSIT),
    "InTransit_CustomsReleased": StatusRule(S.IN_TRANSIT),
    "InTransit_CustomsRequiringInformation": StatusRule(S.EXCEPTION, R.CUSTOMS),
    "Expired": StatusRule(S.EXPIRED),
    "Expired_Other": StatusRule(S.EXPIRED),
    "AvailableForPickup": StatusRule(S.AVAILABLE_FOR_PICKUP),
    "AvailableForPickup_Other": StatusRule(S.AVAILABLE_FOR_PICKUP),
    "OutForDelivery": StatusRule(S.OUT_FOR_DELIVERY),
    "OutForDelivery_Other": StatusRule(S.OUT_FOR_DELIVERY),
    "DeliveryFailure": StatusRule(S.FAILED_ATTEMPT),
    "DeliveryFailure_Other": StatusRule(S.FAILED_ATTEMPT),
    "DeliveryFailure_NoBody": StatusRule(S.FAILED_ATTEMPT),
    "DeliveryFailure_Security": StatusRule(S.FAILED_ATTEMPT, R.CUSTOMS),
    "DeliveryFailure_Rejected": StatusRule(S.EXCEPTION, R.REFUSED),
    "DeliveryFailure_InvalidAddress": StatusRule(S.FAILED_ATTEMPT, R.ADDRESS),
    "Delivered": StatusRule(S.DELIVERED),
    "Delivered_Other": StatusRule(S.DELIVERED),
    "Exception": StatusRule(S.EXCEPTION, R.OTHER),
    "Exception_Other": StatusRule(S.EXCEPTION, R.OTHER),
    "Exception_Returning": StatusRule(S.RETURNING),
    "Exception_Returned": StatusRule(S.RETURNED),
    "Exception_NoBody": StatusRule(S.EXCEPTION, R.ADDRESS),
    "Exception_Security": StatusRule(S.EXCEPTION, R.CUSTOMS),
    "Exception_Damage": StatusRule(S.EXCEPTION, R.DAMAGED),
    "Exception_Rejected": StatusRule(S.EXCEPTION, R.REFUSED),
    "Exception_Delayed": StatusRule(S.EXCEPTION, R.DELAYED),
    "Exception_Lost": StatusRule(S.EXCEPTION, R.LOST),
    "Exception_Destroyed": StatusRule(S.EXCEPTION, R.DAMAGED),
    "Exception_Cancel": StatusRule(S.EXCEPTION, R.OTHER),
    "Exception_Held": StatusRule(S.EXCEPTION, R.HELD),  # one third-party source only
}

#: event ``stage`` (the milestone key stages) -> canonical status, for events
#: that carry a stage but no ``sub_status``.
STAGES: dict[str, StatusRule] = {
    "InfoReceived": StatusRule(S.INFO_RECEIVED),
    "PickedUp": StatusRule(S.PICKED_UP),
    "Departure": StatusRule(S.IN_TRANSIT),
    "Arrival": StatusRule(S.IN_TRANSIT),
    "AvailableForPickup": StatusRule(S.AVAILABLE_FOR_PICKUP),
    "OutForDelivery": StatusRule(S.OUT_FOR_DELIVERY),
    "Delivered": StatusRule(S.DELIVERED),
    "Returning": StatusRule(S.RETURNING),
    "Returned": StatusRule(S.RETURNED),
}

#: per-number code: not registered yet (register, then it is pending).
NOT_REGISTERED = -18019902
#: per-number codes that mean "nothing to show yet" rather than a failure.
PENDING_CODES = frozenset({-18019901, -18019909})

#: request-level and quota codes -> error class (the v2.2 error code list).
ERROR_CODES: dict[int, type[RemoteError]] = {
    -18010001: AuthenticationError,  # IP not in whitelist
    -18010002: AuthenticationError,  # invalid security key
    -18010003: TransientError,  # internal error, retry later: the only one to retry
    -18010004: AuthenticationError,  # account disabled
    -18010005: AuthenticationError,  # unauthorized access
    -18010010: RemoteRejectedError,  # data {0} required
    -18010011: RemoteRejectedError,  # value of data {0} invalid
    -18010012: RemoteRejectedError,  # format of data {0} invalid
    -18010013: RemoteRejectedError,  # invalid submitted data
    -18010014: RemoteRejectedError,  # more than 40 numbers
    -18010015: RemoteRejectedError,  # value {0} of field {1} invalid
    -18010016: RemoteRejectedError,  # last-mile carrier only for postal services
    -18010018: RemoteRejectedError,  # carrier needs country and postal code
    -18010019: RemoteRejectedError,  # carrier needs postal code
    -18010020: RemoteRejectedError,  # carrier needs phone number
    -18019907: RateLimitError,  # daily limit exceeded
    -18019908: RateLimitError,  # quota exhausted
}
#: Rate limits the docs give no near end for: handed to the caller, not retried in-process.
_NOT_RETRIED_LIMITS = frozenset({-18019907, -18019908})

#: our carrier code -> 17TRACK carrier key (logistics.md §2.10).
KEY_BY_CARRIER: dict[str, int] = {
    "chinapost": 3011,
    "ems": 3013,
    "usps": 21051,
    "dhl": 100001,
    "ups": 100002,
    "fedex": 100003,
    "sf": 190766,
    "yto": 190157,
    "zto": 190455,
    "sto": 190324,
    "jtexpress": 190442,
    "jd": 191121,
    "deppon": 190174,
    "cainiao": 191076,
    "yunexpress": 190008,
}
CARRIER_BY_KEY: dict[int, str] = {v: k for k, v in KEY_BY_CARRIER.items()} | {
    100012: "sf",
    190271: "cainiao",
}


def webhook_sign(body: bytes, key: str) -> str:
    """17TRACK's webhook ``sign`` header: SHA-256 hex of ``body + "/" + key``."""
    return hashlib.sha256(body + b"/" + key.encode("utf-8")).hexdigest()


def verify_webhook(body: bytes, signature: str | None, key: str) -> bool:
    """Whether a webhook's ``sign`` header matches its raw body (constant time).

    Raises:
        ValidationError: ``body`` is not the raw bytes, or is over the limit.
    """
    body = raw_body(body, payload="17track webhook")
    return hexdigest_matches(signature, webhook_sign(body, key))


def key_for(carrier: str | None) -> int | None:
    """The 17TRACK carrier key for one of our codes, or ``None`` to let 17TRACK detect."""
    return KEY_BY_CARRIER.get(carrier) if carrier else None


def carrier_for(key: int | None, default: str | None = None) -> str | None:
    """Our carrier code for a 17TRACK key; ``default`` when the key is not mapped."""
    return CARRIER_BY_KEY.get(key, default) if key is not None else default


def error_for_code(code: int, message: str = "") -> RemoteError:
    """The error a request-level (or quota) code stands for.

    A code outside the documented list is a plain, never retried
    ``RemoteError`` whose message names the code.
    """
    cls = ERROR_CODES.get(code)
    if cls is None:
        text = f"17TRACK answered undocumented code {code}" + (f": {message}" if message else "")
        return RemoteError(text, adapter="seventeentrack", code=str(code))
    error = cls(message or "request refused", adapter="seventeentrack", code=str(code))
    if code in _NOT_RETRIED_LIMITS:
        error.retryable = False
    return error


def _time(raw: RawEvent, where: str, payload: str) -> tuple[datetime, bool] | None:
    """``time_utc`` (UTC by definition), else ``time_iso``; a ``time_iso`` without an
    offset is the carrier's local time, its zone inferred from the scan's address."""
    if raw.get("time_utc") not in (None, ""):
        found = scan_time(raw.get("time_utc"), field=f"{where}.time_utc", payload=payload)
        return None if found is None else (found.time, False)
    address = raw.get("address") or {}
    return place_time(raw.get("time_iso"), field=f"{where}.time_iso", payload=payload,
                      country=address.get("country"), region=address.get("state"),
                      location=raw.get("location") or address.get("city"))


def _event(raw: RawEvent, where: str, payload: str) -> TrackingEvent | None:
    found = _time(raw, where, payload)
    if found is None:
        return None  # a scan without any time: a placeholder, not a scan
    sub = raw.get("sub_status")
    if sub:
        rule = lookup(STATUS_TABLE, sub, sub.split("_", 1)[0])
    else:  # no sub_status: the event's key stage, when it has one
        rule = lookup(STAGES, raw.get("stage"))
    return TrackingEvent(
        time=found[0],
        status=rule.status,
        description=raw.get("description") or "",
        location=raw.get("location") or None,
        raw_code=sub or raw.get("stage"),
        time_inferred=found[1],
    )


def to_tracking(
    item: TrackItem, carrier: str | None = None, payload: str = "17track gettrackinfo"
) -> Tracking:
    """An accepted item (gettrackinfo or webhook) as a core :class:`Tracking`.

    An unknown sub-status falls back to its main status; a main status not
    in :data:`STATUS_TABLE` (or none) is
    :data:`~aftersales.logistics.tracking.UNKNOWN`.

    Raises:
        ValidationError: a scan's time is no time (names the field and ``payload``).
    """
    info = item.get("track_info")
    ours = carrier_for(item.get("carrier"), carrier)
    if info is None:
        return pending(item["number"], ours)
    latest = info.get("latest_status") or {}
    providers = (info.get("tracking") or {}).get("providers") or []
    raws = [(f"track_info.tracking.providers[{p}].events[{e}]", raw)
            for p, provider in enumerate(providers)
            for e, raw in enumerate(provider.get("events") or [])]
    if not raws and info.get("latest_event"):
        raws = [("track_info.latest_event", info["latest_event"] or {})]
    # no status and no scan: nothing known yet (pending); a scan without a status
    # is a parcel nobody said the state of (unknown, a problem to look at)
    rule = parcel_rule(STATUS_TABLE, *status_codes(latest.get("status"), latest.get("sub_status")),
                       absent=UNKNOWN if raws else StatusRule(S.PENDING))
    seen: set[tuple[object, str | None]] = set()
    events = []
    for where, raw in raws:
        mark = (raw.get("time_utc") or raw.get("time_iso"), raw.get("description"))
        event = _event(raw, where, payload) if mark not in seen else None
        seen.add(mark)
        if event is not None:
            events.append(event)
    return build_tracking(
        carrier=ours,
        number=item["number"],
        rule=rule,
        events=events,
        provider="seventeentrack",
        raw_status=latest.get("sub_status") or latest.get("status"),
    )


def pending(number: str, carrier: str | None) -> Tracking:
    """A number 17TRACK has nothing on yet (just registered, or no info)."""
    return Tracking(carrier=carrier, number=number, provider="seventeentrack", raw_status=None)
