"""Credentials and options of the Pinduoduo adapter.

Credentials come from the constructor or from the environment
(``PINDUODUO_CLIENT_ID``, ``PINDUODUO_CLIENT_SECRET``, ``PINDUODUO_ACCESS_TOKEN``);
the secret and the shop's access token are ``SecretStr`` so no repr, log
line or error shows them.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr

from aftersales.errors import ConfigurationError
from aftersales.settings import AdapterSettings

__all__ = ["DEFAULT_GATEWAY", "MAX_WINDOW", "PinduoduoSettings"]

#: The open platform's router (the same URL for every API).
DEFAULT_GATEWAY = "https://gw-api.pinduoduo.com/api/router"
#: The longest span of ``start_updated_at``..``end_updated_at`` the
#: incremental listings accept ("开始时间结束时间间距不超过 30 分钟").
MAX_WINDOW = timedelta(minutes=30)


class PinduoduoSettings(AdapterSettings):
    """How to reach the Pinduoduo router as one shop (mall).

    ``from_env()`` reads ``PINDUODUO_CLIENT_ID``, ``PINDUODUO_CLIENT_SECRET``
    and ``PINDUODUO_ACCESS_TOKEN`` (all required), ``PINDUODUO_GATEWAY_URL``
    and ``PINDUODUO_RETURN_ADDRESS_ID``.

    Attributes:
        client_id: the application's client_id.
        client_secret: the application's client_secret, used only to sign.
        access_token: the shop's access token from authorisation.
        gateway_url: the router URL.
        return_address_id: the id of one of the shop's return addresses
            (pdd.refund.address.list.get), needed to agree a return of goods.
        page_size: items per listing call (at most 100).
        window: the span one incremental query covers (at most 30 minutes).
        lookback: how far back a listing without a cursor starts.
        lag: listings stop this long before now, so late writes are not missed.
        timeout: (connect, read) seconds.
    """

    adapter_name = "pinduoduo"
    env_fields = ("gateway_url", "return_address_id")
    required_from_env = ("client_id", "client_secret", "access_token")

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    access_token: SecretStr
    gateway_url: str = DEFAULT_GATEWAY
    return_address_id: str | None = None
    page_size: int = Field(default=100, ge=1, le=100)
    window: timedelta = Field(default=MAX_WINDOW, gt=timedelta(0), le=MAX_WINDOW)
    lookback: timedelta = timedelta(days=1)
    lag: timedelta = timedelta(seconds=60)
    timeout: tuple[float, float] = (5.0, 30.0)

    @property
    def base_url(self) -> str:
        """The router every call goes to (``gateway_url``)."""
        return self.gateway_url

    @property
    def router_secret(self) -> SecretStr:
        """The secret the router calls are signed with (``client_secret``)."""
        return self.client_secret

    @classmethod
    def missing_error(cls, variables: list[str]) -> ConfigurationError:
        """Missing credentials, with how to give them."""
        return ConfigurationError(
            "pinduoduo needs credentials: pass PinduoduoSettings(...) or set "
            + ", ".join(variables)
        )
