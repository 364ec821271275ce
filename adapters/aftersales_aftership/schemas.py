"""Tolerant wire models of AfterShip Tracking API payloads (unknown fields ignored).

They accept 2025-01 and the legacy 2024-04 shapes: the tracking may sit
directly in ``data`` or under ``data.tracking``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Checkpoint", "Meta", "TrackingObject", "Webhook"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Meta(_Wire):
    """``meta`` of every response: ``{"code": 4004, "message": ..., "type": "NotFound"}``."""

    code: int = 0
    message: str = ""
    type: str = ""


class Checkpoint(_Wire):
    """One checkpoint (scan) of a tracking."""

    created_at: str | None = None
    checkpoint_time: str | int | float | None = None  # text; a number is read, then checked
    location: str | None = None
    city: str | None = None
    state: str | None = None
    country_region: str | None = None  # ISO alpha-3 (2024-07+)
    country_region_name: str | None = None
    country_iso3: str | None = None  # the same, 2024-04 and v4
    country_name: str | None = None
    message: str = ""
    tag: str | None = None
    subtag: str | None = None


class TrackingObject(_Wire):
    """A tracking: number, courier slug, tag/subtag and checkpoints."""

    id: str | None = None
    tracking_number: str
    #: a courier slug ("usps", "china-ems"); anything else would become a parcel's carrier
    slug: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{0,64}$")
    tag: str | None = None
    subtag: str | None = None
    shipment_delivery_date: str | None = None
    checkpoints: list[Checkpoint] = Field(default_factory=list)


class Webhook(_Wire):
    """A tracking webhook: ``{"event", "event_id", "msg": tracking, "ts"}``."""

    event: str
    event_id: str | None = None
    msg: TrackingObject
