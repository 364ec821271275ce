"""AfterShip credentials and options, from the constructor or the environment.

The API key and the webhook secret are ``SecretStr``; an operation that
needs a missing one raises ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aftersales.errors import ConfigurationError

__all__ = ["AfterShipSettings"]

_ENV = {
    "api_key": "AFTERSHIP_API_KEY",
    "webhook_secret": "AFTERSHIP_WEBHOOK_SECRET",
    "base_url": "AFTERSHIP_BASE_URL",
}


class AfterShipSettings(BaseModel):
    """How to reach the AfterShip Tracking API (version pinned in ``base_url``).

    Attributes:
        api_key: sent as the ``as-api-key`` header.
        webhook_secret: signs webhooks (``aftership-hmac-sha256``).
        base_url: the API root with its version (2025-01).
        batch_size: numbers per listing call (``tracking_numbers`` takes up to 50).
        requests_per_second: client-side pace; AfterShip allows 6/s on
            ``GET /trackings`` (2024-07 and later), ``None`` for no pacing.
        timeout: seconds before one HTTP call gives up.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    base_url: str = "https://api.aftership.com/tracking/2025-01"
    batch_size: int = Field(default=50, ge=1, le=50)
    requests_per_second: float | None = Field(default=6.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> AfterShipSettings:
        """Settings from ``AFTERSHIP_API_KEY`` and ``AFTERSHIP_WEBHOOK_SECRET``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {f: env[v] for f, v in _ENV.items() if env.get(v)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def require_api_key(self) -> str:
        """The API key; ``ConfigurationError`` when unset."""
        if self.api_key is None:
            raise ConfigurationError("aftership needs AFTERSHIP_API_KEY")
        return self.api_key.get_secret_value()

    def require_webhook_secret(self) -> str:
        """The webhook secret; ``ConfigurationError`` when unset."""
        if self.webhook_secret is None:
            raise ConfigurationError("aftership needs AFTERSHIP_WEBHOOK_SECRET to verify webhooks")
        return self.webhook_secret.get_secret_value()
