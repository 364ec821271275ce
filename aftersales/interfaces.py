"""The common interface every adapter implements.

Three kinds of adapter plug into the core:

* a :class:`Marketplace` (Shopify, WooCommerce, Taobao, the sandbox, …) where
  orders, return requests and reviews come from and where actions go back;
* a :class:`Carrier`, a tracking provider (Kuaidi100, 17TRACK, AfterShip, …);
* a :class:`Channel`, the way a message reaches a buyer or the shop's staff.

Each adapter declares its :class:`Capability` set; nothing is inferred from
which methods happen to exist. The services call :func:`require` before an
operation, so an operation the adapter cannot do raises
:class:`~aftersales.errors.UnsupportedOperationError` naming both, never a
silent no-op.

Listings are incremental and streamed: each returns an iterator of
:class:`~aftersales.models.Page` objects whose ``cursor`` resumes the listing
right after that page. Pass ``None`` to start from the beginning.

Construction: every adapter takes the same keyword arguments,
``settings=`` (its settings model; read from the environment when omitted),
``api=`` (a ready :class:`~aftersales.http.ApiClient`, for tests and
custom transports) and ``name=`` (the store's name, see
:mod:`aftersales.naming`; the adapter's kind by default), plus test hooks
such as ``sleep=`` or ``clock=``. So every adapter can be built with no
arguments, the registry can build one from a name in configuration, and two
stores of one kind are two instances with two names.

:class:`MarketplaceBase`, :class:`CarrierBase` and :class:`ChannelBase` give
adapters the default behaviour of raising ``UnsupportedOperationError`` for
every operation they do not override, so an adapter writes only what its
marketplace can do.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from aftersales.errors import UnsupportedOperationError, ValidationError
from aftersales.models import (
    Message,
    Order,
    Page,
    PlatformDeadline,
    Receipt,
    Refund,
    RefusalReason,
    ReturnRequest,
    Review,
    Shipment,
    Tracking,
    TrackQuery,
    TrackResult,
)
from aftersales.naming import adapter_name

if TYPE_CHECKING:
    from aftersales.evidence import Evidence

__all__ = [
    "Capability",
    "Carrier",
    "CarrierBase",
    "Channel",
    "ChannelBase",
    "Marketplace",
    "MarketplaceBase",
    "require",
]


class Capability(StrEnum):
    """An operation an adapter declares it can perform."""

    # marketplace
    LIST_ORDERS = "list_orders"
    GET_ORDER = "get_order"
    LIST_RETURNS = "list_returns"
    #: optional: ``get_return(external_id)``, one request as the marketplace has it now
    GET_RETURN = "get_return"
    APPROVE_RETURN = "approve_return"
    REJECT_RETURN = "reject_return"
    CONFIRM_RETURN_RECEIVED = "confirm_return_received"
    REFUND = "refund"
    SHIP_EXCHANGE = "ship_exchange"
    LIST_REVIEWS = "list_reviews"
    REPLY_REVIEW = "reply_review"
    MESSAGE_BUYER = "message_buyer"
    LIST_SHIPMENTS = "list_shipments"
    LIST_REFUSAL_REASONS = "list_refusal_reasons"
    SUBMIT_EVIDENCE = "submit_evidence"
    EXTEND_DEADLINE = "extend_deadline"
    # carrier
    DETECT_CARRIER = "detect_carrier"
    TRACK = "track"
    PUSH = "push"


class _Adapter(Protocol):
    name: str
    capabilities: frozenset[Capability]


def require(adapter: _Adapter, capability: Capability) -> None:
    """Raise ``UnsupportedOperationError`` unless ``adapter`` declares ``capability``."""
    if capability not in adapter.capabilities:
        raise UnsupportedOperationError(adapter.name, capability.value)


@runtime_checkable
class Marketplace(Protocol):
    """Where orders, return requests and reviews live, and where actions go back.

    Attributes:
        name: the store's name (``"shopify-eu"``); the adapter's registered
            kind (``"shopify"``) when it was built without one.
        capabilities: the operations this adapter performs.
    """

    name: str
    capabilities: frozenset[Capability]

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """Orders created or changed after ``cursor``, oldest change first.

        Raises:
            RemoteError: the marketplace failed after the retry layer gave up.
        """
        ...

    def get_order(self, order_id: str) -> Order:
        """One order by the marketplace's id.

        Raises:
            RemoteNotFoundError: the marketplace has no such order.
        """
        ...

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """Return, exchange and refund requests created or changed after ``cursor``."""
        ...

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """Accept the request on the marketplace."""
        ...

    def reject_return(
        self, request: ReturnRequest, *, reason: str, note: str | None = None,
        reason_code: str | None = None, evidence: Evidence | None = None,
    ) -> None:
        """Refuse the request on the marketplace, giving ``reason`` to the buyer.

        ``reason_code`` is one of :meth:`refusal_reasons`' codes where the
        marketplace wants one; ``evidence`` (text and pictures) goes with the
        refusal where the marketplace takes it. An adapter that cannot send
        them raises ``ValidationError`` naming the argument, never drops them.
        """
        ...

    def refusal_reasons(self, request: ReturnRequest) -> list[RefusalReason]:
        """The reasons the marketplace lets the shop refuse this request for, by code."""
        ...

    def submit_evidence(self, request: ReturnRequest, evidence: Evidence) -> None:
        """Upload the shop's evidence (text and pictures) to the request."""
        ...

    def extend_deadline(
        self, request: ReturnRequest, by: timedelta | None = None
    ) -> PlatformDeadline:
        """Ask the marketplace for more time on its deadline; returns the new deadline.

        ``by`` is how much more time where the marketplace lets the shop
        choose (``None``: the marketplace's own extension).
        """
        ...

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """Tell the marketplace the returned goods arrived."""
        ...

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """Pay money back; ``refund.idempotency_key`` makes a retry pay once.

        Returns:
            The refund as the marketplace recorded it (``external_id`` set).
        """
        ...

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """Look for a refund this library already sent, before sending it again.

        Called when an earlier :meth:`refund` of ``refund`` may have reached
        the marketplace (its answer was lost: a timeout, a reset, a 5xx, an
        HTML error page) and before anything is sent again. Every adapter
        that declares ``REFUND`` implements it and says in its docstring how
        it matches: by ``refund.idempotency_key`` (or one of ``keys``, the
        keys of the request's earlier attempts) where the platform stores a
        key, otherwise by the amount, the lines and the time (not before
        ``refund.created_at``), skipping refunds whose ids are in ``exclude``
        (those the store already recorded).

        Returns:
            The refund found (its ``idempotency_key`` says which key it
            paid), or ``None`` when the marketplace surely has none, so
            sending it is safe.

        Raises:
            RemoteError: the marketplace could not be asked, or its answer
                cannot tell; the refund stays pending.
        """
        ...

    def ship_exchange(self, request: ReturnRequest, shipment: Shipment) -> Shipment:
        """Record the replacement parcel of an exchange on the marketplace."""
        ...

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        """Reviews created or changed (edited, appended, replied) after ``cursor``."""
        ...

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        """Post the shop's public reply to a review; returns the reply's id.

        Called again after an unknown outcome only when the adapter's
        ``reply_idempotent`` (on :class:`MarketplaceBase`, default ``False``)
        says the platform answers the same ``idempotency_key`` with the first
        reply; otherwise the earlier attempt is settled with the adapter's
        ``find_reply(review) -> str | None`` where it has one, or by a person.
        An error of a call made before the post (a state check) carries
        ``sent_nothing = True``: the attempt is dropped, not left to settle.
        """
        ...

    def send_message(self, message: Message) -> Receipt:
        """Send a message to the buyer through the marketplace's own messaging."""
        ...

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """The parcels of one order, with their tracking numbers."""
        ...


@runtime_checkable
class Carrier(Protocol):
    """A tracking provider.

    Attributes:
        name: the instance's name; the adapter's registered kind
            (``"kuaidi100"``) when it was built without one.
        capabilities: the operations this adapter performs.
        batch_size: how many numbers one ``track`` call may carry.
        carriers: the carrier codes it can track, or ``None`` for any.
    """

    name: str
    capabilities: frozenset[Capability]
    batch_size: int
    carriers: frozenset[str] | None

    def detect(self, number: str) -> list[str]:
        """Carrier codes the number may belong to, most likely first."""
        ...

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """Look up at most ``batch_size`` numbers in one call: one result per query, in
        the queries' order.

        An unknown number comes back as a pending tracking, and a number the
        provider refused comes back with ``error`` set: one bad number never
        fails the batch. An item of the provider's answer that no number owns
        (it has no readable number) is handed back on a
        :class:`~aftersales.logistics.tracking.TrackAnswer`'s ``unowned``, one
        line each, so the refresh reports it instead of dropping it.

        Raises:
            AuthenticationError: the provider refused the credentials.
            RateLimitError: the provider throttled the call or the quota ran out.
        """
        ...

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """Verify and parse a push notification.

        Raises:
            SignatureError: the signature is missing or wrong.
            ValidationError: the body is not a payload this provider sends.
        """
        ...


@runtime_checkable
class Channel(Protocol):
    """How a message reaches a buyer or the shop's staff."""

    name: str

    def send(self, message: Message) -> Receipt:
        """Deliver one message; a repeated ``idempotency_key`` is not sent twice
        where the channel can tell.

        Raises:
            TransientError: the channel may accept the message if tried again.
            RemoteRejectedError: the channel refused the message for good.
        """
        ...


class MarketplaceBase:
    """A base for marketplace adapters: every operation is unsupported until overridden."""

    name: str = "marketplace"
    capabilities: frozenset[Capability] = frozenset()
    #: every raw status the marketplace documents, for the conformance kit.
    raw_return_statuses: ClassVar[tuple[str, ...]] = ()
    #: whether ``reply_review`` called again with the same ``idempotency_key`` answers
    #: with the first reply instead of posting a second; ``True`` only where the
    #: platform dedupes by key (say why in the adapter's docstring).
    reply_idempotent: ClassVar[bool] = False
    #: whether ``refund`` can only pay the amount on the buyer's request (the platform's
    #: agree call takes no amount): a refund of any other amount is refused before it is
    #: claimed (see :mod:`aftersales.asked_refunds`).
    pays_asked: ClassVar[bool] = False

    def __init__(self, *, name: str | None = None) -> None:
        """Name this instance: ``name`` checked as a store name, the class's ``name`` by default."""
        self.name = adapter_name(name, type(self).name)

    @property
    def kind(self) -> str:
        """The adapter's registered kind (``"shopify"``), whatever this instance is named."""
        return type(self).name

    def _unsupported(self, operation: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(self.name, operation)

    def list_orders(self, cursor: str | None = None) -> Iterator[Page[Order]]:
        """See :meth:`Marketplace.list_orders`."""
        raise self._unsupported("list_orders")

    def get_order(self, order_id: str) -> Order:
        """See :meth:`Marketplace.get_order`."""
        raise self._unsupported("get_order")

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        """See :meth:`Marketplace.list_returns`."""
        raise self._unsupported("list_returns")

    def get_return(self, external_id: str) -> ReturnRequest:
        """One return request by the marketplace's id, as it stands there now.

        Optional (declared as ``GET_RETURN``): the returns area asks it, where
        declared, whether an approval or refusal whose answer was lost was
        done before sending it again (:mod:`aftersales.returns.remote_lookup`).
        The request's ``status`` must be current, not a cached copy.

        Raises:
            UnsupportedOperationError: the marketplace cannot fetch one request
                (the default).
            RemoteNotFoundError: it has no such request.
            RemoteError: it could not be asked.
        """
        raise self._unsupported("get_return")

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        """See :meth:`Marketplace.approve_return`."""
        raise self._unsupported("approve_return")

    def reject_return(
        self, request: ReturnRequest, *, reason: str, note: str | None = None,
        reason_code: str | None = None, evidence: Evidence | None = None,
    ) -> None:
        """See :meth:`Marketplace.reject_return`."""
        raise self._unsupported("reject_return")

    def refusal_reasons(self, request: ReturnRequest) -> list[RefusalReason]:
        """See :meth:`Marketplace.refusal_reasons`."""
        raise self._unsupported("list_refusal_reasons")

    def submit_evidence(self, request: ReturnRequest, evidence: Evidence) -> None:
        """See :meth:`Marketplace.submit_evidence`."""
        raise self._unsupported("submit_evidence")

    def extend_deadline(
        self, request: ReturnRequest, by: timedelta | None = None
    ) -> PlatformDeadline:
        """See :meth:`Marketplace.extend_deadline`."""
        raise self._unsupported("extend_deadline")

    def confirm_return_received(self, request: ReturnRequest) -> None:
        """See :meth:`Marketplace.confirm_return_received`."""
        raise self._unsupported("confirm_return_received")

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        """See :meth:`Marketplace.refund`."""
        raise self._unsupported("refund")

    def find_refund(
        self, refund: Refund, request: ReturnRequest | None = None, *,
        keys: Sequence[str] = (), exclude: Collection[str] = (),
    ) -> Refund | None:
        """See :meth:`Marketplace.find_refund`."""
        raise self._unsupported("find_refund")

    def ship_exchange(self, request: ReturnRequest, shipment: Shipment) -> Shipment:
        """See :meth:`Marketplace.ship_exchange`."""
        raise self._unsupported("ship_exchange")

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        """See :meth:`Marketplace.list_reviews`."""
        raise self._unsupported("list_reviews")

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        """See :meth:`Marketplace.reply_review`."""
        raise self._unsupported("reply_review")

    def find_reply(self, review: Review) -> str | None:
        """The id of the shop's reply the review has on the marketplace now, or ``None``.

        Optional: an adapter implements it only where the platform can say
        (``None`` must mean "surely no reply", so sending is safe). It settles
        an attempt of :meth:`reply_review` whose answer was lost when
        ``reply_idempotent`` is ``False``.

        Raises:
            UnsupportedOperationError: the platform cannot tell (the default).
            RemoteNotFoundError: the marketplace no longer shows the review, so
                it cannot tell either.
            RemoteError: the marketplace could not be asked.
        """
        raise self._unsupported("find_reply")

    def send_message(self, message: Message) -> Receipt:
        """See :meth:`Marketplace.send_message`."""
        raise self._unsupported("send_message")

    def list_shipments(self, order_id: str) -> list[Shipment]:
        """See :meth:`Marketplace.list_shipments`."""
        raise self._unsupported("list_shipments")


class CarrierBase:
    """A base for tracking-provider adapters: unsupported until overridden."""

    name: str = "carrier"
    capabilities: frozenset[Capability] = frozenset()
    batch_size: int = 1
    carriers: frozenset[str] | None = None

    def __init__(self, *, name: str | None = None) -> None:
        """Name this instance: ``name`` checked as a store name, the class's ``name`` by default."""
        self.name = adapter_name(name, type(self).name)

    @property
    def kind(self) -> str:
        """The adapter's registered kind (``"shopify"``), whatever this instance is named."""
        return type(self).name

    def detect(self, number: str) -> list[str]:
        """See :meth:`Carrier.detect`."""
        raise UnsupportedOperationError(self.name, "detect_carrier")

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        """See :meth:`Carrier.track`."""
        raise UnsupportedOperationError(self.name, "track")

    def check_batch(self, queries: Sequence[TrackQuery]) -> None:
        """Refuse more than :attr:`batch_size` queries in one :meth:`track` call, before
        any request: the provider would refuse the whole batch, or drop the rest.

        Raises:
            ValidationError: too many queries (names ``queries`` and the adapter).
        """
        if len(queries) > self.batch_size:
            unit = "number" if self.batch_size == 1 else "numbers"
            raise ValidationError(f"at most {self.batch_size} {unit} per call",
                                  field="queries", payload=self.name)

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        """See :meth:`Carrier.parse_push`."""
        raise UnsupportedOperationError(self.name, "push")


class ChannelBase:
    """A base for channels; subclasses implement :meth:`send`."""

    name: str = "channel"

    def __init__(self, *, name: str | None = None) -> None:
        """Name this instance: ``name`` checked as a store name, the class's ``name`` by default."""
        self.name = adapter_name(name, type(self).name)

    @property
    def kind(self) -> str:
        """The adapter's registered kind (``"shopify"``), whatever this instance is named."""
        return type(self).name

    def send(self, message: Message) -> Receipt:
        """See :meth:`Channel.send`."""
        raise UnsupportedOperationError(self.name, "send")
