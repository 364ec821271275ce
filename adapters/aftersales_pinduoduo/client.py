"""HTTP to the Pinduoduo open platform router, through the core ``RouterClient``.

Every call is a form POST to ``https://gw-api.pinduoduo.com/api/router``:
the API's name travels in ``type`` beside ``client_id``, ``access_token``,
``timestamp`` (Unix seconds), ``data_type=JSON`` and ``version=V1``, with
the business parameters at the same level (a nested value as compact JSON),
and the whole set is signed by :func:`sign`. A failure comes back with HTTP
200 as ``{"error_response": {"error_code", "error_msg", "sub_code",
"sub_msg", "request_id"}}``; :func:`error_from_body` turns it into the
library's errors (codes from the platform's error-code table):

* 70031/70032 "调用过于频繁" and 52101 "当前接口被限流": ``RateLimitError``;
* 50000 "系统内部错误", 52102/52103 "暂时不可用", 70033 "系统维护": ``TransientError``;
* 10014/10016/10019/10035/20004/20032 (revoked, expired or wrong credentials,
  bad signature): ``AuthenticationError``;
* anything else (10000 parameter error, 50001 business error, …):
  ``RemoteRejectedError``, never retried.
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
from aftersales.wire import wire_number
from aftersales_pinduoduo.settings import PinduoduoSettings

__all__ = ["PinduoduoClient", "error_from_body", "sign", "wire_value"]

#: The API reference's error table (e.g. pdd.refund.information.get's 返回错误码说明):
#: throttled calls, system-side failures worth a retry, bad credentials or rights.
_LIMITED = frozenset({52101, 70031, 70032})
_TRANSIENT = frozenset({50000, 50002, 52001, 52002, 52102, 52103, 70033})
_AUTH = frozenset({10014, 10016, 10019, 10035, 20004, 20005, 20031, 20032})


def sign(params: Mapping[str, str], client_secret: str) -> str:
    """The router's signature of ``params``: upper-case hex MD5.

    ``client_secret + name1value1name2value2… + client_secret`` over every
    parameter except ``sign``, sorted by name (parameters without a value
    are not sent, and so not signed).
    """
    return md5_wrapped_sign(params, client_secret)


def wire_value(value: Any) -> str:
    """A business parameter as the router reads it: text, ``true``/``false``, or JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


def error_from_body(body: Any) -> RemoteError | None:
    """The library error for an ``error_response`` body, or ``None`` for a success."""
    if not isinstance(body, dict) or not isinstance(body.get("error_response"), dict):
        return None
    err = body["error_response"]
    code = wire_number(err.get("error_code")) or 0  # never a float (JSON's Infinity, NaN)
    sub = str(err.get("sub_code") or "")
    msg, sub_msg = str(err.get("error_msg") or "error"), str(err.get("sub_msg") or "")
    text = msg if not sub_msg or sub_msg == msg else f"{msg}: {sub_msg}"
    kw: dict[str, Any] = {"code": f"{code}/{sub}" if sub and sub != str(code) else str(code)}
    if err.get("request_id"):
        kw["request_id"] = str(err["request_id"])
    if code in _LIMITED:
        return RateLimitError(text, retry_after=1.0, **kw)
    if code in _TRANSIENT:
        return TransientError(text, **kw)
    if code in _AUTH:
        return AuthenticationError(text, **kw)
    return RemoteRejectedError(text, **kw)


class PinduoduoClient(ShopRouterClient[PinduoduoSettings]):
    """Signed calls to the router for one shop (the core's
    :class:`~aftersales.router.ShopRouterClient`).
    """

    def read_error(self, body: Any) -> RemoteError | None:
        """See :func:`error_from_body`."""
        return error_from_body(body)

    def form(self, api_type: str, params: Mapping[str, Any]) -> dict[str, str | None]:
        """The unsigned form of one call: common parameters and business ones."""
        s = self.settings
        form: dict[str, str | None] = {
            "type": api_type,
            "client_id": s.client_id,
            "access_token": s.access_token.get_secret_value(),
            "timestamp": str(int(self.clock().timestamp())),
            "data_type": "JSON",
            "version": "V1",
        }
        form.update({k: wire_value(v) for k, v in params.items() if v is not None})
        return form
