"""HTTP for the AfterShip Tracking API (2025-01), through the core's ApiClient.

AfterShip uses HTTP statuses with a ``meta`` envelope; ``classify_error``
maps 4xx answers as the core does but keeps ``meta.code`` (4003, 4004 …) as
the error's ``code`` and reads the wait of a 429 from ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import requests

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteNotFoundError,
    RemoteRejectedError,
)
from aftersales.http import parse_retry_after
from aftersales.settings import AdapterClient
from aftersales.wire import wire_code
from aftersales_aftership.settings import AfterShipSettings

__all__ = ["AfterShipClient"]


def _meta_code(response: requests.Response) -> str | None:
    try:
        meta = json.loads(response.content or b"null")["meta"]
        return wire_code(meta["code"])  # a code that is none never reaches the error's text
    except (ValueError, KeyError, TypeError):
        return None


def _classify(response: requests.Response) -> RemoteError | None:
    status = response.status_code
    if status >= 500:
        return None  # a server error the default mapping retries
    code = _meta_code(response) if status >= 400 or b'"meta"' in response.content[:64] else None
    if status < 400:
        # An error told in ``meta.code`` beside 200 OK (a proxy, an older API version).
        if code is None or not code.isdigit() or int(code) < 400:
            return None
        status_of = {"429": 429, "4004": 404, "401": 401, "403": 403}.get(code, 400)
        cls = RateLimitError if status_of == 429 else _BY_STATUS.get(status_of,
                                                                     RemoteRejectedError)
        return cls("request refused", adapter="aftership", status=status, code=code)
    if status == 429:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        reset = response.headers.get("X-RateLimit-Reset")
        if wait is None and reset and reset.isdigit():
            wait = max(0.0, min(float(reset) - time.time(), 300.0))
        return RateLimitError("rate limited", retry_after=wait, adapter="aftership",
                              status=429, code=code)
    cls = _BY_STATUS.get(status, RemoteRejectedError)
    return cls("request refused", adapter="aftership", status=status, code=code)


#: HTTP status -> error class; the meta code rides along as ``code``.
_BY_STATUS: dict[int, type[RemoteError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: RemoteNotFoundError,
}


class AfterShipClient(AdapterClient[AfterShipSettings]):
    """The AfterShip calls the adapter makes: list by numbers, create one."""

    max_attempts = 3
    pool_size = 16

    def classify(self, response: requests.Response) -> RemoteError | None:
        """AfterShip's ``meta`` error, by HTTP status and meta code."""
        return _classify(response)

    def _headers(self) -> dict[str, str]:
        return {"as-api-key": self.settings.require_api_key()}

    def list_trackings(self, numbers: Sequence[str], *, created_at_min: str,
                       cursor: str | None = None) -> Any:
        """``GET /trackings?tracking_numbers=a,b,…`` (up to 50 numbers), the trackings
        created since ``created_at_min``; ``cursor`` asks for a further page."""
        params: dict[str, Any] = {"tracking_numbers": ",".join(numbers),
                                  "limit": max(len(numbers), 1),
                                  "created_at_min": created_at_min}
        if cursor:
            params["cursor"] = cursor
        return self.api.get("/trackings", params=params, headers=self._headers())

    def create_tracking(self, number: str, slug: str | None) -> Any:
        """``POST /trackings``: start tracking one number (slug optional: auto-detect)."""
        body: dict[str, Any] = {"tracking_number": number}
        if slug:
            body["slug"] = slug
        return self.api.post("/trackings", json=body, headers=self._headers())
