"""17TRACK credentials and options, from the constructor or the environment.

The security key (``17token``) also signs webhooks unless a separate
webhook key is given. Both are ``SecretStr``; an operation that needs a
missing one raises ``ConfigurationError`` naming the variable to set.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from aftersales.settings import AdapterSettings

__all__ = ["SeventeenTrackSettings"]


class SeventeenTrackSettings(AdapterSettings):
    """How to reach the 17TRACK Tracking API v2.2.

    ``from_env()`` reads ``SEVENTEENTRACK_TOKEN``, ``SEVENTEENTRACK_WEBHOOK_KEY``
    and ``SEVENTEENTRACK_BASE_URL``.

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

    adapter_name = "seventeentrack"
    env_fields = ("token", "webhook_key", "base_url")

    token: SecretStr | None = None
    webhook_key: SecretStr | None = None
    base_url: str = "https://api.17track.net/track/v2.2"
    batch_size: int = Field(default=40, ge=1, le=40)
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)

    def require_token(self) -> str:
        """The security key; ``ConfigurationError`` when unset."""
        return self.require("token")

    def require_webhook_key(self) -> str:
        """The webhook signing key (the token unless set apart)."""
        if self.webhook_key is not None:
            return self.webhook_key.get_secret_value()
        return self.require("token", "verify webhooks (or set SEVENTEENTRACK_WEBHOOK_KEY)")
