"""WooCommerce credentials and options, from the constructor or the environment.

The consumer key and secret and the webhook secret are ``SecretStr``: they
never show in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from aftersales.errors import ConfigurationError

__all__ = ["WooCommerceSettings"]

_ENV = {
    "url": "WOOCOMMERCE_URL",
    "consumer_key": "WOOCOMMERCE_CONSUMER_KEY",
    "consumer_secret": "WOOCOMMERCE_CONSUMER_SECRET",
    "webhook_secret": "WOOCOMMERCE_WEBHOOK_SECRET",
    "query_string_auth": "WOOCOMMERCE_QUERY_STRING_AUTH",
}


class WooCommerceSettings(BaseModel):
    """How to reach one WooCommerce store.

    Attributes:
        url: the site's address (``https://shop.example.com``); the API lives
            under ``/wp-json/wc/v3``.
        consumer_key / consumer_secret: a REST API key pair (WooCommerce →
            Settings → Advanced → REST API), sent with HTTP Basic auth.
        query_string_auth: send the key pair as ``consumer_key``/``consumer_secret``
            query parameters instead, for servers that drop the Authorization header.
        webhook_secret: the secret the store signs webhooks with.
        gateway_refunds: refund through the payment gateway (``api_refund``); when
            false, refunds are only recorded and the money goes back by hand.
        restock: put refunded items back in stock (``api_restock``).
        page_size: items per page (WooCommerce allows up to 100).
        timeout: seconds before one HTTP call gives up.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1)
    consumer_key: SecretStr
    consumer_secret: SecretStr
    query_string_auth: bool = False
    webhook_secret: SecretStr | None = None
    gateway_refunds: bool = True
    restock: bool = True
    page_size: int = Field(default=50, ge=1, le=100)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.netloc:
            # Basic auth over plain HTTP would send the key pair in clear text;
            # WooCommerce itself requires OAuth 1.0a there, which we do not speak.
            raise ValueError("url must be an https:// address")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _keys(self) -> WooCommerceSettings:
        if not self.consumer_key.get_secret_value() or not self.consumer_secret.get_secret_value():
            raise ValueError("consumer key and secret must not be empty")
        return self

    @property
    def base_url(self) -> str:
        """``{url}/wp-json/wc/v3``: the root of every REST call."""
        return f"{self.url}/wp-json/wc/v3"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> WooCommerceSettings:
        """Settings from ``WOOCOMMERCE_*`` variables, keyword arguments taking precedence.

        Raises:
            ConfigurationError: a required setting is missing or malformed (the
                message names the variable, never its value).
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {k: env[v] for k, v in _ENV.items() if env.get(v)}
        if "query_string_auth" in values:
            values["query_string_auth"] = values["query_string_auth"].lower() in {"1", "true"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        missing = [_ENV[k] for k in ("url", "consumer_key", "consumer_secret") if k not in values]
        if missing:
            raise ConfigurationError(f"woocommerce: set {' and '.join(missing)}")
        try:
            return cls(**values)
        except PydanticValidationError as exc:
            # ``from None``: pydantic's own message would echo the offending value.
            fields = sorted({str(e["loc"][0]) if e["loc"] else "consumer key/secret"
                             for e in exc.errors()})
            raise ConfigurationError(
                f"woocommerce: invalid setting(s) {', '.join(fields)}") from None
