"""WooCommerce credentials and options, from the constructor or the environment.

The consumer key and secret and the webhook secret are ``SecretStr``: they
never show in a repr, a log line or an error message.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from aftersales.settings import AdapterSettings

__all__ = ["WooCommerceSettings"]


class WooCommerceSettings(AdapterSettings):
    """How to reach one WooCommerce store.

    ``from_env()`` reads ``WOOCOMMERCE_URL``, ``WOOCOMMERCE_CONSUMER_KEY`` and
    ``WOOCOMMERCE_CONSUMER_SECRET`` (all required), ``WOOCOMMERCE_WEBHOOK_SECRET``
    and ``WOOCOMMERCE_QUERY_STRING_AUTH`` (``1``/``true``/``yes`` for on).

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

    adapter_name = "woocommerce"
    env_fields = ("webhook_secret", "query_string_auth")
    env_flags = frozenset({"query_string_auth"})
    required_from_env = ("url", "consumer_key", "consumer_secret")

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

    @field_validator("consumer_key", "consumer_secret")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("consumer key and secret must not be empty")
        return value

    @property
    def base_url(self) -> str:
        """``{url}/wp-json/wc/v3``: the root of every REST call."""
        return f"{self.url}/wp-json/wc/v3"
