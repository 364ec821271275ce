"""The WooCommerce adapter passes the conformance kit every adapter runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings

from aftersales.interfaces import Capability
from aftersales.models import Message, Refund, ReturnKind, ReturnLine, ReturnRequest
from aftersales.money import Money
from aftersales.testing import MarketplaceConformance, MarketplaceSamples

from .conftest import KEY, SECRET
from .fake_woocommerce import FakeStore


class TestWooCommerceConformance(MarketplaceConformance):
    adapter_class = WooCommerceMarketplace
    currency = "USD"

    @pytest.fixture
    def marketplace(self) -> Iterator[WooCommerceMarketplace]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            FakeStore(mock)
            yield WooCommerceMarketplace(
                WooCommerceSettings(url="https://example.com", consumer_key=KEY,
                                    consumer_secret=SECRET, page_size=2),
                sleep=lambda _: None)

    def samples(self, marketplace: Any, capability: Capability) -> MarketplaceSamples:
        """Returns are the library's own here, so the sample request is one on order 3."""
        samples = super().samples(marketplace, capability)
        if capability in marketplace.capabilities:
            samples.return_request = ReturnRequest(
                marketplace="woocommerce", order_id="3", kind=ReturnKind.RETURN,
                rma_id="RMA-3", lines=[ReturnLine(order_line_id="315", quantity=1)])
            samples.refund = Refund(order_id="3", amount=Money("6.00", "USD"),
                                    idempotency_key="conformance-refund-3")
            samples.order_id = "3"
            samples.message = Message(to="buyer", body="Hello", idempotency_key="m",
                                      order_id="3")
        return samples
