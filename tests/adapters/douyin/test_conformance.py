"""The conformance kit, run against the Douyin adapter and a fake Douyin shop.

The fake verifies every request's signature and answers every call the kit
makes; each kit check builds a fresh shop.
"""

from __future__ import annotations

import pytest
import responses
from aftersales_douyin import DouyinMarketplace

from aftersales.testing import MarketplaceConformance

from .conftest import NOW, FakeDoudian, FakeShop, make_settings


class TestDouyinConformance(MarketplaceConformance):
    adapter_class = DouyinMarketplace

    @pytest.fixture
    def marketplace(self, lenient_http: responses.RequestsMock) -> DouyinMarketplace:
        FakeShop(FakeDoudian(lenient_http))  # lenient: undeclared operations call nothing
        return DouyinMarketplace(make_settings(), clock=lambda: NOW)
