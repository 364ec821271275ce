"""AfterShip tracking adapter for aftersales.

``AfterShipCarrier`` is registered as ``aftership`` in ``aftersales.carriers``;
``verify_webhook`` checks a webhook's ``aftership-hmac-sha256`` header for
callers who build their own endpoint.
"""

from __future__ import annotations

from aftersales_aftership.adapter import AfterShipCarrier
from aftersales_aftership.mapping import STATUS_TABLE, verify_webhook
from aftersales_aftership.settings import AfterShipSettings

__all__ = ["STATUS_TABLE", "AfterShipCarrier", "AfterShipSettings", "verify_webhook"]
