"""HTTP to the Shopify Admin API, through the core's ``ApiClient``.

Two doors to one shop: GraphQL (``POST /admin/api/{v}/graphql.json``) for
returns and refunds, and REST for orders and fulfillments. Every call sends
``X-Shopify-Access-Token``. Throttling comes two ways and both become a
:class:`~aftersales.errors.RateLimitError` the core's retry layer waits out:
a REST 429 with ``Retry-After`` (handled by ``ApiClient``), and a GraphQL
``THROTTLED`` error whose wait is computed here from the cost bucket
(``extensions.cost.throttleStatus``), whatever HTTP status carried it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
)
from aftersales.http import ApiClient, body_text, bounded_wait

from .settings import ShopifySettings

__all__ = ["ShopifyClient", "classify_error", "throttle_wait"]

NAME = "shopify"


def throttle_wait(body: Mapping[str, Any]) -> float:
    """Seconds until the GraphQL cost bucket holds what the throttled query asked for.

    ``(requestedQueryCost - currentlyAvailable) / restoreRate``, at least a
    tenth of a second and at most five minutes; one second when Shopify sent no
    cost figures, or figures that are no finite numbers.
    """
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    if not rate > 0 or needed != needed:  # no rate, or NaN figures
        return 1.0
    return bounded_wait(max(needed / rate, 0.1)) or 1.0


#: Top-level error codes whose messages never quote the request (Shopify's own texts).
_QUIET_CODES = frozenset({"THROTTLED", "ACCESS_DENIED", "INTERNAL_SERVER_ERROR"})


def _graphql_errors(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return []


def classify_error(response: requests.Response) -> RemoteError | None:
    """Errors Shopify reports inside a GraphQL body (``errors[].extensions.code``).

    REST errors keep the HTTP status the core already maps (401, 404, 422, 429 …).
    """
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    errors = _graphql_errors(body)
    if not errors:
        return None
    codes = [str((e.get("extensions") or {}).get("code") or "")[:64] for e in errors]
    # A validation message may quote the variables sent (a buyer's name in a note):
    # only the messages of the codes below, which quote nothing, are kept; any other
    # error says its code, and the redacted body excerpt keeps the rest.
    message = f"GraphQL error {codes[0] or 'without a code'}"
    if codes[0] in _QUIET_CODES:
        message = str(errors[0].get("message") or message)[:200]
    status = response.status_code
    if "THROTTLED" in codes:
        return RateLimitError("GraphQL cost limit reached", retry_after=throttle_wait(body),
                              status=status, code="THROTTLED")
    if "ACCESS_DENIED" in codes or status in (401, 403):
        return AuthenticationError(message, status=status, code="ACCESS_DENIED")
    if "INTERNAL_SERVER_ERROR" in codes or status >= 500:
        return TransientError(message, status=status, code=codes[0] or None)
    return RemoteRejectedError(message, status=status, code=codes[0] or None)


class ShopifyClient:
    """Shopify Admin API calls: GraphQL documents and REST paths, nothing more.

    Args:
        settings: the shop and its credentials.
        api: a ready ``ApiClient`` (tests inject one); built from ``settings`` otherwise.
        sleep: how the retry layer waits (tests pass a recorder).
    """

    def __init__(
        self,
        settings: ShopifySettings,
        *,
        api: ApiClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = settings.access_token.get_secret_value()
        self.settings = settings
        self.api = api or settings.api_client(
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            classify_error=classify_error, sleep=sleep,
        )

    def graphql(
        self, document: str, variables: Mapping[str, Any] | None = None, *,
        mutation: bool = False, idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Run a GraphQL document and return its ``data``.

        Queries are safe to repeat; a mutation is re-sent after a dropped
        connection only when it carries an idempotency key (which must also be
        inside the document as ``@idempotent(key: ...)``).

        Raises:
            ResponseParseError: the body is not JSON or has no ``data``.
            RemoteError: as classified by :func:`classify_error` and the core.
        """
        body = self.api.post(
            "graphql.json", json={"query": document, "variables": dict(variables or {})},
            idempotent=None if mutation else True, idempotency_key=idempotency_key,
        )
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise ResponseParseError("GraphQL response has no data", adapter=NAME)
        data: dict[str, Any] = body["data"]
        return data

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, str | None]:
        """GET a REST path; returns the JSON object and the next page's ``page_info``.

        Only the ``page_info`` of a ``Link: rel="next"`` is taken: the next page
        is always asked of this shop, wherever the link points.

        Raises:
            ResponseParseError: the body is not a JSON object.
            RemoteRejectedError: the body is Shopify's ``errors`` envelope,
                even with HTTP 200.
        """
        response = self.api.request("GET", path, params=params)
        nxt = response.links.get("next", {}).get("url")
        token = None
        if nxt:
            values = parse_qs(urlsplit(nxt).query).get("page_info")
            token = values[0] if values and values[0] else None
        body = self.api.parse_json(response)
        if not isinstance(body, dict):
            raise ResponseParseError("REST answer is not a JSON object", adapter=NAME,
                                     status=response.status_code)
        if "errors" in body:
            raise RemoteRejectedError("REST answer carries errors", adapter=NAME,
                                      status=response.status_code, code="errors",
                                      body=self.api.excerpt(body_text(response)))
        return body, token

    def post(self, path: str, body: Mapping[str, Any], *, idempotent: bool = False) -> Any:
        """POST a REST path (``idempotent`` for calculations that change nothing)."""
        return self.api.post(path, json=dict(body), idempotent=idempotent or None)
