"""Judge.me credentials and options, from the constructor or the environment.

The private API token is a ``SecretStr``; an operation that needs a missing
token or shop domain raises ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from aftersales.settings import AdapterSettings

__all__ = ["JudgeMeSettings"]


class JudgeMeSettings(AdapterSettings):
    """How to reach the Judge.me REST API (v1).

    ``from_env()`` reads ``JUDGEME_API_TOKEN``, ``JUDGEME_SHOP_DOMAIN`` and
    ``JUDGEME_BASE_URL``.

    Attributes:
        api_token: the shop's *private* API token (Judge.me settings →
            Integrations → Developers); listing works with the public one,
            replying needs the private one.
        shop_domain: the shop's ``example.myshopify.com`` domain.
        base_url: the API root.
        per_page: reviews per listing request.
        sku_from: which product field stands in for the SKU (Judge.me knows
            products, not SKUs): the platform's product id, or its handle.
        send_reply_email: whether Judge.me e-mails the reviewer a reply.
        timeout: seconds before one HTTP call gives up.
    """

    adapter_name = "judgeme"
    env_fields = ("api_token", "shop_domain", "base_url")

    api_token: SecretStr | None = None
    shop_domain: str | None = None
    base_url: str = "https://judge.me/api/v1"
    per_page: int = Field(default=100, ge=1, le=100)
    sku_from: Literal["product_external_id", "product_handle"] = "product_external_id"
    send_reply_email: bool = False
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("shop_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower().removeprefix("https://").removeprefix("http://")
        return value.rstrip("/") or None

    def auth_header(self) -> dict[str, str]:
        """The ``X-Api-Token`` header every call carries (never a query parameter:
        a URL ends up in access logs and in urllib3's DEBUG line).

        Raises:
            ConfigurationError: the token is unset.
        """
        return {"X-Api-Token": self.require("api_token")}

    def shop(self) -> dict[str, str]:
        """The ``shop_domain`` query parameter every call carries.

        Raises:
            ConfigurationError: the shop domain is unset.
        """
        return {"shop_domain": self.require("shop_domain")}
