"""Credentials and options of the Douyin Shop adapter.

Credentials come from the constructor or from the environment
(``DOUYIN_APP_KEY``, ``DOUYIN_APP_SECRET``, ``DOUYIN_ACCESS_TOKEN``); the
secret and the shop's access token are ``SecretStr`` so no repr, log line or
error shows them.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr

from aftersales.errors import ConfigurationError
from aftersales.settings import AdapterSettings

__all__ = ["DEFAULT_BASE_URL", "DouyinSettings"]

#: The open platform's API host (the official SDK's ``OpenRequestUrl``).
DEFAULT_BASE_URL = "https://openapi-fxg.jinritemai.com"


class DouyinSettings(AdapterSettings):
    """How to reach the Douyin Shop open platform as one shop.

    ``from_env()`` reads ``DOUYIN_APP_KEY``, ``DOUYIN_APP_SECRET`` and
    ``DOUYIN_ACCESS_TOKEN`` (all required), ``DOUYIN_BASE_URL`` and
    ``DOUYIN_RETURN_ADDRESS_ID``.

    Attributes:
        app_key: the application's app key.
        app_secret: the application's secret, used only to sign.
        access_token: the shop's access token from authorisation.
        base_url: the API host.
        return_address_id: one of the shop's return addresses (/address/list),
            sent when a return or an exchange is agreed.
        page_size: items per listing call (afterSale/List allows at most 100).
        window: the longest update-time span one listing query covers.
        lookback: how far back a listing without a cursor starts.
        lag: listings stop this long before now, so late writes are not missed.
        timeout: (connect, read) seconds (the SDK reads for 12 s).
    """

    adapter_name = "douyin"
    env_fields = ("base_url", "return_address_id")
    required_from_env = ("app_key", "app_secret", "access_token")

    app_key: str = Field(min_length=1)
    app_secret: SecretStr
    access_token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    return_address_id: int | None = None
    page_size: int = Field(default=50, ge=1, le=100)
    window: timedelta = Field(default=timedelta(hours=6), gt=timedelta(0), le=timedelta(days=1))
    lookback: timedelta = timedelta(days=7)
    lag: timedelta = timedelta(seconds=60)
    timeout: tuple[float, float] = (5.0, 12.0)

    @classmethod
    def missing_error(cls, variables: list[str]) -> ConfigurationError:
        """Missing credentials, with how to give them."""
        return ConfigurationError(
            "douyin needs credentials: pass DouyinSettings(...) or set " + ", ".join(variables))
