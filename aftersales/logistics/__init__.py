"""Logistics lookups: carrier detection, tracking and parcel anomalies.

``detect_carrier`` answers from the number alone, with no network; the
tracking service (``app.logistics``, see :mod:`aftersales.logistics.service`)
asks the configured providers, keeps each parcel's timeline in the store and
reports the parcels that went wrong.
"""

from __future__ import annotations

from aftersales.logistics.anomalies import Anomaly, AnomalyKind
from aftersales.logistics.detect import detect_carrier, match_formats, normalize_number
from aftersales.logistics.parcels import Parcel
from aftersales.logistics.refresh import RefreshReport

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "Parcel",
    "RefreshReport",
    "detect_carrier",
    "match_formats",
    "normalize_number",
]
