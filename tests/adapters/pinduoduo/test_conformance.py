"""The conformance kit, run against the Pinduoduo adapter and a fake mall.

The fake verifies every request's signature and answers every call the kit
makes; each kit check builds a fresh mall.
"""

from __future__ import annotations

import pytest
import responses
from aftersales_pinduoduo import PinduoduoMarketplace

from aftersales.testing import MarketplaceConformance

from .conftest import NOW, FakeMall, FakeRouter, make_settings


class TestPinduoduoConformance(MarketplaceConformance):
    adapter_class = PinduoduoMarketplace

    @pytest.fixture
    def marketplace(self, lenient_http: responses.RequestsMock) -> PinduoduoMarketplace:
        FakeMall(FakeRouter(lenient_http), exchange=True)
        return PinduoduoMarketplace(make_settings(), clock=lambda: NOW)
