"""17TRACK tracking adapter for aftersales.

``SeventeenTrackCarrier`` is registered as ``seventeentrack`` in
``aftersales.carriers``; ``verify_webhook`` checks a webhook's ``sign``
header for callers who build their own endpoint.
"""

from __future__ import annotations

from aftersales_seventeentrack.adapter import SeventeenTrackCarrier
from aftersales_seventeentrack.mapping import STATUS_TABLE, verify_webhook, webhook_sign
from aftersales_seventeentrack.settings import SeventeenTrackSettings

__all__ = [
    "STATUS_TABLE",
    "SeventeenTrackCarrier",
    "SeventeenTrackSettings",
    "verify_webhook",
    "webhook_sign",
]
