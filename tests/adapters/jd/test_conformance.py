"""The conformance kit, run against the JD adapter and a fake JOS shop.

The kit's default samples act on the first request listed, so the shop
here lists refund applications only (no ``vender_id``); service orders
have their own tests.
"""

from __future__ import annotations

import pytest
import responses
from aftersales_jd import JdMarketplace

from aftersales.testing import MarketplaceConformance

from .conftest import NOW, FakeJdShop, FakeJos, make_settings


class TestJdConformance(MarketplaceConformance):
    adapter_class = JdMarketplace

    @pytest.fixture
    def marketplace(self, lenient_http: responses.RequestsMock) -> JdMarketplace:
        FakeJdShop(FakeJos(lenient_http))
        return JdMarketplace(make_settings(), clock=lambda: NOW)
