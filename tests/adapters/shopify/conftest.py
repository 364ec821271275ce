"""Shared pieces of the Shopify adapter tests: fixtures, a settings object, a GraphQL fake."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://example-shop.myshopify.com/admin/api/2026-01"
GRAPHQL = f"{BASE}/graphql.json"
TOKEN = "shpat_test_token"
#: The ``pageInfo`` of a connection read whole (the adapter asks whether more follow).
NO_MORE: dict[str, Any] = {"hasNextPage": False}


def fx(name: str) -> dict[str, Any]:
    """A reference fixture envelope."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def body(name: str) -> Any:
    """The response body of a fixture."""
    return fx(name)["response"]["body"]


def rest_url(name: str) -> str:
    """A fixture's REST URL, moved to the pinned API version."""
    return re.sub(r"/admin/api/[^/]+/", "/admin/api/2026-01/", fx(name)["request"]["url"])


class Sleeps(list[float]):
    """Records the waits the retry layer asks for, so tests never sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def settings() -> ShopifySettings:
    return ShopifySettings(shop="example-shop", access_token=TOKEN, webhook_secret="hush",
                           page_size=2)


@pytest.fixture
def market(settings: ShopifySettings, sleeps: Sleeps) -> ShopifyMarketplace:
    return ShopifyMarketplace(settings, sleep=sleeps)


Reply = tuple[int, dict[str, str], Any]


class GraphQL:
    """A fake GraphQL endpoint: replies queued per operation name, requests recorded."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.queue: dict[str, list[Reply | Callable[[dict[str, Any]], Reply]]] = {}
        self.seen: list[dict[str, Any]] = []
        mock.add_callback(responses.POST, GRAPHQL, callback=self._answer)

    def reply(self, operation: str, payload: Any, status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        """Queue one reply for the next request naming ``operation``."""
        self.queue.setdefault(operation, []).append(
            (status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
             payload))

    def reply_with(self, operation: str, fn: Callable[[dict[str, Any]], Reply]) -> None:
        """Queue a function that builds the reply from the request."""
        self.queue.setdefault(operation, []).append(fn)

    def ops(self) -> list[str]:
        """The operation names received, in order."""
        return [self._op(r["query"]) for r in self.seen]

    @staticmethod
    def _op(query: str) -> str:
        m = re.search(r"(?:query|mutation)\s+(\w+)", query)
        return m.group(1) if m else ""

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body)
        self.seen.append(sent)
        queued = self.queue.get(self._op(sent["query"])) or []
        assert queued, f"unexpected GraphQL operation {self._op(sent['query'])}"
        item = queued.pop(0)
        status, headers, payload = item(sent) if callable(item) else item
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return status, headers, text


@pytest.fixture
def gql(http: responses.RequestsMock) -> GraphQL:
    return GraphQL(http)
