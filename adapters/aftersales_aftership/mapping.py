"""Pure conversions for AfterShip: tags and subtags, courier slugs, webhook HMAC.

``STATUS_TABLE`` maps every documented tag and subtag to a canonical status;
an unknown subtag (the list is open-ended) falls back to its tag. The tests
check each row.

Checked against the AfterShip Tracking API 2026-07 reference (delivery
statuses and sub-statuses, checkpoint fields, webhook specification) and the
help-center list of sub-statuses added from 2026-03-27 (Exception_016 to
Exception_021) on 2026-12-02. A ``checkpoint_time`` without an offset is the
carrier's local time: its zone comes from the checkpoint's country, state or
location (:func:`aftersales.logistics.zones.zone_for`) and the event says
the time was inferred; AfterShip's ``created_at`` (when it fetched the
scan, days later at times) is never used as the scan's time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aftersales.logistics.tracking import (
    StatusRule,
    build_tracking,
    lookup,
    parcel_rule,
    place_time,
    status_codes,
)
from aftersales.models import ParcelIssue, ParcelStatus, Tracking, TrackingEvent
from aftersales.signing import verify_hmac_sha256_base64
from aftersales_aftership.schemas import Checkpoint, TrackingObject

__all__ = [
    "CARRIER_BY_SLUG",
    "SLUG_BY_CARRIER",
    "STATUS_TABLE",
    "carrier_for",
    "slug_for",
    "to_tracking",
    "tracking_object",
    "verify_webhook",
]

S, R = ParcelStatus, ParcelIssue  # status, reason

#: tag / subtag -> canonical status (logistics.md §3.5).
STATUS_TABLE: dict[str, StatusRule] = {
    "Pending": StatusRule(S.PENDING),
    **{f"Pending_00{i}": StatusRule(S.PENDING) for i in range(1, 7)},
    "InfoReceived": StatusRule(S.INFO_RECEIVED),
    "InfoReceived_001": StatusRule(S.INFO_RECEIVED),
    "InTransit": StatusRule(S.IN_TRANSIT),
    "InTransit_001": StatusRule(S.IN_TRANSIT),
    "InTransit_002": StatusRule(S.PICKED_UP),  # acceptance scan
    "InTransit_003": StatusRule(S.IN_TRANSIT),
    "InTransit_004": StatusRule(S.IN_TRANSIT),
    "InTransit_005": StatusRule(S.IN_TRANSIT),
    "InTransit_006": StatusRule(S.IN_TRANSIT),
    "InTransit_007": StatusRule(S.IN_TRANSIT),
    "InTransit_008": StatusRule(S.IN_TRANSIT),
    "InTransit_009": StatusRule(S.IN_TRANSIT),
    "OutForDelivery": StatusRule(S.OUT_FOR_DELIVERY),
    "OutForDelivery_001": StatusRule(S.OUT_FOR_DELIVERY),
    "OutForDelivery_003": StatusRule(S.OUT_FOR_DELIVERY),
    "OutForDelivery_004": StatusRule(S.OUT_FOR_DELIVERY),
    "AttemptFail": StatusRule(S.FAILED_ATTEMPT),
    "AttemptFail_001": StatusRule(S.FAILED_ATTEMPT),
    "AttemptFail_002": StatusRule(S.FAILED_ATTEMPT, R.ADDRESS),
    "AttemptFail_003": StatusRule(S.FAILED_ATTEMPT, R.ADDRESS),
    "Delivered": StatusRule(S.DELIVERED),
    "Delivered_001": StatusRule(S.DELIVERED),
    "Delivered_002": StatusRule(S.DELIVERED),
    "Delivered_003": StatusRule(S.DELIVERED),
    "Delivered_004": StatusRule(S.DELIVERED),
    "Delivered_005": StatusRule(S.DELIVERED),
    "AvailableForPickup": StatusRule(S.AVAILABLE_FOR_PICKUP),
    "AvailableForPickup_001": StatusRule(S.AVAILABLE_FOR_PICKUP),
    "Exception": StatusRule(S.EXCEPTION, R.OTHER),
    "Exception_001": StatusRule(S.EXCEPTION, R.OTHER),
    "Exception_002": StatusRule(S.EXCEPTION, R.ADDRESS),  # customer moved
    "Exception_003": StatusRule(S.EXCEPTION, R.REFUSED),
    "Exception_004": StatusRule(S.EXCEPTION, R.CUSTOMS),  # delayed in customs
    "Exception_005": StatusRule(S.EXCEPTION, R.DELAYED),
    "Exception_006": StatusRule(S.EXCEPTION, R.HELD),  # held for payment
    "Exception_007": StatusRule(S.EXCEPTION, R.ADDRESS),
    "Exception_008": StatusRule(S.EXCEPTION, R.HELD),  # pickup missed: waits uncollected
    "Exception_009": StatusRule(S.EXCEPTION, R.OTHER),  # rejected by carrier
    "Exception_010": StatusRule(S.RETURNING),
    "Exception_011": StatusRule(S.RETURNED),
    "Exception_012": StatusRule(S.EXCEPTION, R.DAMAGED),
    "Exception_013": StatusRule(S.EXCEPTION, R.LOST),
    "Exception_016": StatusRule(S.EXCEPTION, R.DELAYED),
    "Exception_017": StatusRule(S.EXCEPTION, R.DELAYED),
    "Exception_018": StatusRule(S.EXCEPTION, R.CUSTOMS),  # incorrect / missing documents
    "Exception_019": StatusRule(S.EXCEPTION, R.DELAYED),  # late flight
    "Exception_020": StatusRule(S.EXCEPTION, R.OTHER),  # shipment cancelled
    "Exception_021": StatusRule(S.EXCEPTION, R.DAMAGED),  # disposed: destroyed or discarded
    "Expired": StatusRule(S.EXPIRED),
    "Expired_001": StatusRule(S.EXPIRED),
}

#: our carrier code -> AfterShip courier slug (only slugs seen in public sources).
SLUG_BY_CARRIER: dict[str, str] = {
    "ups": "ups",
    "fedex": "fedex",
    "usps": "usps",
    "dhl": "dhl",
    "ems": "china-ems",
    "chinapost": "china-post",
    "sf": "sf-express",
    "cainiao": "cainiao",
    "yunexpress": "yunexpress",
}
CARRIER_BY_SLUG: dict[str, str] = {v: k for k, v in SLUG_BY_CARRIER.items()}


def verify_webhook(body: bytes, signature: str, secret: str) -> bool:
    """Whether ``aftership-hmac-sha256`` is the base64 HMAC-SHA256 of the raw body.

    Checked in constant time on the raw bytes, before any JSON parsing.
    """
    return verify_hmac_sha256_base64(body, signature, secret)


def slug_for(carrier: str | None) -> str | None:
    """The courier slug for one of our codes; ``None`` lets AfterShip detect."""
    return SLUG_BY_CARRIER.get(carrier) if carrier else None


def carrier_for(slug: str | None, default: str | None = None) -> str | None:
    """Our carrier code for a slug; an unmapped slug is kept as AfterShip spells it."""
    if not slug:
        return default
    return CARRIER_BY_SLUG.get(slug, slug)


def tracking_object(data: Any) -> Mapping[str, Any] | None:
    """The tracking inside ``data``: itself (2024-07+) or ``data.tracking`` (2024-04)."""
    if isinstance(data, dict) and isinstance(data.get("tracking"), dict):
        return data["tracking"]  # type: ignore[no-any-return]
    return data if isinstance(data, dict) and "tracking_number" in data else None


def _event(point: Checkpoint, index: int, payload: str) -> TrackingEvent | None:
    found = place_time(
        point.checkpoint_time, field=f"checkpoints[{index}].checkpoint_time", payload=payload,
        country=point.country_region or point.country_iso3,
        country_name=point.country_region_name or point.country_name,
        region=point.state,
        location=point.location or point.city,
    )
    if found is None:
        return None  # a checkpoint without a time: a placeholder, not a scan
    when, inferred = found
    rule = lookup(STATUS_TABLE, *status_codes(point.tag, point.subtag))
    return TrackingEvent(
        time=when,
        status=rule.status,
        description=point.message,
        location=point.location or point.city or None,
        raw_code=point.subtag or point.tag,
        time_inferred=inferred,
    )


def to_tracking(
    obj: TrackingObject, carrier: str | None = None, payload: str = "aftership tracking"
) -> Tracking:
    """A tracking object (API response or webhook ``msg``) as a core :class:`Tracking`.

    No tag is pending; a tag (and subtag) not in :data:`STATUS_TABLE` is
    :data:`~aftersales.logistics.tracking.UNKNOWN`.

    Raises:
        ValidationError: a checkpoint's time is no time (names the field and ``payload``).
    """
    rule = parcel_rule(STATUS_TABLE, *status_codes(obj.tag, obj.subtag),
                       absent=StatusRule(S.PENDING))
    events = [e for e in (_event(p, i, payload) for i, p in enumerate(obj.checkpoints))
              if e is not None]
    return build_tracking(
        carrier=carrier_for(obj.slug, carrier),
        number=obj.tracking_number,
        rule=rule,
        events=events,
        provider="aftership",
        raw_status=obj.subtag or obj.tag,
    )
