"""Shared pieces of the WooCommerce adapter tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://example.com/wp-json/wc/v3"
KEY, SECRET = "ck_test_key_1234", "cs_test_secret_5678"


def fx(name: str) -> dict[str, Any]:
    """A reference fixture envelope."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def body(name: str) -> Any:
    """The response body of a fixture."""
    return fx(name)["response"]["body"]


class Sleeps(list[float]):
    """Records the waits the retry layer asks for, so tests never sleep."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def settings() -> WooCommerceSettings:
    return WooCommerceSettings(url="https://example.com", consumer_key=KEY,
                               consumer_secret=SECRET, webhook_secret="wc-secret-0123",
                               page_size=2)


@pytest.fixture
def market(settings: WooCommerceSettings, sleeps: Sleeps) -> WooCommerceMarketplace:
    return WooCommerceMarketplace(settings, sleep=sleeps)
