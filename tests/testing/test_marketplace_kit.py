"""The marketplace conformance kit passes a sound toy adapter and fails broken ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, field_serializer

from aftersales.errors import UnsupportedOperationError
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    Money,
    Page,
    Refund,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    Shipment,
)
from aftersales.testing import (
    MARKETPLACE_CAPABILITIES,
    MarketplaceConformance,
    MarketplaceSamples,
    check_capability_declared,
    check_capability_undeclared,
    check_resume,
    check_round_trip,
    check_status_mapping,
    default_marketplace_samples,
)

T0 = datetime(2025, 7, 1, tzinfo=UTC)
RAW = {"open": ReturnStatus.REQUESTED, "ok": ReturnStatus.APPROVED, "done": ReturnStatus.CLOSED}


def _request(i: int, name: str = "toy") -> ReturnRequest:
    return ReturnRequest(
        marketplace=name,
        order_id=f"o{i}",
        kind=ReturnKind.REFUND_ONLY,
        lines=[ReturnLine(order_line_id=f"l{i}", quantity=1)],
        external_id=f"r{i}",
        raw_status="open",
        requested_amount=Money("9.90", "CNY"),
        updated_at=T0 + timedelta(minutes=i),
    )


class ToyMarketplace(MarketplaceBase):
    """A sound in-memory marketplace: seven requests served two per page."""

    name = "toy"
    capabilities = frozenset({Capability.LIST_RETURNS, Capability.APPROVE_RETURN,
                              Capability.REFUND})
    raw_return_statuses: ClassVar[tuple[str, ...]] = tuple(RAW)
    return_status_table = RAW
    page_size = 2

    def __init__(self) -> None:
        self.requests = [_request(i, self.name) for i in range(7)]
        self.approved: list[str] = []
        self.paid: list[str] = []

    def _start(self, cursor: str | None) -> int:
        return 0 if cursor is None else int(cursor)

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """Pages of two; the cursor is the index after the page."""
        start = self._start(cursor)
        while start < len(self.requests):
            end = start + self.page_size
            yield Page[ReturnRequest](items=self.requests[start:end], cursor=str(end))
            start = end

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """Record the approval, once: approving an approved request changes nothing."""
        if str(request.external_id) not in self.approved:
            self.approved.append(str(request.external_id))

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """Pay and return the recorded refund."""
        self.paid.append(refund.idempotency_key)
        return refund.model_copy(update={"external_id": f"pay-{len(self.paid)}"})


class TestToyPassesTheKit(MarketplaceConformance):
    """The kit, run the way an adapter's test module runs it."""

    adapter_class = ToyMarketplace

    @pytest.fixture
    def marketplace(self) -> ToyMarketplace:
        return ToyMarketplace()


def test_kit_covers_every_marketplace_capability() -> None:
    assert set(MARKETPLACE_CAPABILITIES) == {
        c for c in Capability if c not in {Capability.DETECT_CARRIER, Capability.TRACK,
                                           Capability.PUSH}
    }


def test_declared_operations_really_ran() -> None:
    toy = ToyMarketplace()
    samples = default_marketplace_samples(toy)
    check_capability_declared(toy, Capability.APPROVE_RETURN, samples)
    check_capability_declared(toy, Capability.REFUND, samples)
    assert toy.approved == ["r0"]
    assert toy.paid == ["conformance-r0"]


# ---------------------------------------------------------------- broken toys


class DeclaresWhatItCannot(ToyMarketplace):
    capabilities = ToyMarketplace.capabilities | {Capability.REJECT_RETURN}


class DoesWhatItDoesNotDeclare(ToyMarketplace):
    def ship_exchange(self, request: ReturnRequest, shipment: Shipment) -> Shipment:
        return shipment


class RefusesWithTheWrongError(ToyMarketplace):
    def send_message(self, message: Any) -> Any:
        raise NotImplementedError


class NamesAnotherAdapter(ToyMarketplace):
    def get_order(self, order_id: str) -> Any:
        raise UnsupportedOperationError("someone-else", "get_order")


class RefundWithoutId(ToyMarketplace):
    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        return refund


class RepeatsOnResume(ToyMarketplace):
    def _start(self, cursor: str | None) -> int:
        return 0 if cursor is None else int(cursor) - 1


class SkipsOnResume(ToyMarketplace):
    def _start(self, cursor: str | None) -> int:
        return 0 if cursor is None else int(cursor) + 1


class RepeatsWithinOneRun(ToyMarketplace):
    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        yield from super().list_returns(cursor)
        yield Page[ReturnRequest](items=self.requests[:1], cursor=str(len(self.requests)))


class OnePageOnly(ToyMarketplace):
    page_size = 100


class NoCursor(ToyMarketplace):
    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        for page in super().list_returns(cursor):
            yield Page[ReturnRequest](items=page.items, cursor=None)


class TableMissesARow(ToyMarketplace):
    raw_return_statuses = (*RAW, "escalated")


class WrongMarketplaceName(ToyMarketplace):
    def __init__(self) -> None:
        super().__init__()
        self.requests = [_request(i, "other") for i in range(7)]


@pytest.mark.parametrize(
    ("toy", "capability", "message"),
    [
        (DeclaresWhatItCannot, Capability.REJECT_RETURN, "declares reject_return"),
        (DoesWhatItDoesNotDeclare, Capability.SHIP_EXCHANGE, "call succeeded"),
        (RefusesWithTheWrongError, Capability.MESSAGE_BUYER, "NotImplementedError"),
        (NamesAnotherAdapter, Capability.GET_ORDER, "someone-else"),
        (RefundWithoutId, Capability.REFUND, "external_id"),
    ],
)
def test_capability_check_fails_a_lying_adapter(
    toy: type[ToyMarketplace], capability: Capability, message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        TestToyPassesTheKit().test_capability(toy(), capability)


@pytest.mark.parametrize(
    ("toy", "message"),
    [
        (RepeatsOnResume, "repeated"),
        (SkipsOnResume, "missing"),
        (RepeatsWithinOneRun, "repeats items in one run"),
        (OnePageOnly, "serve at least 3"),
        (NoCursor, "no cursor"),
    ],
)
def test_resume_check_fails_a_leaky_cursor(toy: type[ToyMarketplace], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        TestToyPassesTheKit().test_listing_resumes_from_every_cursor(
            toy(), Capability.LIST_RETURNS
        )


def test_status_check_fails_an_unmapped_status() -> None:
    kit = TestToyPassesTheKit()
    kit.adapter_class = TableMissesARow  # type: ignore[misc]
    with pytest.raises(AssertionError, match="'escalated' raised KeyError"):
        kit.test_every_raw_return_status_maps(None)  # type: ignore[arg-type]


def test_status_check_refuses_an_empty_or_duplicated_list() -> None:
    with pytest.raises(AssertionError, match="documents no raw"):
        check_status_mapping([], RAW.__getitem__, ReturnStatus)
    with pytest.raises(AssertionError, match="listed twice"):
        check_status_mapping(["open", "open"], RAW.__getitem__, ReturnStatus)
    with pytest.raises(AssertionError, match="is not a ReturnStatus"):
        check_status_mapping(["open"], lambda r: "requested", ReturnStatus)  # type: ignore


def test_status_check_needs_a_table_or_mapper() -> None:
    class Bare(MarketplaceBase):
        raw_return_statuses = ("x",)

    kit = TestToyPassesTheKit()
    kit.adapter_class = Bare  # type: ignore[misc,assignment]
    with pytest.raises(AssertionError, match="return_status_table"):
        kit.test_every_raw_return_status_maps(None)  # type: ignore[arg-type]


def test_round_trip_fails_the_wrong_marketplace_name() -> None:
    with pytest.raises(AssertionError, match="marketplace is 'other'"):
        TestToyPassesTheKit().test_listing_resumes_from_every_cursor(
            WrongMarketplaceName(), Capability.LIST_RETURNS
        )


class Lossy(BaseModel):
    amount: Decimal

    @field_serializer("amount")
    def _rounded(self, value: Decimal) -> str:
        return str(value.quantize(Decimal("1")))


def test_round_trip_fails_a_lossy_model() -> None:
    assert check_round_trip([Lossy(amount=Decimal("2"))]) == 1
    with pytest.raises(AssertionError, match="changes through model_dump"):
        check_round_trip([Lossy(amount=Decimal("2.5"))])


def test_undeclared_check_refuses_a_declared_capability() -> None:
    toy = ToyMarketplace()
    samples = MarketplaceSamples.generic("toy")
    with pytest.raises(AssertionError, match="is declared"):
        check_capability_undeclared(toy, Capability.REFUND, samples)
    with pytest.raises(AssertionError, match="not declared"):
        check_capability_declared(toy, Capability.GET_ORDER, samples)


def test_resume_works_without_pytest_classes() -> None:
    items = check_resume(ToyMarketplace().list_returns, min_pages=4)
    assert [i.external_id for i in items] == [f"r{i}" for i in range(7)]


def test_unoverridden_fixture_fails_with_a_hint() -> None:
    fixture = MarketplaceConformance.marketplace.__wrapped__  # type: ignore[attr-defined]
    with pytest.raises(pytest.fail.Exception, match="override the `marketplace` fixture"):
        fixture(MarketplaceConformance())


def test_samples_pick_a_request_in_a_state_that_suits_the_action() -> None:
    toy = ToyMarketplace()
    states = [(ReturnStatus.CANCELLED, ReturnKind.REFUND_ONLY),
              (ReturnStatus.REQUESTED, ReturnKind.RETURN),
              (ReturnStatus.RECEIVED, ReturnKind.RETURN),
              (ReturnStatus.RECEIVED, ReturnKind.EXCHANGE),
              (ReturnStatus.RETURN_SHIPPED, ReturnKind.RETURN)]
    for request, (status, kind) in zip(toy.requests, states, strict=False):
        request.status, request.kind = status, kind
    pick = {cap: default_marketplace_samples(toy, capability=cap).return_request.external_id
            for cap in (Capability.APPROVE_RETURN, Capability.REFUND,
                        Capability.SHIP_EXCHANGE, Capability.CONFIRM_RETURN_RECEIVED,
                        Capability.LIST_SHIPMENTS)}
    assert pick == {Capability.APPROVE_RETURN: "r1", Capability.REFUND: "r2",
                    Capability.SHIP_EXCHANGE: "r3", Capability.CONFIRM_RETURN_RECEIVED: "r4",
                    Capability.LIST_SHIPMENTS: "r0"}
