"""Credentials and options of the Taobao/Tmall adapter.

Credentials come from the constructor or from the environment
(``TAOBAO_APP_KEY``, ``TAOBAO_APP_SECRET``, ``TAOBAO_SESSION``); the secret
and the seller's session key are ``SecretStr`` so no repr, log line or error
shows them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aftersales.errors import ConfigurationError
from aftersales.settings import AdapterSettings

__all__ = ["DEFAULT_GATEWAY", "RETURN_ADDRESS_VARIABLES", "ReturnAddress", "SignMethod",
           "TaobaoSettings"]

#: The production gateway (HTTPS); the sandbox is ``https://gw.api.tbsandbox.com/router/rest``.
DEFAULT_GATEWAY = "https://gw.api.taobao.com/router/rest"

SignMethod = Literal["md5", "hmac", "hmac-sha256"]

#: The return address's parts and the variables ``from_env`` reads them from.
RETURN_ADDRESS_VARIABLES: dict[str, str] = {
    "name": "TAOBAO_RETURN_NAME",
    "address": "TAOBAO_RETURN_ADDRESS",
    "post": "TAOBAO_RETURN_POST",
    "mobile": "TAOBAO_RETURN_MOBILE",
}


class ReturnAddress(BaseModel):
    """Where buyers send goods back; Taobao (not Tmall) wants it spelled out on each agree."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    address: str = Field(min_length=1, repr=False)
    post: str = Field(min_length=1, repr=False)
    mobile: SecretStr
    tel: SecretStr | None = None


class TaobaoSettings(AdapterSettings):
    """How to reach the TOP gateway as one seller.

    ``from_env()`` reads ``TAOBAO_APP_KEY``, ``TAOBAO_APP_SECRET`` and
    ``TAOBAO_SESSION`` (all required), ``TAOBAO_GATEWAY_URL``,
    ``TAOBAO_SIGN_METHOD``, ``TAOBAO_TMALL`` (``1``/``true``/``yes`` for on),
    ``TAOBAO_SELLER_ADDRESS_ID`` and the return address
    (``TAOBAO_RETURN_NAME``, ``_ADDRESS``, ``_POST``, ``_MOBILE``).

    A plain Taobao shop (``tmall`` off) must have ``return_address``:
    taobao.rp.returngoods.agree wants name, address, post code and mobile
    spelled out for non-Tmall shops, and :meth:`check_store` (run when the
    marketplace is built) refuses the store without it.

    Attributes:
        app_key: the application's AppKey.
        app_secret: the application's AppSecret, used only to sign.
        session: the seller's session key (access token) from authorisation.
        gateway_url: the REST router.
        sign_method: ``md5``, ``hmac`` (HMAC-MD5) or ``hmac-sha256``.
        tmall: the shop is a Tmall shop (refund phases required, rating
            explanations available).
        seller_address_id: the shop's return address id, needed to agree a return.
        return_address: the address itself (Taobao shops only).
        page_size: items per listing call (TOP allows up to 100).
        window: the longest modified-time span one listing query covers
            (TOP allows one day for trades; shorter answers faster).
        lookback: how far back a listing without a cursor starts.
        lag: listings stop this long before now, so late writes are not missed.
        max_ban_wait: the longest call-limit ban waited out in-process; a
            longer one is raised to the caller (the signed timestamp would
            go stale anyway).
        timeout: (connect, read) seconds.
    """

    adapter_name = "taobao"
    env_fields = (
        "gateway_url",
        "sign_method",
        "tmall",
        "seller_address_id",
    )
    env_flags = frozenset({"tmall"})
    env_other = frozenset(RETURN_ADDRESS_VARIABLES.values())
    required_from_env = ("app_key", "app_secret", "session")

    app_key: str = Field(min_length=1)
    app_secret: SecretStr
    session: SecretStr
    gateway_url: str = DEFAULT_GATEWAY
    sign_method: SignMethod = "md5"
    tmall: bool = False
    seller_address_id: str | None = None
    return_address: ReturnAddress | None = None
    page_size: int = Field(default=40, ge=1, le=100)
    window: timedelta = Field(default=timedelta(days=1), gt=timedelta(0), le=timedelta(days=1))
    lookback: timedelta = timedelta(days=30)
    lag: timedelta = timedelta(seconds=60)
    max_ban_wait: float = Field(default=120.0, ge=0)
    timeout: tuple[float, float] = (5.0, 30.0)

    @property
    def base_url(self) -> str:
        """The gateway every call goes to (``gateway_url``)."""
        return self.gateway_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """See :meth:`AdapterSettings.from_env`; also reads the ``TAOBAO_RETURN_*`` address."""
        env = os.environ if environ is None else environ
        parts = {k: env.get(v, "").strip() for k, v in RETURN_ADDRESS_VARIABLES.items()}
        if overrides.get("return_address") is None and all(parts.values()):
            overrides["return_address"] = ReturnAddress(**parts)
        return super().from_env(environ, **overrides)

    def check_store(self) -> None:
        """Refuse settings a shop of this kind cannot work with.

        Raises:
            ConfigurationError: a plain Taobao shop without ``return_address``;
                the message names the setting and its variables.
        """
        if not self.tmall and self.return_address is None:
            raise ConfigurationError(
                "taobao: a Taobao (non-Tmall) shop needs return_address (name, address, post, "
                "mobile) for taobao.rp.returngoods.agree: pass TaobaoSettings(return_address="
                "ReturnAddress(...)) or set " + ", ".join(RETURN_ADDRESS_VARIABLES.values())
                + "; for a Tmall shop set TAOBAO_TMALL=1"
            )

    @classmethod
    def missing_error(cls, variables: list[str]) -> ConfigurationError:
        """Missing credentials, with how to give them."""
        return ConfigurationError(
            "taobao needs credentials: pass TaobaoSettings(...) or set " + ", ".join(variables)
        )
