"""Logistics lookups: carrier detection, tracking and parcel anomalies.

``detect_carrier`` answers from the number alone; the tracking service
(``app.logistics``) asks the configured providers.
"""

from __future__ import annotations

from aftersales.logistics.detect import detect_carrier, match_formats, normalize_number

__all__ = ["detect_carrier", "match_formats", "normalize_number"]
