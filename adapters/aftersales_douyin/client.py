"""HTTP to the Douyin Shop open platform (抖店开放平台), through the core ApiClient.

Every call is a POST to ``{base_url}/{path}`` (``/afterSale/List``): the
system parameters travel in the query string (``app_key``, ``method``,
``timestamp``, ``v=2``, ``sign_method=hmac-sha256``, ``sign``,
``access_token``), the business parameters are the JSON body, and the
signature covers that body as ``param_json`` (:func:`sign`). ``method`` is
the path with dots for slashes (``afterSale.List``). This is how the
official Go SDK (doudian-sdk-golang 1.1.0, ``core/doudian_op_api_client.go``
and ``utils/sign_util.go``) sends a call.

Answers come back as HTTP 200 with ``code`` (10000 is success), ``msg``,
``sub_code``, ``sub_msg``, ``log_id`` and ``data``. :func:`error_from_body`
turns a failure into the library's errors so the core retry layer can act:

* ``code`` 20000 and ``isp.*`` sub-codes are server-side: ``TransientError``
  (the operate reference lists ``isp.service-error`` under 20000, "重试");
* an access token or signature sub-code, or codes 30001/30002: ``AuthenticationError``;
* a frequency limit sub-code (``*limit*``/``*frequency*``): ``RateLimitError``;
* anything else (40004 ``isv.parameter-invalid``, 50002
  ``isv.business-failed``): ``RemoteRejectedError``, never retried.

Only 10000, 20000/``isp.service-error``, 40004/``isv.parameter-invalid``
and 50002/``isv.business-failed`` were confirmed from published API
reference metadata; the token and limit sub-codes are matched by their
words, so an unlisted spelling falls back to a rejection rather than a retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
)
from aftersales.router import error_in_body
from aftersales.settings import AdapterClient
from aftersales.wire import wire_number
from aftersales_douyin.settings import DouyinSettings

__all__ = ["DouyinClient", "canonical_param_json", "error_from_body", "method_of", "sign"]

SUCCESS = 10000
_TRANSIENT_CODES = frozenset({20000})
_AUTH_CODES = frozenset({30001, 30002})
_AUTH_WORDS = ("access-token", "access_token", "token", "signature", "sign")
_LIMIT_WORDS = ("limit", "frequency", "flow-control", "qps")


class _Raw:
    """A JSON number kept exactly as written (the Go SDK decodes with ``UseNumber``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _go_string(text: str) -> str:
    """A JSON string as Go's encoder writes it with HTML escaping off: non-ASCII and
    ``<>&`` as they are; ``\\n``, ``\\r``, ``\\t`` short; other control characters
    and U+2028/U+2029 as ``\\u00XX``/``\\u2028``."""
    out = []
    for ch in text:
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif ch < " " or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _dump(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("param_json cannot hold a NaN or infinite number")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("param_json numbers must be int or Decimal, not float (money is exact)")
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{_dump(k)}:{_dump(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump(v) for v in value) + "]"
    raise TypeError(f"param_json cannot hold a {type(value).__name__}")


def canonical_param_json(param_json: Mapping[str, Any] | str) -> str:
    """``param_json`` as the official SDK re-serialises it before signing.

    Keys sorted at every level, no spaces, no HTML escaping (``<``, ``>``,
    ``&`` stay as they are), non-ASCII text kept as UTF-8; numbers of a
    string input keep their exact spelling. A mapping may hold ``str``,
    ``int``, ``Decimal``, ``bool``, ``None``, lists and mappings.

    Raises:
        ValueError: a string that is not a JSON object.
        TypeError: a value JSON cannot carry exactly (a float, an object).
    """
    if isinstance(param_json, str):
        try:
            data = json.loads(param_json, parse_float=_Raw, parse_int=_Raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"param_json is not JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise ValueError("param_json must be a JSON object")
        return _dump(data)
    return _dump(param_json)


def sign(app_key: str, app_secret: str, method: str, param_json: Mapping[str, Any] | str,
         timestamp: int | str, v: str = "2") -> str:
    """The Douyin Shop request signature: lower-case hex HMAC-SHA256.

    Keyed with ``app_secret``, over ``app_secret + "app_key" + app_key +
    "method" + method + "param_json" + param_json + "timestamp" + timestamp
    + "v" + v + app_secret``, where ``param_json`` is first re-serialised by
    :func:`canonical_param_json` (sorted keys, no spaces, no HTML escaping),
    as the official SDK does.
    """
    body = canonical_param_json(param_json)
    text = (f"{app_secret}app_key{app_key}method{method}param_json{body}"
            f"timestamp{timestamp}v{v}{app_secret}")
    return hmac.new(app_secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def method_of(path: str) -> str:
    """The ``method`` parameter of an API path: ``/afterSale/List`` → ``afterSale.List``."""
    return path.strip("/").replace("/", ".")


def _words(text: str, words: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(w in low for w in words)


def error_from_body(body: Any) -> RemoteError | None:
    """The library error for a failed Douyin answer, or ``None`` for a success."""
    if not isinstance(body, dict):
        return None
    if "code" not in body:
        # Some gateways answer ``err_no`` (0: success) and ``message`` instead.
        if "err_no" not in body:
            return None
        err_no = wire_number(body["err_no"])
        if err_no is None:
            return ResponseParseError("the answer's err_no is not a number", adapter="douyin")
        if err_no == 0:
            return None
        body = {"code": err_no, "msg": body.get("message") or body.get("err_tips"),
                "sub_code": body.get("sub_code"), "log_id": body.get("log_id")}
    code = wire_number(body["code"])
    if code is None:
        return ResponseParseError("the answer's code is not a number", adapter="douyin")
    if code == SUCCESS:
        return None
    sub_code = str(body.get("sub_code") or "")
    text = f"{body.get('msg') or 'error'}" + (f": {body['sub_msg']}" if body.get("sub_msg")
                                              else "")
    kw: dict[str, Any] = {"code": f"{code}/{sub_code}" if sub_code else str(code),
                          "adapter": "douyin"}
    if body.get("log_id"):
        kw["request_id"] = str(body["log_id"])
    if _words(sub_code, _LIMIT_WORDS):
        return RateLimitError(text, retry_after=1.0, **kw)
    if code in _AUTH_CODES or _words(sub_code, _AUTH_WORDS):
        return AuthenticationError(text, **kw)
    if code in _TRANSIENT_CODES or sub_code.startswith("isp."):
        return TransientError(text, **kw)
    return RemoteRejectedError(text, **kw)


def classify_error(response: requests.Response) -> RemoteError | None:
    """The ApiClient hook: a 200 answer whose ``code`` is not 10000 becomes an error."""
    return error_in_body(response, error_from_body)


class DouyinClient(AdapterClient[DouyinSettings]):
    """Signed calls to the open platform for one shop (the core's
    :class:`~aftersales.settings.AdapterClient`: an injected ApiClient masks every
    secret of the settings; its ``clock`` gives each call's ``timestamp``).
    """

    def classify(self, response: requests.Response) -> RemoteError | None:
        """See :func:`classify_error`."""
        return classify_error(response)

    def signed_query(self, path: str, body: str) -> dict[str, str]:
        """The query string of one call: system parameters and ``sign`` over ``body``."""
        s = self.settings
        method = method_of(path)
        timestamp = str(int(self.clock().timestamp()))
        return {
            "app_key": s.app_key, "method": method, "timestamp": timestamp, "v": "2",
            "sign_method": "hmac-sha256",
            "sign": sign(s.app_key, s.app_secret.get_secret_value(), method, body, timestamp),
            "access_token": s.access_token.get_secret_value(),
        }

    def call(self, path: str, params: Mapping[str, Any], *,
             write: bool = False) -> dict[str, Any]:
        """Call API ``path`` and return its ``data`` object.

        Reads are retried by the core on throttling and transient failures;
        writes only on throttling (a throttled call did nothing), because a
        write that may have reached Douyin must not be blindly sent again.
        Every call, the file upload included, sends its business parameters
        as the JSON body, as the official SDKs do.

        Raises:
            RemoteError: the subclass :func:`error_from_body` chose, after retries.
            ResponseParseError: the answer was not JSON or had no ``data`` object.
        """
        body = canonical_param_json(params)
        url = f"{self.settings.base_url.rstrip('/')}/{path.strip('/')}"
        query = self.signed_query(path, body)
        answer = self.api.post(url, params=query, data=body.encode("utf-8"),
                               headers={"Content-Type": "application/json"},
                               idempotent=not write)
        data = answer.get("data") if isinstance(answer, dict) else None
        if data is None and isinstance(answer, dict) and wire_number(answer.get("code")) == SUCCESS:
            return {}
        if not isinstance(data, dict):
            raise ResponseParseError(f"{path}: the answer has no data object", adapter="douyin")
        return data
