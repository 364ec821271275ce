"""The conformance kit, run against the sandbox marketplace and carrier.

This run leans on the kit's defaults (status tables read from the classes,
samples picked from the shop's own listings by state); the sandbox's own
``tests/sandbox/test_conformance.py`` picks its samples by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from aftersales.interfaces import Capability
from aftersales.models import ReturnKind, Shipment, ShipmentDirection, TrackQuery
from aftersales.sandbox import SIGNATURE_HEADER, SandboxCarrier, SandboxMarketplace
from aftersales.testing import (
    CarrierConformance,
    MarketplaceConformance,
    MarketplaceSamples,
    PushKind,
)


class TestSandboxMarketplaceConformance(MarketplaceConformance):
    adapter_class = SandboxMarketplace

    @pytest.fixture
    def marketplace(self) -> SandboxMarketplace:
        return SandboxMarketplace(seed=0, orders=40, page_size=7)

    def samples(self, marketplace: Any, capability: Capability) -> MarketplaceSamples:
        samples = super().samples(marketplace, capability)
        if capability is Capability.SHIP_EXCHANGE:
            # No exchange of this seed is received yet: take one through the
            # states on the shop first, as a merchant would.
            request = samples.return_request
            assert request.kind is ReturnKind.EXCHANGE
            marketplace.approve_return(request)
            marketplace.confirm_return_received(request)
            samples.shipment = Shipment(tracking_number=marketplace.new_tracking_number("sf"),
                                        carrier="sf", direction=ShipmentDirection.EXCHANGE)
        return samples


class TestSandboxCarrierConformance(CarrierConformance):
    adapter_class = SandboxCarrier

    @pytest.fixture
    def carrier(self) -> SandboxCarrier:
        return SandboxCarrier(seed=0, batch_size=5)

    def track_queries(self, carrier: SandboxCarrier) -> list[TrackQuery]:
        shop = SandboxMarketplace(seed=0, orders=1, clock=carrier.clock)
        return [TrackQuery(number=shop.new_tracking_number("sf"))
                for _ in range(carrier.batch_size + 1)]

    def make_push(self, kind: PushKind) -> tuple[bytes, Mapping[str, str]]:
        carrier = SandboxCarrier(seed=0)
        number = self.track_queries(carrier)[0].number
        body, headers = carrier.make_push([number])
        if kind == "bad":
            headers[SIGNATURE_HEADER] = carrier.sign(body + b" ")
        elif kind == "missing":
            del headers[SIGNATURE_HEADER]
        return body, headers
