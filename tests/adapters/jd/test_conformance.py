"""The conformance kit, run against the JD adapter and a fake JOS shop.

The kit's default samples act on the first request listed, so the shop
here lists refund applications only (no ``vender_id``); service orders
have their own tests.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import responses
from aftersales_jd import JdMarketplace

from aftersales.interfaces import Capability
from aftersales.models import Refund, ReturnStatus
from aftersales.testing import MarketplaceConformance, MarketplaceSamples

from .conftest import NOW, FakeJdShop, FakeJos, make_settings


class TestJdConformance(MarketplaceConformance):
    adapter_class = JdMarketplace

    @pytest.fixture
    def marketplace(self, lenient_http: responses.RequestsMock) -> JdMarketplace:
        FakeJdShop(FakeJos(lenient_http))
        return JdMarketplace(make_settings(), clock=lambda: NOW)


class TestJdServiceOrderConformance(MarketplaceConformance):
    """The kit against a shop that lists service orders and registers their goods.

    With ``vender_id`` and the shop's ``receive_codes`` the adapter declares
    ``confirm_return_received``; one service order awaits its goods (10005
    待收货), the request the kit's samples choose to receive. Refunds are paid
    against refund applications only, so the refund sample is one of those.
    """

    adapter_class = JdMarketplace

    @pytest.fixture
    def marketplace(self, lenient_http: responses.RequestsMock) -> JdMarketplace:
        shop = FakeJdShop(FakeJos(lenient_http))
        shop.service(7700101).update(serviceStatus=10005)
        codes = {"packingState": 10, "qualityState": 20, "invoiceRecord": 30,
                 "judgmentReason": 4, "accessoryOrGift": 5, "appearanceState": 60}
        return JdMarketplace(make_settings(vender_id="10086", receive_codes=codes),
                             clock=lambda: NOW)

    def samples(self, marketplace: Any, capability: Capability) -> MarketplaceSamples:
        samples = super().samples(marketplace, capability)
        if capability is not Capability.REFUND:
            return samples
        request = next(r for p in marketplace.list_returns() for r in p.items
                       if (r.external_id or "").startswith("refund-")
                       and r.status is ReturnStatus.REQUESTED)
        amount = request.requested_amount or samples.refund.amount
        return replace(samples, return_request=request, order_id=request.order_id,
                       refund=Refund(order_id=request.order_id, amount=amount,
                                     idempotency_key=f"conformance-{request.external_id}"))
