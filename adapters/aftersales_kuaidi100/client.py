"""HTTP for Kuaidi100, through the core's ApiClient; no parsing beyond the envelope.

Kuaidi100 answers errors with ``200 OK`` and an error body, so the client's
``classify_error`` hook turns those into the core's errors before the retry
layer decides anything.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import requests

from aftersales.errors import RemoteError
from aftersales.settings import AdapterClient
from aftersales_kuaidi100.mapping import (
    error_for,
    query_param,
    sign,
    subscribe_error,
    subscribe_param,
)
from aftersales_kuaidi100.settings import Kuaidi100Settings

__all__ = ["Kuaidi100Client"]


def _classify(response: requests.Response) -> RemoteError | None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None  # not JSON: the status check or parse_json reports it
    if not isinstance(body, dict):
        return None
    if urlsplit(response.url or "").path.rstrip("/") == "/poll":  # the subscription endpoint
        return subscribe_error(body)
    return error_for(body)


class Kuaidi100Client(AdapterClient[Kuaidi100Settings]):
    """The two Kuaidi100 calls the adapter makes: a signed query and autonumber."""

    max_attempts = 3

    def classify(self, response: requests.Response) -> RemoteError | None:
        """Kuaidi100's ``returnCode``, reported in a ``200 OK`` body."""
        return _classify(response)

    def query(self, com: str, number: str, phone: str | None = None) -> Any:
        """``POST /poll/query.do``: the body as JSON (a result, or the no-result body).

        Raises:
            ConfigurationError: key or customer is not configured.
            RemoteError: per :data:`~aftersales_kuaidi100.mapping.RETURN_CODES`.
        """
        key, customer = self.settings.credentials()
        param = query_param(com, number, phone, self.settings.resultv2)
        form = {"customer": customer, "sign": sign(param, key, customer), "param": param}
        # A query changes nothing on the server, so the POST is safe to repeat.
        return self.api.post("/poll/query.do", data=form, idempotent=True)

    def autonumber(self, number: str) -> Any:
        """``autonumber/auto``: a list of candidate carriers, or an error body."""
        key = self.settings.require_key()
        return self.api.post(
            self.settings.autonumber_url, data={"num": number, "key": key}, idempotent=True
        )

    def subscribe(
        self, com: str | None, number: str, callback_url: str, phone: str | None = None
    ) -> Any:
        """``POST /poll``: ask Kuaidi100 to push this number's updates to ``callback_url``."""
        key = self.settings.require_key()
        salt = self.settings.salt.get_secret_value() if self.settings.salt else None
        param = subscribe_param(
            com, number, key, callback_url, salt, phone, self.settings.resultv2
        )
        # Subscribing twice is harmless: 501 "already subscribed" is a success
        # (its own table, mapping.SUBSCRIBE_CODES), so the POST may be repeated.
        return self.api.post("/poll", data={"schema": "json", "param": param}, idempotent=True)
