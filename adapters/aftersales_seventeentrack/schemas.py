"""Tolerant wire models of 17TRACK v2.2 payloads (unknown fields are ignored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Data",
    "Envelope",
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


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ItemError(_Wire):
    """``{"code": -18019902, "message": "..."}``."""

    code: int = 0
    message: str = ""


class RawEvent(_Wire):
    """One scan, as in ``latest_event`` and ``tracking.providers[].events[]``."""

    time_iso: str | None = None
    time_utc: str | None = None
    description: str | None = None
    location: str | None = None
    stage: str | None = None
    sub_status: str | None = None


class LatestStatus(_Wire):
    """``{"status": "Delivered", "sub_status": "Delivered_Other"}``."""

    status: str | None = None
    sub_status: str | None = None


class ProviderEvents(_Wire):
    """One carrier's events (origin post and last-mile carrier each have their own)."""

    events: list[RawEvent] = Field(default_factory=list)


class TrackingBlock(_Wire):
    """``track_info.tracking``."""

    providers: list[ProviderEvents] = Field(default_factory=list)


class TrackInfo(_Wire):
    """``track_info``: status, latest event and every provider's events."""

    latest_status: LatestStatus = Field(default_factory=LatestStatus)
    latest_event: RawEvent | None = None
    tracking: TrackingBlock = Field(default_factory=TrackingBlock)


class TrackItem(_Wire):
    """An accepted number (gettrackinfo, webhook ``data``)."""

    number: str
    carrier: int | None = None
    tag: str | None = None
    track_info: TrackInfo | None = None


class Rejected(_Wire):
    """A refused number with its error."""

    number: str
    error: ItemError = Field(default_factory=ItemError)


class Data(_Wire):
    """``data`` of the envelope."""

    accepted: list[TrackItem] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    errors: list[ItemError] = Field(default_factory=list)


class Envelope(_Wire):
    """``{"code": 0, "data": {"accepted": [...], "rejected": [...]}}``."""

    code: int = 0
    data: Data = Field(default_factory=Data)


class Webhook(_Wire):
    """``{"event": "TRACKING_UPDATED", "data": {...}}``."""

    event: str
    data: TrackItem
