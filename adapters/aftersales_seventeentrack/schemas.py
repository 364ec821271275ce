"""Tolerant wire shapes of 17TRACK v2.2 payloads (unknown fields are ignored).

They are ``TypedDict``s validated by pydantic, not models: a ``gettrackinfo``
answer holds up to 40 numbers with every scan of each, and validating it
into plain dicts costs a third of the time and a fraction of the objects
that a tree of models does. A refresh of thousands of parcels validates
hundreds of such answers, so this is the adapter's hot path. Optional keys
are read with ``.get``; the validators (``ENVELOPE``, ``WEBHOOK``,
``TRACK_ITEM``) still refuse wrong types. A block 17TRACK has nothing in yet
may come as ``null`` (its reference's examples send ``latest_event``, an
address's parts and a milestone's times so): every optional field takes
``None`` and is read as absent.
"""

from __future__ import annotations

from typing import NotRequired

from pydantic import TypeAdapter
from typing_extensions import TypedDict

__all__ = [
    "ENVELOPE",
    "REJECTED",
    "TRACK_ITEM",
    "WEBHOOK",
    "Data",
    "Envelope",
    "EventAddress",
    "ItemError",
    "LatestStatus",
    "ProviderEvents",
    "RawEvent",
    "Rejected",
    "TrackInfo",
    "TrackItem",
    "TrackingBlock",
    "Webhook",
]


class ItemError(TypedDict, total=False):
    """``{"code": -18019902, "message": "..."}``."""

    code: int
    message: str


class EventAddress(TypedDict, total=False):
    """Where a scan happened (``address`` of an event)."""

    country: str | None
    state: str | None
    city: str | None


class RawEvent(TypedDict, total=False):
    """One scan, as in ``latest_event`` and ``tracking.providers[].events[]``.

    Times are text; an epoch number is accepted here and checked by the mapping.
    """

    time_iso: str | int | float | None
    time_utc: str | int | float | None
    description: str | None
    location: str | None
    stage: str | None
    sub_status: str | None
    address: EventAddress | None


class LatestStatus(TypedDict, total=False):
    """``{"status": "Delivered", "sub_status": "Delivered_Other"}``."""

    status: str | None
    sub_status: str | None


class ProviderEvents(TypedDict, total=False):
    """One carrier's events (origin post and last-mile carrier each have their own)."""

    events: list[RawEvent] | None


class TrackingBlock(TypedDict, total=False):
    """``track_info.tracking``."""

    providers: list[ProviderEvents] | None


class TrackInfo(TypedDict, total=False):
    """``track_info``: status, latest event and every provider's events."""

    latest_status: LatestStatus | None
    latest_event: RawEvent | None
    tracking: TrackingBlock | None


class TrackItem(TypedDict):
    """An accepted number (gettrackinfo, webhook ``data``)."""

    number: str
    carrier: NotRequired[int | None]
    tag: NotRequired[str | None]
    track_info: NotRequired[TrackInfo | None]


class Rejected(TypedDict):
    """A refused number with its error."""

    number: str
    error: NotRequired[ItemError | None]


class Data(TypedDict, total=False):
    """``data`` of the envelope."""

    accepted: list[TrackItem] | None
    rejected: list[Rejected] | None
    errors: list[ItemError] | None


class Envelope(TypedDict, total=False):
    """``{"code": 0, "data": {"accepted": [...], "rejected": [...]}}``."""

    code: int
    data: Data


class Webhook(TypedDict):
    """``{"event": "TRACKING_UPDATED", "data": {...}}``."""

    event: str
    data: TrackItem


#: Validates a ``gettrackinfo`` or ``register`` answer (bytes or parsed JSON).
ENVELOPE: TypeAdapter[Envelope] = TypeAdapter(Envelope)
#: Validates a webhook body.
WEBHOOK: TypeAdapter[Webhook] = TypeAdapter(Webhook)
#: Validates one accepted item.
TRACK_ITEM: TypeAdapter[TrackItem] = TypeAdapter(TrackItem)
#: Validates one refused item.
REJECTED: TypeAdapter[Rejected] = TypeAdapter(Rejected)
