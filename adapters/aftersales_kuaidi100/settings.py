"""Kuaidi100 credentials and options, from the constructor or the environment.

``key`` (the account secret), ``customer`` (the company id) and ``salt`` (the
push-signing salt) are ``SecretStr``: they never show in a repr, a log line
or an error message. All are optional here; an operation that needs one
raises ``ConfigurationError`` naming the environment variable to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aftersales.errors import ConfigurationError

__all__ = ["Kuaidi100Settings"]

_ENV = {
    "key": "KUAIDI100_KEY",
    "customer": "KUAIDI100_CUSTOMER",
    "salt": "KUAIDI100_SALT",
    "base_url": "KUAIDI100_BASE_URL",
}


class Kuaidi100Settings(BaseModel):
    """How to reach Kuaidi100 (快递100).

    Attributes:
        key: the account key (授权key); signs queries, authorises autonumber.
        customer: the company id (customer) sent with every query.
        salt: the salt given when subscribing, which signs pushes.
        base_url: the query host.
        autonumber_url: the carrier auto-detection endpoint (documented as http).
        resultv2: ``"4"`` asks for advanced state codes per event.
        timeout: seconds before one HTTP call gives up.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: SecretStr | None = None
    customer: SecretStr | None = None
    salt: SecretStr | None = None
    base_url: str = "https://poll.kuaidi100.com"
    autonumber_url: str = "http://www.kuaidi100.com/autonumber/auto"
    resultv2: str = "4"
    timeout: float = Field(default=30.0, gt=0)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Kuaidi100Settings:
        """Settings from ``KUAIDI100_KEY``, ``KUAIDI100_CUSTOMER``, ``KUAIDI100_SALT``.

        Keyword ``overrides`` win over the environment.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {f: env[v] for f, v in _ENV.items() if env.get(v)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def credentials(self) -> tuple[str, str]:
        """``(key, customer)`` for a signed query.

        Raises:
            ConfigurationError: either is missing.
        """
        if self.key is None or self.customer is None:
            raise ConfigurationError(
                "kuaidi100 needs KUAIDI100_KEY and KUAIDI100_CUSTOMER to query"
            )
        return self.key.get_secret_value(), self.customer.get_secret_value()

    def require_key(self) -> str:
        """The account key alone (for autonumber); ``ConfigurationError`` when unset."""
        if self.key is None:
            raise ConfigurationError("kuaidi100 needs KUAIDI100_KEY to detect carriers")
        return self.key.get_secret_value()

    def require_salt(self) -> str:
        """The push salt; ``ConfigurationError`` when unset."""
        if self.salt is None:
            raise ConfigurationError("kuaidi100 needs KUAIDI100_SALT to verify pushes")
        return self.salt.get_secret_value()
