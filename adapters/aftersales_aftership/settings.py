"""AfterShip credentials and options, from the constructor or the environment.

The API key and the webhook secret are ``SecretStr``; an operation that
needs a missing one raises ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from aftersales.settings import AdapterSettings

__all__ = ["AfterShipSettings"]


class AfterShipSettings(AdapterSettings):
    """How to reach the AfterShip Tracking API (version pinned in ``base_url``).

    ``from_env()`` reads ``AFTERSHIP_API_KEY``, ``AFTERSHIP_WEBHOOK_SECRET``
    and ``AFTERSHIP_BASE_URL``.

    Attributes:
        api_key: sent as the ``as-api-key`` header.
        webhook_secret: signs webhooks (``aftership-hmac-sha256``).
        base_url: the API root with its version (2025-01).
        batch_size: numbers per listing call (``tracking_numbers`` takes up to 50).
        requests_per_second: client-side pace; AfterShip allows 6/s on
            ``GET /trackings`` (2024-07 and later), ``None`` for no pacing.
        timeout: seconds before one HTTP call gives up.
    """

    adapter_name = "aftership"
    env_fields = ("api_key", "webhook_secret", "base_url")

    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    base_url: str = "https://api.aftership.com/tracking/2025-01"
    batch_size: int = Field(default=50, ge=1, le=50)
    requests_per_second: float | None = Field(default=6.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)

    def require_api_key(self) -> str:
        """The API key; ``ConfigurationError`` when unset."""
        return self.require("api_key")

    def require_webhook_secret(self) -> str:
        """The webhook secret; ``ConfigurationError`` when unset."""
        return self.require("webhook_secret", "verify webhooks")
