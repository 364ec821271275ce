"""The Shopify adapter passes the conformance kit every adapter runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings

from aftersales.testing import MarketplaceConformance

from .conftest import TOKEN
from .fake_shopify import FakeShop


class TestShopifyConformance(MarketplaceConformance):
    adapter_class = ShopifyMarketplace
    currency = "USD"

    @pytest.fixture
    def marketplace(self) -> Iterator[ShopifyMarketplace]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            FakeShop(mock)
            yield ShopifyMarketplace(
                ShopifySettings(shop="example-shop", access_token=TOKEN, page_size=2),
                sleep=lambda _: None)
