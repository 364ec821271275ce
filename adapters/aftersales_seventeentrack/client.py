"""HTTP for 17TRACK v2.2, through the core's ApiClient; no parsing beyond the envelope.

17TRACK reports request-level errors inside a ``200 OK`` envelope (``code``
not 0, or ``data.errors``); ``classify_error`` turns them into the core's
errors. Per-number refusals (``data.rejected``) are left to the adapter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import requests

from aftersales.errors import RemoteError, ResponseParseError
from aftersales.logistics.tracking import provider_reason
from aftersales.settings import AdapterClient
from aftersales_seventeentrack.mapping import error_for_code
from aftersales_seventeentrack.settings import SeventeenTrackSettings

__all__ = ["SeventeenTrackClient"]


#: ``{"code": 0, …`` at the start of a body: no request-level error, no need to parse twice.
_CLEAN = re.compile(rb'\s*\{\s*"code"\s*:\s*0\s*[,}]')


def _classify(response: requests.Response) -> RemoteError | None:
    if response.status_code == 200 and _CLEAN.match(response.content or b""):
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    errors = data.get("errors") or [] if isinstance(data, dict) else []
    code = body.get("code", 0)
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    if not code and not first:
        return None
    code = first.get("code") or code
    if isinstance(code, bool) or not isinstance(code, int):
        # A code that is no whole number ("abc", -1.5): not an answer 17TRACK documents.
        return ResponseParseError("error code is not a whole number", adapter="seventeentrack")
    # 17TRACK's words go into the error's text: masked, on one line, short.
    return error_for_code(code, provider_reason(first.get("message"), ""))


class SeventeenTrackClient(AdapterClient[SeventeenTrackSettings]):
    """The 17TRACK calls the adapter makes: ``gettrackinfo`` and ``register``."""

    max_attempts = 3
    pool_size = 16

    def classify(self, response: requests.Response) -> RemoteError | None:
        """17TRACK's error ``code``, reported in a ``200 OK`` body too."""
        return _classify(response)

    def _post(self, path: str, items: Sequence[dict[str, Any]]) -> requests.Response:
        token = self.settings.require_token()
        # Both calls are safe to repeat: reading changes nothing, and
        # registering twice only reports "already registered". The body is
        # left unparsed: the adapter validates the bytes in one pass.
        return self.api.request("POST", path, json=list(items), headers={"17token": token},
                                idempotent=True)

    def get_track_info(self, items: Sequence[dict[str, Any]]) -> requests.Response:
        """``POST /gettrackinfo`` for up to 40 ``{"number", "carrier"?}`` items."""
        return self._post("/gettrackinfo", items)

    def register(self, items: Sequence[dict[str, Any]]) -> requests.Response:
        """``POST /register``: start tracking up to 40 numbers."""
        return self._post("/register", items)
