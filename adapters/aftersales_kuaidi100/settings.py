"""Kuaidi100 credentials and options, from the constructor or the environment.

``key`` (the account secret), ``customer`` (the company id) and ``salt`` (the
push-signing salt) are ``SecretStr``: they never show in a repr, a log line
or an error message. All are optional here; an operation that needs one
raises ``ConfigurationError`` naming the environment variable to set.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from aftersales.errors import ConfigurationError
from aftersales.settings import AdapterSettings

__all__ = ["Kuaidi100Settings"]


class Kuaidi100Settings(AdapterSettings):
    """How to reach Kuaidi100 (快递100).

    ``from_env()`` reads ``KUAIDI100_KEY``, ``KUAIDI100_CUSTOMER``,
    ``KUAIDI100_SALT`` and ``KUAIDI100_BASE_URL``.

    Attributes:
        key: the account key (授权key); signs queries, authorises autonumber.
        customer: the company id (customer) sent with every query.
        salt: the salt given when subscribing, which signs pushes.
        base_url: the query host.
        autonumber_url: the carrier auto-detection endpoint. Kuaidi100's doc
            writes it with http, but the call carries the key, so only
            https is accepted (www.kuaidi100.com serves it).
        resultv2: ``"4"`` asks for advanced state codes per event.
        timeout: seconds before one HTTP call gives up.
    """

    adapter_name = "kuaidi100"
    env_fields = ("key", "customer", "salt", "base_url")

    key: SecretStr | None = None
    customer: SecretStr | None = None
    salt: SecretStr | None = None
    base_url: str = "https://poll.kuaidi100.com"
    autonumber_url: str = "https://www.kuaidi100.com/autonumber/auto"
    resultv2: str = "4"
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("base_url", "autonumber_url")
    @classmethod
    def _https_only(cls, url: str) -> str:
        # Every Kuaidi100 call carries the key or a signature made with it.
        if not url.lower().startswith("https://"):
            raise ValueError("must be an https:// URL: the key is never sent in the clear")
        return url

    def credentials(self) -> tuple[str, str]:
        """``(key, customer)`` for a signed query.

        Raises:
            ConfigurationError: either is missing.
        """
        if self.key is None or self.customer is None:
            # Both named: the pair is issued together, so both are usually unset.
            raise ConfigurationError(
                "kuaidi100 needs KUAIDI100_KEY and KUAIDI100_CUSTOMER to query"
            )
        return self.key.get_secret_value(), self.customer.get_secret_value()

    def require_key(self) -> str:
        """The account key alone (for autonumber); ``ConfigurationError`` when unset."""
        return self.require("key", "detect carriers")

    def require_salt(self) -> str:
        """The push salt; ``ConfigurationError`` when unset."""
        return self.require("salt", "verify pushes")
