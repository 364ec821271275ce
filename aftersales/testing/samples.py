"""Sample arguments the conformance checks pass to an adapter's operations.

A check that a declared capability works has to call it with something: a
return request to approve, a refund to pay, a review to answer. By default
they come from the adapter's own listings (the first return request, the
first review), so they are objects the mocked marketplace knows; where a
listing is not declared a generic object stands in, which is enough to show
that an undeclared operation refuses before it looks at its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from aftersales.evidence import Evidence
from aftersales.interfaces import Capability
from aftersales.models import (
    Message,
    Money,
    Refund,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
)
from aftersales.multipart import FilePart

__all__ = ["SAMPLE_PNG", "CarrierSamples", "MarketplaceSamples", "default_marketplace_samples"]

#: The smallest complete PNG (one transparent pixel): a picture every check accepts.
SAMPLE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def _generic_return(name: str) -> ReturnRequest:
    return ReturnRequest(
        marketplace=name,
        order_id="conformance-order",
        kind=ReturnKind.RETURN,
        lines=[ReturnLine(order_line_id="conformance-line", quantity=1)],
        external_id="conformance-return",
    )


def _generic_review(name: str) -> Review:
    return Review(
        marketplace=name,
        external_id="conformance-review",
        rating=3,
        created_at=_EPOCH,
        updated_at=_EPOCH,
    )


@dataclass
class MarketplaceSamples:
    """Arguments for every marketplace operation.

    Attributes:
        return_request: approved, rejected, refunded or exchanged by the checks.
        refund: paid by the ``refund`` check (against ``return_request``).
        review: answered by the ``reply_review`` check.
        order_id: read by ``get_order`` and ``list_shipments``.
        message: sent by the ``send_message`` check.
        shipment: the replacement parcel for ``ship_exchange``.
        evidence: what ``submit_evidence`` uploads (a text and a small PNG).
        extension: what ``extend_deadline`` asks for (``None``: the platform's own).
    """

    return_request: ReturnRequest
    refund: Refund
    review: Review
    order_id: str
    message: Message
    shipment: Shipment = field(
        default_factory=lambda: Shipment(tracking_number="CONFORMANCE0001", carrier="sf")
    )
    evidence: Evidence = field(default_factory=lambda: Evidence(
        "conformance evidence", (FilePart("proof.png", SAMPLE_PNG, "image/png"),)))
    extension: timedelta | None = None

    @classmethod
    def generic(cls, name: str, currency: str = "CNY") -> MarketplaceSamples:
        """Stand-in samples that reach no real object of the marketplace."""
        request = _generic_return(name)
        return cls(
            return_request=request,
            refund=Refund(
                order_id=request.order_id,
                amount=Money(Decimal("1.00"), currency),
                idempotency_key="conformance-refund",
            ),
            review=_generic_review(name),
            order_id=request.order_id,
            message=Message(to="conformance-buyer", body="Hello", idempotency_key="conf-msg"),
        )


@dataclass
class CarrierSamples:
    """Arguments for every carrier operation.

    Attributes:
        number: a tracking number the mocked provider answers for.
        carrier: its carrier code, when the provider needs one.
        push: a correctly signed push notification (body, headers).
    """

    number: str = "SF1234567890123"
    carrier: str | None = None
    push: tuple[bytes, Mapping[str, str]] = (b"{}", {})


def _first(pages: Any) -> Any:
    for page in pages:
        if page.items:
            return page.items[0]
    return None


#: For each action, the request states it is tried on, most suitable first
#: (and the kind it needs, if any).
_SUITS: dict[Capability, tuple[tuple[ReturnStatus, ...], ReturnKind | None]] = {
    Capability.APPROVE_RETURN: ((ReturnStatus.REQUESTED,), None),
    Capability.REJECT_RETURN: ((ReturnStatus.REQUESTED,), None),
    Capability.CONFIRM_RETURN_RECEIVED: (
        (ReturnStatus.RETURN_SHIPPED, ReturnStatus.APPROVED), None),
    Capability.REFUND: (
        (ReturnStatus.RECEIVED, ReturnStatus.APPROVED, ReturnStatus.RETURN_SHIPPED,
         ReturnStatus.REQUESTED), None),
    Capability.SHIP_EXCHANGE: ((ReturnStatus.RECEIVED,), ReturnKind.EXCHANGE),
    Capability.LIST_REFUSAL_REASONS: ((ReturnStatus.REQUESTED,), None),
    Capability.SUBMIT_EVIDENCE: ((ReturnStatus.REQUESTED, ReturnStatus.REJECTED), None),
}


def _extendable(requests: list[ReturnRequest]) -> ReturnRequest | None:
    for request in requests:
        if request.platform_deadline is not None and request.platform_deadline.extendable:
            return request
    return None


def _suited(requests: list[ReturnRequest], capability: Capability | None) -> ReturnRequest:
    statuses, kind = _SUITS.get(capability, ((), None)) if capability else ((), None)
    for status in statuses:
        for request in requests:
            if request.status is status and (kind is None or request.kind is kind):
                return request
    same_kind = [r for r in requests if kind is None or r.kind is kind]
    return (same_kind or requests)[0]


def default_marketplace_samples(
    adapter: Any, currency: str = "CNY", capability: Capability | None = None
) -> MarketplaceSamples:
    """Samples taken from the adapter's own listings where it declares them.

    The return request is a listed one in a state that suits ``capability``
    (a requested one to approve, a received exchange to ship, …), else the
    first listed; it sets the order id and the refund's amount. The first
    listed review becomes ``review``; a message goes to the order's buyer
    when the adapter can read orders. Everything else is generic.
    """
    samples = MarketplaceSamples.generic(adapter.name, currency)
    caps = adapter.capabilities
    if Capability.LIST_RETURNS in caps:
        listed = [r for page in islice(adapter.list_returns(None), 200) for r in page.items]
        if listed:
            request = _suited(listed, capability)
            if capability is Capability.EXTEND_DEADLINE:
                request = _extendable(listed) or request
            amount = request.requested_amount or samples.refund.amount
            samples.return_request = request
            samples.order_id = request.order_id
            samples.refund = Refund(
                order_id=request.order_id,
                amount=amount,
                idempotency_key=f"conformance-{request.external_id}",
            )
    elif Capability.LIST_ORDERS in caps:
        order = _first(adapter.list_orders(None))
        if order is not None:
            samples.order_id = order.external_id
    if Capability.LIST_REVIEWS in caps and capability is Capability.REPLY_REVIEW:
        review = _first(adapter.list_reviews(None))
        if review is not None:
            samples.review = review
    if capability is Capability.MESSAGE_BUYER and Capability.GET_ORDER in caps:
        buyer = adapter.get_order(samples.order_id).buyer.external_id
        samples.message = Message(to=buyer, buyer_id=buyer, order_id=samples.order_id,
                                  body="Hello", idempotency_key="conf-msg")
    return samples
