"""Credentials and options of the JD (京东 JOS) adapter.

Credentials come from the constructor or from the environment
(``JD_APP_KEY``, ``JD_APP_SECRET``, ``JD_ACCESS_TOKEN``); the secret and the
shop's access token are ``SecretStr`` so no repr, log line or error shows them.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr

from aftersales.errors import ConfigurationError
from aftersales.settings import AdapterSettings

__all__ = ["DEFAULT_GATEWAY", "JdSettings"]

#: The JOS router (``routerjson``: answers in JSON).
DEFAULT_GATEWAY = "https://api.jd.com/routerjson"


class JdSettings(AdapterSettings):
    """How to reach the JOS router as one POP shop.

    ``from_env()`` reads ``JD_APP_KEY``, ``JD_APP_SECRET``, ``JD_ACCESS_TOKEN``
    (all required), ``JD_GATEWAY_URL``, ``JD_VENDER_ID``, ``JD_OPERATOR_PIN``,
    ``JD_OPERATOR_NAME`` and the return address's ``JD_RETURN_*``.

    Attributes:
        app_key: the application's app key.
        app_secret: the application's secret, used only to sign.
        access_token: the shop's access token from authorisation.
        gateway_url: the router URL.
        vender_id: the shop's vender id (``buId`` of the after-sales
            service-order calls); without it service orders are not listed.
        operator_pin: the account named as reviewer (``checkUserName``,
            ``operatePin``) on the shop's answers.
        operator_name: the reviewer's display name (``operateNick``).
        return_contact_name, return_contact_tel, return_contact_mobile,
        return_zipcode, return_province, return_city, return_county,
        return_village, return_detail_address, return_address_type: the
            shop's return address as jingdong.asc.audit.send takes it
            (返件联系人, 联系电话, 手机, 邮编, JD area codes of the province,
            city, county and town, 详细地址, 返件地址类型); approving a service
            order needs all but the mobile and the town.
        page_size: items per listing call (the refund and comment lists take at most 50).
        window: the span of one time-filtered query.
        lookback: how far back a listing without a cursor starts.
        lag: listings stop this long before now, so late writes are not missed.
        timeout: (connect, read) seconds.
    """

    adapter_name = "jd"
    env_fields = ("gateway_url", "vender_id", "operator_pin", "operator_name",
                  "return_contact_name", "return_contact_tel", "return_contact_mobile",
                  "return_zipcode", "return_province", "return_city", "return_county",
                  "return_village", "return_detail_address", "return_address_type")
    required_from_env = ("app_key", "app_secret", "access_token")

    app_key: str = Field(min_length=1)
    app_secret: SecretStr
    access_token: SecretStr
    gateway_url: str = DEFAULT_GATEWAY
    vender_id: str | None = None
    operator_pin: str = Field(default="aftersales", min_length=1, max_length=50)
    operator_name: str = Field(default="aftersales", min_length=1, max_length=50)
    return_contact_name: str | None = None
    return_contact_tel: str | None = None
    return_contact_mobile: str | None = None
    return_zipcode: str | None = None
    return_province: int | None = None
    return_city: int | None = None
    return_county: int | None = None
    return_village: int | None = None
    return_detail_address: str | None = None
    return_address_type: int | None = None
    page_size: int = Field(default=50, ge=1, le=50)
    window: timedelta = Field(default=timedelta(days=1), gt=timedelta(0),
                              le=timedelta(days=30))
    lookback: timedelta = timedelta(days=3)
    lag: timedelta = timedelta(seconds=60)
    timeout: tuple[float, float] = (5.0, 30.0)

    @property
    def base_url(self) -> str:
        """The router every call goes to (``gateway_url``)."""
        return self.gateway_url

    @classmethod
    def missing_error(cls, variables: list[str]) -> ConfigurationError:
        """Missing credentials, with how to give them."""
        return ConfigurationError(
            "jd needs credentials: pass JdSettings(...) or set " + ", ".join(variables))
