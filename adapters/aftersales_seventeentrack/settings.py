"""17TRACK credentials and options, from the constructor or the environment.

The security key (``17token``) also signs webhooks unless a separate
webhook key is given. Both are ``SecretStr``; an operation that needs a
missing one raises ``ConfigurationError`` naming the variable to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aftersales.errors import ConfigurationError

__all__ = ["SeventeenTrackSettings"]

_ENV = {
    "token": "SEVENTEENTRACK_TOKEN",
    "webhook_key": "SEVENTEENTRACK_WEBHOOK_KEY",
    "base_url": "SEVENTEENTRACK_BASE_URL",
}


class SeventeenTrackSettings(BaseModel):
    """How to reach the 17TRACK Tracking API v2.2.

    Attributes:
        token: the security key sent as the ``17token`` header.
        webhook_key: the key that signs webhooks (defaults to ``token``).
        base_url: the API root, version included.
        batch_size: numbers per call; 17TRACK allows at most 40.
        requests_per_second: client-side pace, ``None`` for none. Third-party
            clients report 3/s per key; 17TRACK's own pages do not say, so
            it is off by default and a 429 is handled by the retry layer.
        timeout: seconds before one HTTP call gives up.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr | None = None
    webhook_key: SecretStr | None = None
    base_url: str = "https://api.17track.net/track/v2.2"
    batch_size: int = Field(default=40, ge=1, le=40)
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> SeventeenTrackSettings:
        """Settings from ``SEVENTEENTRACK_TOKEN`` (and ``SEVENTEENTRACK_WEBHOOK_KEY``)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {f: env[v] for f, v in _ENV.items() if env.get(v)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def require_token(self) -> str:
        """The security key; ``ConfigurationError`` when unset."""
        if self.token is None:
            raise ConfigurationError("seventeentrack needs SEVENTEENTRACK_TOKEN")
        return self.token.get_secret_value()

    def require_webhook_key(self) -> str:
        """The webhook signing key (the token unless set apart)."""
        key = self.webhook_key or self.token
        if key is None:
            raise ConfigurationError(
                "seventeentrack needs SEVENTEENTRACK_TOKEN (or _WEBHOOK_KEY) to verify webhooks"
            )
        return key.get_secret_value()
