"""HTTP to the Taobao/Tmall open platform (TOP) gateway, through the core ApiClient.

Every call is a form POST to one router URL: the API's name travels in the
``method`` parameter beside the common ones (``app_key``, ``session``,
``timestamp``, ``v``, ``sign_method``, ``format``) and the business
parameters, and the whole set is signed (:func:`sign`). Answers come back
with HTTP 200 whether they succeeded or not; a failure is an
``error_response`` object in the body, which :func:`classify_error` turns
into the library's errors so the core retry layer can act on them:

* call-limit codes (4–8, ``accesscontrol.*``) are a ``RateLimitError``
  carrying the ban the platform announces ("This ban will last for 71 more
  seconds");
* ``isp.*`` sub-codes and code 10 are server-side: ``TransientError``;
* bad signature, session or app key: ``AuthenticationError``;
* ``isv.*`` and other caller errors: ``RemoteRejectedError``, never retried.

Calls that upload a file (``taobao.rp.returngoods.refuse``'s ``refuse_proof``,
a picture) follow the TOP protocol for byte[] parameters, as the official
SDKs do (``top/api/base.py`` ``RestApi.getResponse`` in the Python SDK,
``DefaultTaobaoClient`` in the Java one): the system parameters, ``sign``
included, travel in the URL's query string; the business parameters are
text parts of a ``multipart/form-data`` body and the files are file parts
after them; the signature covers the system and business parameters but
never a file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
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
from aftersales.logistics.tracking import CHINA_TZ
from aftersales.multipart import FilePart
from aftersales.router import error_in_body
from aftersales.settings import AdapterClient
from aftersales.signing import md5_wrapped_sign, sorted_pairs
from aftersales.wire import china_text, wire_number
from aftersales_taobao.settings import TaobaoSettings

__all__ = ["TaobaoClient", "classify_error", "error_from_body", "format_time", "sign"]

_BAN = re.compile(r"ban will last for (\d+(?:\.\d+)?) more second", re.IGNORECASE)
_LIMIT_CODES = frozenset({4, 5, 6, 7, 8})
_AUTH_CODES = frozenset({11, 12, 13, 24, 25, 26, 27, 28, 29})
_TRANSIENT_CODES = frozenset({10})
#: The protocol's own parameters: in the query string of an upload, signed like the rest.
_SYSTEM_PARAMS = ("method", "app_key", "session", "timestamp", "format", "v", "sign_method")


def sign(params: Mapping[str, str], secret: str, method: str = "md5") -> str:
    """The TOP signature of ``params``: uppercase hex.

    Every parameter except ``sign`` and empty ones, sorted by name, joined
    as ``name1value1name2value2``; ``md5`` hashes it wrapped in the secret,
    ``hmac`` (HMAC-MD5) and ``hmac-sha256`` key the HMAC with the secret.

    Raises:
        ValueError: an unknown ``method``.
    """
    if method == "md5":
        return md5_wrapped_sign(params, secret)
    text = sorted_pairs(params)
    if method == "hmac":
        digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.md5).hexdigest()
    elif method == "hmac-sha256":
        digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unknown TOP sign method {method!r} (md5, hmac, hmac-sha256)")
    return digest.upper()


def format_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in China time, as the gateway reads times
    (:func:`aftersales.wire.china_text`; a naive time is refused)."""
    return china_text(moment)


def _seconds_to_china_midnight(now: datetime) -> float:
    local = now.astimezone(CHINA_TZ)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - local).total_seconds()


def error_from_body(
    body: Any, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> RemoteError | None:
    """The library error for a TOP ``error_response`` body, or ``None`` for a success."""
    if not isinstance(body, dict) or "error_response" not in body:
        return None
    err = body["error_response"]
    if not isinstance(err, dict):
        return ResponseParseError("the answer's error_response is not an object",
                                  adapter="taobao")
    code = wire_number(err.get("code", 0)) or 0
    sub_code = str(err.get("sub_code") or "")
    text = f"{err.get('msg') or 'error'}" + (f": {err['sub_msg']}" if err.get("sub_msg") else "")
    kw: dict[str, Any] = {"code": f"{code}/{sub_code}" if sub_code else str(code),
                          "adapter": "taobao"}
    if err.get("request_id"):
        kw["request_id"] = str(err["request_id"])
    if code in _LIMIT_CODES or sub_code.startswith("accesscontrol."):
        found = _BAN.search(f"{err.get('sub_msg', '')} {err.get('msg', '')}")
        if found:
            wait = float(found.group(1)) + 1.0
        elif sub_code.endswith("limited-by-app-access-count"):
            wait = _seconds_to_china_midnight(now())  # the daily quota resets at 00:00 GMT+8
        else:
            wait = 1.0
        return RateLimitError(text, retry_after=wait, **kw)
    if code in _AUTH_CODES or sub_code in {"isv.invalid-session", "invalid-sessionkey"}:
        return AuthenticationError(text, **kw)
    if code in _TRANSIENT_CODES or sub_code.startswith("isp."):
        return TransientError(text, **kw)
    return RemoteRejectedError(text, **kw)


def classify_error(response: requests.Response) -> RemoteError | None:
    """The ApiClient hook: turn a 200 answer carrying ``error_response`` into an error.

    Bodies that are not JSON are left to the ApiClient (an HTML page becomes
    ``ResponseParseError``, a 5xx a ``TransientError``).
    """
    return error_in_body(response, error_from_body)


def _response_key(method: str) -> str:
    name = method[len("taobao.") :] if method.startswith("taobao.") else method
    return name.replace(".", "_") + "_response"


class TaobaoClient(AdapterClient[TaobaoSettings]):
    """Signed calls to the gateway for one seller (the core's
    :class:`~aftersales.settings.AdapterClient`: an injected ApiClient masks every
    secret of the settings; its ``clock`` gives each call's ``timestamp``).
    """

    def classify(self, response: requests.Response) -> RemoteError | None:
        """See :func:`classify_error`; a ban longer than ``max_ban_wait`` is not retried."""
        error = classify_error(response)
        too_long = self.settings.max_ban_wait
        if isinstance(error, RateLimitError) and (error.retry_after or 0) > too_long:
            # Too long to wait in-process (and the signed timestamp would go
            # stale): hand the ban to the caller, whose scheduler retries later.
            error.retryable = False
        return error

    def signed_params(self, method: str, params: Mapping[str, Any]) -> dict[str, str]:
        """The full form of one call: common parameters, business ones, ``sign``.

        File parameters are never part of ``params``: TOP signs without them.
        """
        s = self.settings
        form: dict[str, str] = {
            "method": method,
            "app_key": s.app_key,
            "session": s.session.get_secret_value(),
            "timestamp": format_time(self.clock()),
            "format": "json",
            "v": "2.0",
            "sign_method": s.sign_method,
        }
        for key, value in params.items():
            if value is None:
                continue
            form[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        form["sign"] = sign(form, s.app_secret.get_secret_value(), s.sign_method)
        return form

    def call(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        write: bool = False,
        files: Mapping[str, FilePart] | None = None,
    ) -> dict[str, Any]:
        """Call API ``method`` and return the object under its ``*_response`` key.

        Reads are retried by the core on throttling and transient failures;
        writes only on throttling (a throttled call did nothing), because a
        write that may have reached Taobao must not be blindly sent again.
        With ``files`` the call is a multipart upload (see the module notes).

        Raises:
            RemoteError: the subclass :func:`classify_error` chose, after retries.
            ResponseParseError: the answer was not JSON or had no ``*_response``.
        """
        form = self.signed_params(method, params)
        if files:
            system = {k: form.pop(k) for k in (*_SYSTEM_PARAMS, "sign") if k in form}
            body = self.api.post(self.settings.gateway_url, params=system, data=form,
                                 files=files, idempotent=not write)
        else:
            body = self.api.post(self.settings.gateway_url, data=form, idempotent=not write)
        key = _response_key(method)
        inner = body.get(key) if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise ResponseParseError(
                f"{method}: the answer has no {key} object", adapter="taobao"
            )
        return inner
