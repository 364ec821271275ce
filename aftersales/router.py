"""Signed calls to a Chinese open platform's router (TOP style), shared by the adapters.

Pinduoduo's ``gw-api.pinduoduo.com/api/router`` and JD's ``api.jd.com/routerjson``
work like Taobao's TOP gateway: every call is a form POST to one URL; the API's
name and the app's credentials travel as parameters beside the business ones;
the whole set is signed with :func:`~aftersales.signing.md5_wrapped_sign`; the
answer is HTTP 200 either way, with the result under one key named after the
API (``refund_increment_get_response``; JD spells it ``…_responce``) or an
``error_response`` object. :class:`RouterClient` does that once: the adapters
only say which parameters they send and how their ``error_response`` reads.

Writes are never re-sent after an answer that may have followed the
platform's action (a 5xx, a timeout): the core retry layer treats them as
unsafe, and the adapter looks the outcome up instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar

import requests
from pydantic import SecretStr

from aftersales.errors import RemoteError, ResponseParseError
from aftersales.http import ApiClient
from aftersales.settings import AdapterSettings
from aftersales.signing import md5_wrapped_sign
from aftersales.times import utc_now

__all__ = [
    "RESPONSE_SUFFIXES",
    "RouterClient",
    "RouterSettings",
    "ShopRouterClient",
    "error_in_body",
    "unwrap",
]

#: How a router names the object holding a call's result (JD writes ``responce``).
RESPONSE_SUFFIXES = ("_response", "_responce")

ErrorReader = Callable[[Any], RemoteError | None]


def unwrap(body: Any, *, adapter: str, method: str, bare: bool = False) -> dict[str, Any]:
    """The result object of a router answer: the value of its one ``*_response`` key.

    With ``bare``, an answer whose result fields sit at the top level (no
    ``*_response`` key, as some API references describe theirs) is the result.

    Raises:
        ResponseParseError: the answer is not an object or has no such key
            (names the API, never echoes the body).
    """
    if isinstance(body, dict):
        for key, value in body.items():
            if key != "error_response" and key.endswith(RESPONSE_SUFFIXES) and isinstance(
                    value, dict):
                return value
        if bare and body and "error_response" not in body:
            return body
    raise ResponseParseError(f"{method}: the answer has no *_response object", adapter=adapter)


def error_in_body(response: requests.Response, read_error: ErrorReader) -> RemoteError | None:
    """The error a ``200 OK`` answer reports in its JSON body (the ApiClient's
    ``classify_error`` of a Chinese gateway), read by ``read_error``.

    An HTTP error status is left to the ApiClient, which maps it itself; so is
    a body that is not JSON or is nested past the parser's limit (an HTML page
    or a hostile body becomes a ``ResponseParseError`` there).
    """
    if response.status_code >= 400:
        return None
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    return read_error(body)


class RouterClient:
    """One app's signed calls to a router URL.

    Args:
        api: the adapter's ApiClient (its ``classify_error`` is set here).
        url: the router's URL.
        secret: the app secret, used only to sign (and masked in logs).
        read_error: turns a parsed answer into the library error it reports,
            or ``None`` when it reports none.
    """

    def __init__(self, api: ApiClient, url: str, secret: str, read_error: ErrorReader) -> None:
        self.api = api
        self.url = url
        self._secret = secret
        self.read_error = read_error
        api.add_secret(secret)
        api.classify_error = self._classify

    @classmethod
    def for_shop(
        cls,
        settings: RouterSettings | AdapterSettings,
        *,
        url: str,
        secret: str,
        token: str,
        read_error: ErrorReader,
        api: ApiClient | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Self:
        """The router client of one shop, as every router adapter builds it.

        Args:
            settings: the shop's settings; they make the ApiClient unless ``api`` is given.
            url: the router's URL.
            secret: the app secret (signs, and is masked in logs).
            token: the shop's access token, masked in logs.
            read_error: see the class.
            api: a ready ApiClient (tests inject one with a recorded ``sleep``).
            sleep: how the retry layer waits (ignored when ``api`` is given).
        """
        if api is None:
            api = settings.api_client(sleep=time.sleep if sleep is None else sleep)
        api.add_secret(token)
        return cls(api, url, secret, read_error)

    def _classify(self, response: requests.Response) -> RemoteError | None:
        return error_in_body(response, self.read_error)

    def signed(self, form: Mapping[str, str | None]) -> dict[str, str]:
        """``form`` without empty values, plus its ``sign``."""
        clean = {k: v for k, v in form.items() if v not in (None, "") and k != "sign"}
        clean["sign"] = md5_wrapped_sign(clean, self._secret)
        return clean

    def call(self, method: str, form: Mapping[str, str | None], *,
             write: bool = False, bare: bool = False) -> dict[str, Any]:
        """POST the signed ``form`` and return the result object.

        Reads are retried by the core on throttling and transient failures;
        writes only when the platform surely did nothing (throttled, refused
        before it acted).

        Raises:
            RemoteError: the platform's error, after retries.
            ResponseParseError: the answer had no result object.
        """
        body = self.api.post(self.url, data=self.signed(form), idempotent=not write)
        return unwrap(body, adapter=self.api.adapter, method=method, bare=bare)


class RouterSettings(Protocol):
    """What a router client reads of its shop's settings."""

    @property
    def gateway_url(self) -> str:
        """The router's URL."""

    @property
    def access_token(self) -> SecretStr:
        """The shop's access token."""

    @property
    def router_secret(self) -> SecretStr:
        """The app secret the calls are signed with (each platform names it its own way)."""

    def api_client(self, *, sleep: Callable[[float], None]) -> ApiClient:
        """The adapter's ``ApiClient`` (:meth:`~aftersales.settings.AdapterSettings.api_client`)."""


RouterSettingsT = TypeVar("RouterSettingsT", bound=RouterSettings)


class ShopRouterClient(Generic[RouterSettingsT]):
    """One shop's signed calls to a router (Pinduoduo, JD): its settings, clock and
    :class:`RouterClient`.

    A subclass says how its platform's ``error_response`` reads
    (:meth:`read_error`) and builds each call's form from ``self.settings``
    and ``self.clock``.

    Args:
        settings: credentials and options.
        api: a ready ApiClient (tests inject one with a recorded ``sleep``).
        clock: the current aware time, for each call's ``timestamp``.
        sleep: how the retry layer waits (ignored when ``api`` is given).
    """

    def __init__(
        self,
        settings: RouterSettingsT,
        *,
        api: ApiClient | None = None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.router = RouterClient.for_shop(
            settings, url=settings.gateway_url, secret=settings.router_secret.get_secret_value(),
            token=settings.access_token.get_secret_value(), read_error=self.read_error,
            api=api, sleep=sleep)
        self.api = self.router.api

    def read_error(self, body: Any) -> RemoteError | None:
        """The library error a parsed answer reports, ``None`` when it reports none."""
        raise NotImplementedError

    def form(self, method: str, params: Mapping[str, Any]) -> dict[str, str | None]:
        """The unsigned form of one call of API ``method`` with business ``params``."""
        raise NotImplementedError

    def call(self, method: str, params: Mapping[str, Any], *, write: bool = False,
             bare: bool = False) -> dict[str, Any]:
        """Call API ``method`` and return its result object (see :meth:`RouterClient.call`).

        Raises:
            RemoteError: the error :meth:`read_error` chose, after retries.
            ResponseParseError: the answer was not JSON or had no result object.
        """
        return self.router.call(method, self.form(method, params), write=write, bare=bare)
