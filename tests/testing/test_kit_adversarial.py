"""Adapters broken the way adapter authors really break them fail the conformance kit.

Each broken toy is a subclass of the sound toys the kit's own tests use;
the kit must fail it with a message that names what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from aftersales.errors import RemoteRejectedError
from aftersales.interfaces import Capability
from aftersales.models import (
    Buyer,
    Money,
    Order,
    OrderLine,
    Page,
    ParcelStatus,
    Refund,
    ReturnRequest,
    ReturnStatus,
    Tracking,
    TrackingEvent,
    TrackQuery,
    TrackResult,
)
from tests.testing import test_carrier_kit as carrier_kit
from tests.testing import test_marketplace_kit as marketplace_kit
from tests.testing.test_carrier_kit import ToyCarrier
from tests.testing.test_marketplace_kit import ToyMarketplace


def _raw(request: ReturnRequest, **fields: Any) -> ReturnRequest:
    """The request rebuilt without validation, as an adapter using model_construct does."""
    return ReturnRequest.model_construct(**{**dict(request), **fields})


class _Rebuilt(ToyMarketplace):
    fields: ClassVar[dict[str, Any]] = {}

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        for page in super().list_returns(cursor):
            items = [_raw(r, **self.fields) for r in page.items]
            yield Page[ReturnRequest].model_construct(items=items, cursor=page.cursor)


class NaiveTimes(_Rebuilt):
    fields: ClassVar[dict[str, Any]] = {"updated_at": datetime(2025, 7, 1, 12, 0)}


class FloatMoney(_Rebuilt):
    fields: ClassVar[dict[str, Any]] = {"requested_amount": Money.model_construct(amount=9.9, currency="CNY")}


class NaNMoney(_Rebuilt):
    fields: ClassVar[dict[str, Any]] = {"requested_amount": Money.model_construct(amount=Decimal("NaN"), currency="CNY")}


class NegativeMoney(ToyMarketplace):
    def __init__(self) -> None:
        super().__init__()
        for r in self.requests:
            r.requested_amount = Money("-9.90", "CNY")


class OffEnumStatus(_Rebuilt):
    fields: ClassVar[dict[str, Any]] = {"status": "approved_by_seller"}


class NumericIds(_Rebuilt):
    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        for page in super().list_returns(cursor):
            items = [_raw(r, external_id=int(str(r.external_id)[1:]) + 1000) for r in page.items]
            yield Page[ReturnRequest].model_construct(items=items, cursor=page.cursor)


class EndlessEmptyPages(ToyMarketplace):
    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        yield from super().list_returns(cursor)
        while True:
            yield Page[ReturnRequest](items=[], cursor="end")


@pytest.mark.parametrize(
    ("toy", "message"),
    [
        (NaiveTimes, r"ReturnRequest r0.*updated_at.*timezone"),
        (FloatMoney, r"ReturnRequest r0.*requested_amount.*float"),
        (NaNMoney, r"ReturnRequest r0.*requested_amount.*finite"),
        (NegativeMoney, r"ReturnRequest r0.*requested_amount is negative"),
        (OffEnumStatus, r"ReturnRequest r0.*status"),
        (NumericIds, r"ReturnRequest 1000.*external_id.*string"),
        (EndlessEmptyPages, "does it ever end"),
    ],
)
def test_listing_of_bad_values_fails_the_kit(toy: type[ToyMarketplace], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        marketplace_kit.TestToyPassesTheKit().test_listing_resumes_from_every_cursor(
            toy(), Capability.LIST_RETURNS)


class RefundInFen(ToyMarketplace):
    """Reads the platform's answer in fen and forgets to divide."""

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        paid = super().refund(refund, request)
        return paid.model_copy(update={"amount": Money(paid.amount.amount * 100, "CNY")})


class RefundInAnotherCurrency(ToyMarketplace):
    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        paid = super().refund(refund, request)
        return paid.model_copy(update={"amount": Money(paid.amount.amount, "USD")})


class RefundLinesInAnotherCurrency(ToyMarketplace):
    """Pays in CNY but books the shipping part in the shop's USD."""

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        paid = super().refund(refund, request)
        return paid.model_copy(update={"shipping": Money("1.00", "USD")})


class AsksInTheShopCurrency(ToyMarketplace):
    """Serves orders in USD while their return requests ask CNY."""

    capabilities = ToyMarketplace.capabilities | {Capability.GET_ORDER}

    def get_order(self, order_id: str) -> Order:
        return Order(
            marketplace=self.name, external_id=order_id, currency="USD",
            buyer=Buyer(external_id="b1"), shipping=Money("0", "USD"),
            discount=Money("0", "USD"), total=Money("9.90", "USD"),
            lines=[OrderLine(external_id="l0", sku="s", quantity=1,
                             unit_price=Money("9.90", "USD"))],
            placed_at=datetime(2025, 7, 1, tzinfo=UTC),
            updated_at=datetime(2025, 7, 1, tzinfo=UTC))


class ApprovesOnce(ToyMarketplace):
    """The platform answers a second approval 'already approved'; the adapter raises it."""

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        if str(request.external_id) in self.approved:
            raise RemoteRejectedError("already approved", adapter=self.name)
        super().approve_return(request, note=note)


class ReadsAStaleCopy(ApprovesOnce):
    """Refuses a second approval, and its get_return() answers from a stale cache."""

    capabilities = ApprovesOnce.capabilities | {Capability.GET_RETURN}

    def get_return(self, external_id: str) -> ReturnRequest:
        return next(r for r in self.requests if r.external_id == external_id)


class ApprovesOnceButTells(ReadsAStaleCopy):
    """Refuses a second approval, but get_return() shows the request approved."""

    def get_return(self, external_id: str) -> ReturnRequest:
        found = super().get_return(external_id)
        if external_id in self.approved:
            return found.model_copy(update={"status": ReturnStatus.APPROVED})
        return found


def test_a_refused_second_approval_passes_when_get_return_shows_it_done() -> None:
    marketplace_kit.TestToyPassesTheKit().test_capability(
        ApprovesOnceButTells(), Capability.APPROVE_RETURN)


@pytest.mark.parametrize(
    ("toy", "capability", "message"),
    [
        (RefundInFen, Capability.REFUND, r"refund\(\) returned 990.* asked 9.90"),
        (RefundInAnotherCurrency, Capability.REFUND, r"refund\(\) returned .*USD.* asked .*CNY"),
        (RefundLinesInAnotherCurrency, Capability.REFUND,
         r"Refund pay-1 mixes currencies \['CNY', 'USD'\]: amount CNY, shipping USD"),
        (AsksInTheShopCurrency, Capability.GET_ORDER,
         r"ReturnRequest r0 asks CNY but its order o0 is in USD"),
        (ApprovesOnce, Capability.APPROVE_RETURN,
         r"second identical approve_return\(r0\) raised RemoteRejectedError.*declare get_return"),
        (ReadsAStaleCopy, Capability.APPROVE_RETURN, r"get_return\(\) shows it requested"),
    ],
)
def test_operation_misbehaviour_fails_the_kit(
    toy: type[ToyMarketplace], capability: Capability, message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        marketplace_kit.TestToyPassesTheKit().test_capability(toy(), capability)


class AnswersUnaskedNumbers(ToyCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        results = super().track(queries)
        extra = TrackQuery(number="NOT-ASKED")
        return [*results[:-1],
                TrackResult(query=extra, tracking=Tracking(carrier="sf", number="NOT-ASKED"))]


class AnswersOutOfOrder(ToyCarrier):
    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return list(reversed(super().track(queries)))


@pytest.mark.parametrize(
    ("toy", "message"),
    [
        (AnswersUnaskedNumbers, "NOT-ASKED"),
        (AnswersOutOfOrder, r"out of order"),
    ],
)
def test_carrier_misbehaviour_fails_the_kit(toy: type[ToyCarrier], message: str) -> None:
    kit = carrier_kit.TestToyCarrierPassesTheKit()
    carrier = toy()
    with pytest.raises(AssertionError, match=message):
        kit.test_track_respects_batch_size(carrier)


class PagesOfThree(ToyMarketplace):
    """Documents pages of two and serves three."""

    page_size = 3


def test_a_page_over_the_documented_size_fails_the_kit() -> None:
    kit = marketplace_kit.TestToyPassesTheKit()
    kit.max_page_size = 2  # type: ignore[misc]
    kit.test_listing_resumes_from_every_cursor(ToyMarketplace(), Capability.LIST_RETURNS)
    with pytest.raises(AssertionError, match=r"over the documented size 2.*\(0, 3\)"):
        kit.test_listing_resumes_from_every_cursor(PagesOfThree(), Capability.LIST_RETURNS)


class NaiveScanTimes(ToyCarrier):
    """Builds its scans with model_construct and forgets the provider's zone."""

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        scan = TrackingEvent.model_construct(
            time=datetime(2025, 7, 1, 8, 30), status=ParcelStatus.IN_TRANSIT, description="")
        return [r.model_copy(update={"tracking": r.tracking.model_copy(update={"events": [scan]})})
                for r in super().track(queries) if r.tracking is not None]


def test_a_naive_scan_time_fails_the_carrier_kit() -> None:
    kit = carrier_kit.TestToyCarrierPassesTheKit()
    with pytest.raises(AssertionError, match=r"TrackResult.*tracking.events.0.time.*timezone"):
        kit.test_capability(NaiveScanTimes(), Capability.TRACK)
