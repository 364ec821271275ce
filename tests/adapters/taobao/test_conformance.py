"""The conformance kit, run against the Taobao adapter and a fake TOP shop.

The fake verifies every request's signature and answers every call the kit
makes; each kit check builds a fresh shop.
"""

from __future__ import annotations

import pytest
import responses
from aftersales_taobao import TaobaoMarketplace

from aftersales.testing import MarketplaceConformance

from .conftest import NOW, FakeShop, FakeTop, make_settings


class TestTaobaoConformance(MarketplaceConformance):
    adapter_class = TaobaoMarketplace

    @pytest.fixture
    def marketplace(self, lenient_http: responses.RequestsMock) -> TaobaoMarketplace:
        FakeShop(FakeTop(lenient_http))  # lenient: undeclared operations call nothing
        return TaobaoMarketplace(make_settings(), clock=lambda: NOW)


class TestTmallConformance(MarketplaceConformance):
    """A Tmall shop also declares replies to ratings."""

    adapter_class = TaobaoMarketplace

    @pytest.fixture
    def marketplace(self, lenient_http: responses.RequestsMock) -> TaobaoMarketplace:
        FakeShop(FakeTop(lenient_http))
        return TaobaoMarketplace(make_settings(tmall=True), clock=lambda: NOW)
