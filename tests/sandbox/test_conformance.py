"""The adapter conformance kit, run against the sandbox marketplace and carrier."""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.interfaces import Capability
from aftersales.models import (
    Refund,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    TrackQuery,
)
from aftersales.sandbox import SIGNATURE_HEADER, SandboxCarrier, SandboxMarketplace
from aftersales.testing import (
    CarrierConformance,
    CarrierSamples,
    MarketplaceConformance,
    MarketplaceSamples,
    PushKind,
)


def _returns(shop: SandboxMarketplace) -> list[ReturnRequest]:
    return [r for page in shop.list_returns() for r in page.items]


def _pick(shop: SandboxMarketplace, statuses: set[ReturnStatus],
          kinds: set[ReturnKind] | None = None) -> ReturnRequest:
    for r in _returns(shop):
        if r.status in statuses and (kinds is None or r.kind in kinds):
            return r
    raise LookupError(f"no sandbox request in {statuses}")


def _approved_exchange(shop: SandboxMarketplace) -> ReturnRequest:
    """An approved exchange: one the world holds, else a requested one approved here.

    The world's mix of kinds grows with the platforms' kinds, so a small shop
    need not hold an approved exchange of its own.
    """
    try:
        return _pick(shop, {ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED},
                     {ReturnKind.EXCHANGE})
    except LookupError:
        requested = _pick(shop, {ReturnStatus.REQUESTED}, {ReturnKind.EXCHANGE})
    shop.approve_return(requested)
    return _pick(shop, {ReturnStatus.APPROVED}, {ReturnKind.EXCHANGE})


class TestSandboxMarketplaceConformance(MarketplaceConformance):
    """Every check of the kit, on a fresh 100-order shop with small pages."""

    adapter_class = SandboxMarketplace
    min_pages = 3

    @pytest.fixture
    def marketplace(self) -> Any:
        return SandboxMarketplace(seed=0, orders=100, page_size=5)

    def samples(self, marketplace: Any, capability: Capability) -> MarketplaceSamples:
        """A request in the status each action needs, since the sandbox keeps state."""
        s = super().samples(marketplace, capability)
        shop: SandboxMarketplace = marketplace
        goods = {ReturnKind.RETURN, ReturnKind.EXCHANGE}
        if capability in (Capability.APPROVE_RETURN, Capability.REJECT_RETURN):
            s.return_request = _pick(shop, {ReturnStatus.REQUESTED})
        elif capability is Capability.CONFIRM_RETURN_RECEIVED:
            s.return_request = _pick(shop, {ReturnStatus.RETURN_SHIPPED}, goods)
        elif capability is Capability.REFUND:
            request = _pick(shop, {ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED},
                            {ReturnKind.REFUND_ONLY, ReturnKind.RETURN})
            assert request.requested_amount is not None
            s.return_request = request
            s.refund = Refund(order_id=request.order_id, amount=request.requested_amount,
                              idempotency_key="conformance-refund")
        elif capability is Capability.SHIP_EXCHANGE:
            s.return_request = _approved_exchange(shop)
            s.shipment = Shipment(tracking_number=shop.new_tracking_number("sf"), carrier="sf")
        return s


class TestSandboxCarrierConformance(CarrierConformance):
    """Every check of the kit, on a carrier sharing a shop's clock."""

    adapter_class = SandboxCarrier

    @pytest.fixture
    def carrier(self) -> Any:
        return SandboxMarketplace(seed=0, orders=60).carrier()

    def _numbers(self, carrier: SandboxCarrier) -> list[str]:
        shop = SandboxMarketplace(seed=0, orders=60, clock=carrier.clock)
        return [s.tracking_number for p in shop.list_orders() for o in p.items
                for s in o.shipments]

    def track_queries(self, carrier: Any) -> list[TrackQuery]:
        numbers = self._numbers(carrier)
        assert len(numbers) > carrier.batch_size
        return [TrackQuery(number=n) for n in numbers[: carrier.batch_size + 1]]

    def samples(self, carrier: Any) -> CarrierSamples:
        number = self._numbers(carrier)[0]
        return CarrierSamples(number=number, push=carrier.make_push([number]))

    def make_push(self, kind: PushKind) -> tuple[bytes, dict[str, str]]:
        carrier = SandboxMarketplace(seed=0, orders=10).carrier()
        body, headers = carrier.make_push([self._numbers(carrier)[0]])
        if kind == "bad":
            headers[SIGNATURE_HEADER] = "0" * 64
        elif kind == "missing":
            del headers[SIGNATURE_HEADER]
        return body, headers
