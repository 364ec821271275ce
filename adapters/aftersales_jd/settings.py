"""Credentials and options of the JD (京东 JOS) adapter.

Credentials come from the constructor or from the environment
(``JD_APP_KEY``, ``JD_APP_SECRET``, ``JD_ACCESS_TOKEN``); the secret and the
shop's access token are ``SecretStr`` so no repr, log line or error shows them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, SecretStr, field_validator

from aftersales.errors import ConfigurationError
from aftersales.settings import AdapterSettings

__all__ = ["DEFAULT_GATEWAY", "RECEIVE_CODE_FIELDS", "JdSettings"]

#: The JOS router (``routerjson``: answers in JSON).
DEFAULT_GATEWAY = "https://api.jd.com/routerjson"
#: The numeric check results of jingdong.asc.receive.register (拆包登记).
RECEIVE_CODE_FIELDS = ("packingState", "qualityState", "invoiceRecord", "judgmentReason",
                       "accessoryOrGift", "appearanceState")


class JdSettings(AdapterSettings):
    """How to reach the JOS router as one POP shop.

    ``from_env()`` reads ``JD_APP_KEY``, ``JD_APP_SECRET``, ``JD_ACCESS_TOKEN``
    (all required), ``JD_GATEWAY_URL``, ``JD_VENDER_ID``, ``JD_OPERATOR_PIN``,
    ``JD_OPERATOR_NAME``, the return address's ``JD_RETURN_*`` and
    ``JD_RECEIVE_CODES`` (``packingState=…,qualityState=…,…``).

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
        receive_codes: the shop's codes for the six check results of
            jingdong.asc.receive.register (拆包登记): ``packingState``
            产品包装状况, ``qualityState`` 主商品功能状况, ``invoiceRecord``
            发票登记状况, ``judgmentReason`` 收货登记原因, ``accessoryOrGift``
            附件/赠品, ``appearanceState`` 主商品外观. JD publishes their
            lists in none of the material checked, so the adapter chooses
            none: without them, receiving a service order's goods is not
            offered (``confirm_return_received`` is not declared).
        receive_remark: the 收货备注 sent with a receipt.
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
                  "return_village", "return_detail_address", "return_address_type",
                  "receive_codes", "receive_remark")
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
    receive_codes: dict[str, int] | None = None
    receive_remark: str = Field(default="已收货", min_length=1, max_length=200)
    page_size: int = Field(default=50, ge=1, le=50)
    window: timedelta = Field(default=timedelta(days=1), gt=timedelta(0),
                              le=timedelta(days=30))
    lookback: timedelta = timedelta(days=3)
    lag: timedelta = timedelta(seconds=60)
    timeout: tuple[float, float] = (5.0, 30.0)

    @field_validator("receive_codes", mode="before")
    @classmethod
    def _receive_codes(cls, value: Any) -> Any:
        """``name=code,…`` text (from the environment) or a mapping; all six, whole numbers."""
        if value is None or value == "" or value == {}:
            return None
        if isinstance(value, str):
            pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("receive_codes is written name=code,name=code,…")
            value = {k.strip(): v.strip() for k, v in pairs}
        if not isinstance(value, dict):
            raise ValueError("receive_codes is a mapping of name to code")
        if set(value) != set(RECEIVE_CODE_FIELDS):
            raise ValueError("receive_codes needs exactly " + ", ".join(RECEIVE_CODE_FIELDS))
        if not all(str(v).strip().isascii() and str(v).strip().isdigit()
                   and len(str(v).strip()) <= 9 for v in value.values()):
            raise ValueError("receive_codes are whole numbers")
        return {k: int(str(v).strip()) for k, v in value.items()}

    @property
    def base_url(self) -> str:
        """The router every call goes to (``gateway_url``)."""
        return self.gateway_url

    @property
    def router_secret(self) -> SecretStr:
        """The secret the router calls are signed with (``app_secret``)."""
        return self.app_secret

    @classmethod
    def missing_error(cls, variables: list[str]) -> ConfigurationError:
        """Missing credentials, with how to give them."""
        return ConfigurationError(
            "jd needs credentials: pass JdSettings(...) or set " + ", ".join(variables))
