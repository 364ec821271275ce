"""HTTP to the JD open platform (JOS) router, through the core ``RouterClient``.

Every call is a form POST to ``https://api.jd.com/routerjson``: the system
parameters ``method``, ``app_key``, ``access_token``, ``timestamp``
(``yyyy-MM-dd HH:mm:ss``, China time) and ``v=2.0`` travel beside one
parameter, ``360buy_param_json``, that holds every business parameter as
JSON with its keys sorted (as the official SDKs build it); all of them are
signed by :func:`sign`. The answer sits under ``<method, dots as
underscores>_responce`` (JOS's own spelling; ``_response`` is accepted too).
A gateway failure is ``{"error_response": {"code", "zh_desc", "en_desc"}}``
(for example ``19`` 无效access_token); :func:`error_from_body` turns it into
the library's errors. JOS's gateway error-code table (网关系统错误码) was
read only in a public copy that reproduces it (five of its rows are tested
as published errors), so besides code 19 the class is read from the
description: words of throttling (频繁, 限流, limit) are a
``RateLimitError``, of a bad token or signature an ``AuthenticationError``,
of a system or service failure (系统, 服务, busy) a ``TransientError``; the
rest is ``RemoteRejectedError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.router import ShopRouterClient
from aftersales.signing import md5_wrapped_sign
from aftersales.wire import china_text
from aftersales_jd.settings import JdSettings

__all__ = ["JdClient", "error_from_body", "param_json", "sign"]

_LIMIT_WORDS = ("频繁", "限流", "超过", "limit", "frequen")
_AUTH_WORDS = ("token", "签名", "sign", "app_key", "appkey", "授权")
_TRANSIENT_WORDS = ("系统", "服务不可用", "服务异常", "繁忙", "busy", "unavailable", "timeout")


def sign(params: Mapping[str, str], app_secret: str) -> str:
    """The router's signature: upper-case hex MD5 of ``secret + sorted name+value + secret``.

    Over the system parameters, ``360buy_param_json`` included, never ``sign``.
    """
    return md5_wrapped_sign(params, app_secret)


def param_json(params: Mapping[str, Any]) -> str:
    """The ``360buy_param_json`` of business ``params``: compact JSON, keys sorted, no nulls."""
    return json.dumps({k: v for k, v in params.items() if v is not None}, ensure_ascii=False,
                      separators=(",", ":"), sort_keys=True)


def _has(text: str, words: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(w in low for w in words)


def error_from_body(body: Any) -> RemoteError | None:
    """The library error for a JOS ``error_response`` body, or ``None`` for a success."""
    if not isinstance(body, dict) or not isinstance(body.get("error_response"), dict):
        return None
    err = body["error_response"]
    code = str(err.get("code") or "")
    text = str(err.get("zh_desc") or err.get("en_desc") or "error")
    words = f"{text} {err.get('en_desc') or ''}"
    kw: dict[str, Any] = {"code": code or None}
    if _has(words, _LIMIT_WORDS):
        return RateLimitError(text, retry_after=1.0, **kw)
    if code == "19" or _has(words, _AUTH_WORDS):
        return AuthenticationError(text, **kw)
    if _has(words, _TRANSIENT_WORDS):
        return TransientError(text, **kw)
    return RemoteRejectedError(text, **kw)


class JdClient(ShopRouterClient[JdSettings]):
    """Signed calls to the JOS router for one shop (the core's
    :class:`~aftersales.router.ShopRouterClient`).
    """

    def read_error(self, body: Any) -> RemoteError | None:
        """See :func:`error_from_body`."""
        return error_from_body(body)

    def form(self, method: str, params: Mapping[str, Any]) -> dict[str, str | None]:
        """The unsigned form of one call: the system parameters and ``360buy_param_json``."""
        s = self.settings
        return {
            "method": method,
            "app_key": s.app_key,
            "access_token": s.access_token.get_secret_value(),
            "timestamp": china_text(self.clock(), field="timestamp"),
            "v": "2.0",
            "360buy_param_json": param_json(params),
        }
