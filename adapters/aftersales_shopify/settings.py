"""Shopify credentials and options, from the constructor or the environment.

The access token and the webhook secret are ``SecretStr``: they never show in
a repr, a log line or an error message.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from aftersales.settings import AdapterSettings

__all__ = ["DEFAULT_API_VERSION", "ShopifySettings"]

#: The pinned Admin API version: 2026-01 is the first with ``@idempotent`` on refundCreate.
DEFAULT_API_VERSION = "2026-01"

class ShopifySettings(AdapterSettings):
    """How to reach one Shopify shop.

    ``from_env()`` reads ``SHOPIFY_SHOP`` and ``SHOPIFY_ACCESS_TOKEN`` (both
    required), ``SHOPIFY_API_VERSION``, ``SHOPIFY_WEBHOOK_SECRET`` and
    ``SHOPIFY_LOCATION_ID``.

    Attributes:
        shop: the shop's handle (``example-shop``) or its ``*.myshopify.com`` domain.
        access_token: the Admin API access token (``X-Shopify-Access-Token``).
        api_version: the pinned quarterly API version (``YYYY-MM``).
        webhook_secret: the app's client secret that signs webhooks.
        location_id: where returned goods are restocked (numeric id or GID); without
            it, refunds do not restock and received returns wait for processing.
        page_size: items per GraphQL or REST page (Shopify allows up to 250).
        timeout: seconds before one HTTP call gives up.
    """

    adapter_name = "shopify"
    env_fields = ("api_version", "webhook_secret", "location_id")
    required_from_env = ("shop", "access_token")

    shop: str = Field(min_length=1)
    access_token: SecretStr
    api_version: str = DEFAULT_API_VERSION
    webhook_secret: SecretStr | None = None
    location_id: str | None = None
    page_size: int = Field(default=50, ge=1, le=250)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("shop")
    @classmethod
    def _domain(cls, value: str) -> str:
        host = value.strip().lower().removeprefix("https://").rstrip("/")
        if not host.endswith(".myshopify.com"):
            host = f"{host}.myshopify.com"
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.myshopify\.com", host):
            raise ValueError("shop must be a handle or a *.myshopify.com domain")
        return host

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value != "unstable" and not re.fullmatch(r"20\d\d-(01|04|07|10)", value):
            raise ValueError("api_version must be a quarterly YYYY-MM version or 'unstable'")
        return value

    @property
    def base_url(self) -> str:
        """``https://{shop}/admin/api/{version}``: the root of every Admin API call."""
        return f"https://{self.shop}/admin/api/{self.api_version}"
