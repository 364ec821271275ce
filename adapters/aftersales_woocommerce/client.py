"""HTTP to the WooCommerce REST API v3, through the core's ``ApiClient``.

Authentication is HTTP Basic with the consumer key and secret (https only),
or the same pair as query parameters when the server drops the
Authorization header. Errors come as ``{"code", "message", "data": {"status"}}``
with the same HTTP status; :func:`classify_error` maps them onto the core's
hierarchy keeping WooCommerce's code. Lists page by number, with the page
count in ``X-WP-TotalPages``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.auth import HTTPBasicAuth

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteNotFoundError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.http import ApiClient, parse_retry_after

from .settings import WooCommerceSettings

__all__ = ["WooCommerceClient", "classify_error"]


def classify_error(response: requests.Response) -> RemoteError | None:
    """The error for a WooCommerce error object, carrying its ``code``; ``None`` if not one."""
    status = response.status_code
    if status < 400:
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None  # an HTML error page: the core maps the status
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return None
    code, message = body["code"], str(body.get("message") or body["code"])[:200]
    if status in (401, 403):
        return AuthenticationError(message, status=status, code=code)
    if status == 404:
        return RemoteNotFoundError(message, status=status, code=code)
    if status == 429:
        return RateLimitError(message, status=status, code=code,
                              retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status in (502, 503, 504):
        return TransientError(message, status=status, code=code)
    if status >= 500:
        return RemoteError(message, status=status, code=code)
    return RemoteRejectedError(message, status=status, code=code)


class WooCommerceClient:
    """WooCommerce REST calls: paths, query parameters and JSON bodies, nothing more.

    Args:
        settings: the store and its key pair.
        api: a ready ``ApiClient`` (tests inject one); built from ``settings`` otherwise.
        sleep: how the retry layer waits (tests pass a recorder).
    """

    def __init__(
        self,
        settings: WooCommerceSettings,
        *,
        api: ApiClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        key = settings.consumer_key.get_secret_value()
        secret = settings.consumer_secret.get_secret_value()
        self.settings = settings
        self._query_auth = {"consumer_key": key, "consumer_secret": secret}
        self.api = api or settings.api_client(
            headers={"Accept": "application/json"},
            auth=None if settings.query_string_auth else HTTPBasicAuth(key, secret),
            classify_error=classify_error, sleep=sleep,
        )

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        out = dict(params or {})
        if self.settings.query_string_auth:
            out.update(self._query_auth)
        return out

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, int | None]:
        """GET a path; returns the JSON body and ``X-WP-TotalPages`` (``None`` if absent)."""
        response = self.api.request("GET", path, params=self._params(params))
        pages = response.headers.get("X-WP-TotalPages")
        return self.api.parse_json(response), int(pages) if pages and pages.isdigit() else None

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST a JSON body (never re-sent once it may have reached the store)."""
        return self.api.post(path, json=dict(body), params=self._params(None))

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        """PUT a JSON body."""
        return self.api.put(path, json=dict(body), params=self._params(None))
