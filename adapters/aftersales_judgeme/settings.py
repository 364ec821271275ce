"""Judge.me credentials and options, from the constructor or the environment.

The private API token is a ``SecretStr``; an operation that needs a missing
token or shop domain raises ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from aftersales.errors import ConfigurationError

__all__ = ["JudgeMeSettings"]

_ENV = {
    "api_token": "JUDGEME_API_TOKEN",
    "shop_domain": "JUDGEME_SHOP_DOMAIN",
    "base_url": "JUDGEME_BASE_URL",
}


class JudgeMeSettings(BaseModel):
    """How to reach the Judge.me REST API (v1).

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

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> JudgeMeSettings:
        """Settings from ``JUDGEME_API_TOKEN``, ``JUDGEME_SHOP_DOMAIN`` (and
        ``JUDGEME_BASE_URL``), with ``overrides`` taking precedence."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {f: env[v] for f, v in _ENV.items() if env.get(v)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def credentials(self) -> dict[str, str]:
        """The ``api_token`` and ``shop_domain`` query parameters every call carries.

        Raises:
            ConfigurationError: either is unset.
        """
        if self.api_token is None:
            raise ConfigurationError("judgeme needs JUDGEME_API_TOKEN")
        if not self.shop_domain:
            raise ConfigurationError("judgeme needs JUDGEME_SHOP_DOMAIN")
        return {"api_token": self.api_token.get_secret_value(), "shop_domain": self.shop_domain}
