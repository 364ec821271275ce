"""The core's data models, shared by every area and every adapter.

Adapters turn a marketplace's payload into these; services work only on
these; the store persists them. They are pydantic v2 models, so bad data is
refused at the door with an error naming the field. Datetimes must be
timezone-aware; money is :class:`~aftersales.money.Money`.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime as PydanticAwareDatetime
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aftersales.errors import CurrencyMismatchError
from aftersales.money import Money
from aftersales.redact import mask_address, mask_email, mask_phone

__all__ = [
    "KIND_FLOWS",
    "Attachment",
    "AwareDatetime",
    "Buyer",
    "FollowUp",
    "FollowUpStatus",
    "FulfilmentStage",
    "InspectionResult",
    "Message",
    "Money",
    "Order",
    "OrderLine",
    "Page",
    "ParcelIssue",
    "ParcelStatus",
    "PlatformDeadline",
    "PlatformDispute",
    "PlatformRefund",
    "Receipt",
    "Refund",
    "RefundLine",
    "RefundedLine",
    "RefusalReason",
    "ReturnKind",
    "ReturnLine",
    "ReturnReason",
    "ReturnRequest",
    "ReturnStatus",
    "Review",
    "ReviewVisibility",
    "RiskSignal",
    "Sentiment",
    "Shipment",
    "ShipmentDirection",
    "TaxLine",
    "TrackQuery",
    "TrackResult",
    "Tracking",
    "TrackingEvent",
]


#: A datetime that must carry a time zone; naive datetimes are refused
#: ("Input should have timezone info"). pydantic checks it in its core, with
#: no Python call per value: trackings carry thousands of event times.
AwareDatetime = PydanticAwareDatetime


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


# ---------------------------------------------------------------- statuses


class ReturnStatus(StrEnum):
    """Where a return, exchange or refund-only request stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURN_SHIPPED = "return_shipped"
    RECEIVED = "received"
    REFUNDED = "refunded"
    EXCHANGE_SHIPPED = "exchange_shipped"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ReturnKind(StrEnum):
    """What the buyer wants: money back only, money back for goods, a swap, or
    the kinds the Chinese marketplaces add: price protection (价保, the
    difference paid back after a price drop), reship (补寄, the shop sends what
    was missing) and repair (维修, the goods go back, are repaired and return).

    Which way goods and money travel for each kind is :data:`KIND_FLOWS`.
    """

    REFUND_ONLY = "refund_only"
    RETURN = "return"
    EXCHANGE = "exchange"
    PRICE_PROTECTION = "price_protection"  # 价保
    RESHIP = "reship"  # 补寄
    REPAIR = "repair"  # 维修

    @property
    def goods_back(self) -> bool:
        """True when the buyer sends goods back to the shop (return, exchange, repair)."""
        return self in KIND_FLOWS["goods_back"]

    @property
    def goods_out(self) -> bool:
        """True when the shop sends goods to the buyer (exchange, reship, repair)."""
        return self in KIND_FLOWS["goods_out"]

    @property
    def pays(self) -> bool:
        """True when the request is for money (refund-only, return, price protection)."""
        return self in KIND_FLOWS["pays"]


#: Which way goods and money travel for each kind: the one table the state
#: machine, the SLA and eligibility read, so a new kind is added here once.
KIND_FLOWS: dict[str, frozenset[ReturnKind]] = {
    "goods_back": frozenset({ReturnKind.RETURN, ReturnKind.EXCHANGE, ReturnKind.REPAIR}),
    "goods_out": frozenset({ReturnKind.EXCHANGE, ReturnKind.RESHIP, ReturnKind.REPAIR}),
    "pays": frozenset({ReturnKind.REFUND_ONLY, ReturnKind.RETURN, ReturnKind.PRICE_PROTECTION}),
}


class FulfilmentStage(StrEnum):
    """How far the order had gone when the buyer asked: kept so a refund before
    shipment (未发货仅退款, in effect a cancellation) is never counted or
    handled as an after-delivery return.
    """

    NOT_SHIPPED = "not_shipped"  # the shop had not sent the goods yet
    SHIPPED = "shipped"  # on the way, not received by the buyer
    DELIVERED = "delivered"  # the buyer had the goods


class ReturnReason(StrEnum):
    """A small canonical taxonomy of why a buyer returns; raw text is kept beside it."""

    WRONG_SIZE = "wrong_size"
    QUALITY_ISSUE = "quality_issue"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    NOT_AS_DESCRIBED = "not_as_described"
    WRONG_ITEM = "wrong_item"
    MISSING_ITEM = "missing_item"
    NO_REASON = "no_reason"  # 七天无理由
    CHANGED_MIND = "changed_mind"
    LATE_DELIVERY = "late_delivery"
    OTHER = "other"


class InspectionResult(StrEnum):
    """What the warehouse found when a returned unit arrived."""

    RESELLABLE = "resellable"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    MISSING = "missing"


class ParcelStatus(StrEnum):
    """Where a parcel is, whichever carrier or provider reported it."""

    PENDING = "pending"
    INFO_RECEIVED = "info_received"
    PICKED_UP = "picked_up"  # 揽收
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    FAILED_ATTEMPT = "failed_attempt"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNING = "returning"  # 退回, on its way back
    RETURNED = "returned"  # back with the sender
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True when no further event is expected (no need to query again)."""
        return self in _TERMINAL_PARCEL


_TERMINAL_PARCEL = frozenset({ParcelStatus.DELIVERED, ParcelStatus.RETURNED, ParcelStatus.EXPIRED})


class ParcelIssue(StrEnum):
    """Why a parcel is in exception."""

    DELAYED = "delayed"
    LOST = "lost"
    DAMAGED = "damaged"
    REFUSED = "refused"
    ADDRESS = "address"
    CUSTOMS = "customs"
    HELD = "held"
    OTHER = "other"


class ShipmentDirection(StrEnum):
    """Which way a parcel travels."""

    OUTBOUND = "outbound"
    RETURN = "return"
    EXCHANGE = "exchange"


class FollowUpStatus(StrEnum):
    """The life of one scheduled follow-up visit (回访)."""

    SCHEDULED = "scheduled"
    CLAIMED = "claimed"
    SENT = "sent"
    RESPONDED = "responded"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReviewVisibility(StrEnum):
    """Whether shoppers can see a review, after the marketplace's moderation.

    ``None`` on a review means the marketplace does not say. A shop never
    replies publicly to a hidden review.
    """

    PUBLISHED = "published"
    PENDING = "pending"  # awaiting moderation: shown or not by the shop's own setting
    HIDDEN = "hidden"  # taken off the storefront (hidden by the shop, spam, trash)


class Sentiment(StrEnum):
    """The tone of a review."""

    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


# ---------------------------------------------------------------- people and orders


class Buyer(_Model):
    """The person who bought; contact fields are masked in every repr."""

    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    timezone: str | None = None
    locale: str | None = None

    def __repr_args__(self) -> Any:
        masked = {
            "email": mask_email(self.email),
            "phone": mask_phone(self.phone),
            "address": mask_address(self.address),
            "name": (self.name[:1] + "***") if self.name else self.name,
        }
        for key, value in super().__repr_args__():
            yield key, masked.get(key, value) if key else value

    def __str__(self) -> str:
        return f"Buyer({self.external_id})"


class TaxLine(_Model):
    """One tax charged on an order line or on shipping, as the platform itemises it.

    ``rate_id`` is the platform's own id of the rate where it has one
    (WooCommerce's tax rate id, which its refund body names); ``title`` and
    ``rate`` are for people (``"State Tax"``, ``0.06``).
    """

    amount: Money
    rate_id: str | None = None
    title: str = ""
    rate: Decimal | None = None


def _tax_sum(taxes: list[TaxLine], currency: str) -> Money:
    return sum((t.amount for t in taxes), Money.zero(currency))


class OrderLine(_Model):
    """One line of an order: a SKU, a quantity, what was charged for it and its tax.

    ``taxes`` is the tax charged on the whole line after discounts. Whether
    ``unit_price`` already contains it is the order's ``taxes_included``.
    """

    external_id: str
    sku: str
    title: str = ""
    category: str | None = None
    quantity: int = Field(ge=1)
    unit_price: Money
    discount: Money | None = None  # the line's own discount, before any order-level one
    taxes: list[TaxLine] = Field(default_factory=list)

    @property
    def gross(self) -> Money:
        """Unit price times quantity, before discounts."""
        return self.unit_price * self.quantity

    @property
    def net(self) -> Money:
        """What the line cost after its own discount (order-level discounts excluded)."""
        return self.gross - self.discount if self.discount else self.gross

    @property
    def tax(self) -> Money:
        """The line's tax, all rates together (zero when untaxed)."""
        return _tax_sum(self.taxes, self.unit_price.currency)


class Shipment(_Model):
    """A parcel: an outbound delivery, a buyer's return or an exchange replacement."""

    tracking_number: str = Field(min_length=1)
    carrier: str | None = None
    direction: ShipmentDirection = ShipmentDirection.OUTBOUND
    external_id: str | None = None
    shipped_at: AwareDatetime | None = None
    line_ids: list[str] = Field(default_factory=list)

    @field_validator("carrier")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else value


class RefundedLine(_Model):
    """What one refund the platform reports gave back for one order line.

    ``amount`` is all the money returned for the line, its tax included;
    ``tax`` is the tax inside it.
    """

    order_line_id: str
    quantity: int = Field(ge=0)
    amount: Money
    tax: Money | None = None


class PlatformRefund(_Model):
    """A refund the platform reports on the order, whoever made it.

    Refunds made outside the library (in the shop's admin or the seller
    console) are only known this way, so the refund caps subtract them;
    the library's own refunds are recognised by ``external_id`` (the id
    the platform gave the refund) and never counted twice.

    ``lines`` and ``shipping`` (shipping tax included) are what the platform
    attributes; ``other`` is money it returned without naming a line or the
    shipping (an amount-only refund, a discrepancy). ``amount`` is the whole.
    """

    external_id: str = Field(min_length=1)
    amount: Money
    lines: list[RefundedLine] = Field(default_factory=list)
    shipping: Money | None = None
    other: Money | None = None
    created_at: AwareDatetime | None = None


class Order(_Model):
    """An order as the marketplace reports it.

    Every amount is in ``currency``: the currency the buyer paid in, which is
    the one a refund is paid in. Where the platform also reports the shop's
    own currency (Shopify's shop money beside presentment money),
    ``shop_currency`` and ``shop_total`` keep it; the two are never mixed.

    ``taxes_included`` says whether line prices and shipping already contain
    their tax (VAT-style, and every Chinese marketplace) or the tax comes on
    top (US sales tax): the buyer paid ``total`` either way.

    ``refunds`` are the refunds the platform reports on the order (the
    library's own and those made elsewhere); ``total`` stays what was paid.
    """

    marketplace: str
    external_id: str
    buyer: Buyer
    currency: str
    lines: list[OrderLine] = Field(min_length=1)
    shipping: Money
    discount: Money  # order-level discount, spread over lines for refunds
    total: Money
    raw_status: str | None = None
    placed_at: AwareDatetime
    updated_at: AwareDatetime
    delivered_at: AwareDatetime | None = None
    shipments: list[Shipment] = Field(default_factory=list)
    taxes_included: bool = False
    shipping_taxes: list[TaxLine] = Field(default_factory=list)
    shop_currency: str | None = None  # the shop's own currency, when the buyer paid in another
    shop_total: Money | None = None  # ``total`` in the shop's currency
    refunds: list[PlatformRefund] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_currency(self) -> Order:
        cur = self.currency
        amounts = [self.shipping, self.discount, self.total,
                   *(t.amount for t in self.shipping_taxes)]
        for line in self.lines:
            amounts += [line.unit_price, *([line.discount] if line.discount else []),
                        *(t.amount for t in line.taxes)]
        for refund in self.refunds:
            amounts += [refund.amount, *(m for m in (refund.shipping, refund.other) if m),
                        *(ln.amount for ln in refund.lines),
                        *(ln.tax for ln in refund.lines if ln.tax)]
        for money in amounts:
            if money.currency != cur:
                raise CurrencyMismatchError(
                    f"order {self.external_id} is in {cur} but has an amount in "
                    f"{money.currency}", field="currency", payload="order")
        if self.shop_total is not None and self.shop_total.currency != (
                self.shop_currency or self.shop_total.currency):
            raise CurrencyMismatchError(
                f"order {self.external_id}: shop_total is not in {self.shop_currency}",
                field="shop_total", payload="order")
        return self

    @property
    def shipping_tax(self) -> Money:
        """The tax on shipping, all rates together."""
        return _tax_sum(self.shipping_taxes, self.currency)

    @property
    def tax(self) -> Money:
        """All tax on the order: every line's and the shipping's."""
        return sum((line.tax for line in self.lines), self.shipping_tax)

    def line(self, external_id: str) -> OrderLine:
        """The line with that id; ``KeyError`` when there is none."""
        for line in self.lines:
            if line.external_id == external_id:
                return line
        raise KeyError(external_id)


# ---------------------------------------------------------------- returns


class ReturnLine(_Model):
    """One order line (or part of it) in a return request, with its own reason."""

    order_line_id: str
    sku: str | None = None
    quantity: int = Field(ge=1)
    reason: ReturnReason = ReturnReason.OTHER
    reason_text: str | None = None  # the marketplace's or buyer's own words, always kept
    replacement_sku: str | None = None  # for exchanges: the size or colour wanted instead


class PlatformDeadline(_Model):
    """A deadline the marketplace itself runs on a request (逾期时间), beside the
    shop's own SLA deadline: when it passes the platform acts (Douyin agrees
    a refund the shop left unanswered, for instance).

    ``status`` is the request's status the deadline guards (when the
    request moves on, a synced copy replaces it); ``extendable`` says whether
    the marketplace lets the shop ask for more time; ``extensions`` counts
    the times the shop did.
    """

    due_at: AwareDatetime
    status: ReturnStatus
    raw_status: str | None = None
    extendable: bool = False
    extensions: int = Field(default=0, ge=0)


class RiskSignal(_Model):
    """The marketplace's own risk verdict on a request (Douyin's ``risk_decision_*``),
    kept for people and rules to weigh; the library never acts on it alone.
    """

    code: str
    reason: str | None = None
    description: str | None = None


class PlatformDispute(_Model):
    """The marketplace's own dispute (仲裁, platform intervention) on a request.

    ``status`` is the marketplace's raw state (Douyin's ``arbitrate_status``);
    ``open`` says whether the platform is still deciding (the shop may have
    to give evidence); ``external_id`` is the dispute's own id where given.
    """

    status: str
    open: bool
    external_id: str | None = None


class RefusalReason(_Model):
    """One reason a marketplace lets the shop give to refuse a request, chosen by ``code``.

    ``needs_evidence`` is true when the marketplace wants pictures with it.
    """

    code: str = Field(min_length=1)
    text: str = ""
    tips: str | None = None
    needs_evidence: bool = False


class ReturnRequest(_Model):
    """A buyer's request for a refund, a return or an exchange.

    ``external_id`` is the marketplace's id (``None`` for requests made in the
    shop's own portal); ``rma_id`` is the library's, set once stored.
    ``stage`` is how far the order had gone when the buyer asked (``None``
    when the marketplace does not say); ``platform_deadline`` is the
    marketplace's own deadline on it; ``risk`` its risk verdict; ``dispute``
    the platform's dispute on it, if any.
    """

    marketplace: str
    order_id: str  # the marketplace's order id
    kind: ReturnKind
    lines: list[ReturnLine] = Field(min_length=1)
    status: ReturnStatus = ReturnStatus.REQUESTED
    raw_status: str | None = None
    external_id: str | None = None
    rma_id: str | None = None
    requested_amount: Money | None = None
    buyer_note: str | None = None
    evidence: list[str] = Field(default_factory=list)
    return_tracking_number: str | None = None
    return_carrier: str | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    stage: FulfilmentStage | None = None
    platform_deadline: PlatformDeadline | None = None
    risk: RiskSignal | None = None
    dispute: PlatformDispute | None = None


class RefundLine(_Model):
    """The part of a refund that pays back one order line.

    ``amount`` is all that goes back for the line, its tax included;
    ``tax`` is the tax inside it, split over the line's rates in ``taxes``.
    """

    order_line_id: str
    quantity: int = Field(ge=0)
    amount: Money
    tax: Money | None = None
    taxes: list[TaxLine] = Field(default_factory=list)


class Refund(_Model):
    """Money sent back to a buyer, or the instruction to send it.

    ``amount`` is the whole refund in the currency the marketplace refunds in
    (the buyer's). ``shipping`` and ``shipping_tax`` are the original
    shipping and its tax; ``tax`` is all tax inside ``amount``.
    ``taxes_included`` repeats the order's flag, so an adapter knows whether
    a line's tax is on top of its goods or inside them.
    """

    order_id: str
    amount: Money
    lines: list[RefundLine] = Field(default_factory=list)
    shipping: Money | None = None
    note: str | None = None
    idempotency_key: str
    external_id: str | None = None
    raw_status: str | None = None
    created_at: AwareDatetime | None = None
    tax: Money | None = None
    shipping_tax: Money | None = None
    shipping_taxes: list[TaxLine] = Field(default_factory=list)
    taxes_included: bool = False


# ---------------------------------------------------------------- logistics


class TrackingEvent(_Model):
    """One scan or status change in a parcel's journey.

    ``time_inferred`` is true when the provider gave a local time without an
    offset and the zone was inferred (from the scan's place or country).
    """

    time: AwareDatetime
    status: ParcelStatus
    description: str = ""
    location: str | None = None
    raw_code: str | None = None
    time_inferred: bool = False


class Tracking(_Model):
    """A parcel's current status and its events, oldest first.

    ``push_stopped`` is true when a push says the provider stopped watching
    the number (Kuaidi100 ``shutdown``/``abort``, 17TRACK ``TRACKING_STOPPED``):
    no more pushes will come, so a parcel not yet at a final state is
    refreshed by query instead. A stop notice that carries no tracking has
    no ``raw_status`` and no events, and changes nothing else.
    """

    carrier: str | None
    number: str
    status: ParcelStatus = ParcelStatus.PENDING
    issue: ParcelIssue | None = None
    events: list[TrackingEvent] = Field(default_factory=list)
    delivered_at: AwareDatetime | None = None
    provider: str | None = None
    raw_status: str | None = None
    push_stopped: bool = False

    @field_validator("events")
    @classmethod
    def _ordered(cls, events: list[TrackingEvent]) -> list[TrackingEvent]:
        return sorted(events, key=lambda e: e.time)


class TrackQuery(_Model):
    """One number to look up, with what the provider may need beside it."""

    number: str = Field(min_length=1)
    carrier: str | None = None
    phone_suffix: str | None = None  # some carriers (SF) want the last 4 digits


class TrackResult(_Model):
    """The answer for one number of a batch: a tracking or the error for that number."""

    query: TrackQuery
    tracking: Tracking | None = None
    error: str | None = None
    error_code: str | None = None


# ---------------------------------------------------------------- reviews


class Review(_Model):
    """A buyer's review (评价) of an order line, as the marketplace reports it."""

    marketplace: str
    external_id: str
    rating: int = Field(ge=1, le=5)
    body: str = ""
    title: str | None = None
    sku: str | None = None
    order_id: str | None = None
    order_line_id: str | None = None
    return_id: str | None = None  # the marketplace's return request id, where it links one
    tracking_number: str | None = None  # the parcel reviewed, where the marketplace says
    author: str | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    appended_body: str | None = None  # 追评, the buyer's follow-up review
    appended_at: AwareDatetime | None = None
    reply: str | None = None  # the seller's reply, if any
    images: list[str] = Field(default_factory=list)
    visibility: ReviewVisibility | None = None  # the moderation state, where the platform says


# ---------------------------------------------------------------- follow-ups and channels


class FollowUp(_Model):
    """A scheduled follow-up visit (回访) as callers see it."""

    id: int | None = None
    plan: str
    channel: str
    due_at: AwareDatetime
    status: FollowUpStatus = FollowUpStatus.SCHEDULED
    buyer_id: str
    order_id: str | None = None
    rma_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    marketplace: str | None = None  # the store of the order or return it is about


class Attachment(_Model):
    """A text file sent with a message (the weekly report's HTML): name, type, content."""

    filename: str
    content_type: str = "text/plain"
    content: str


class Message(_Model):
    """A rendered message on its way to a buyer or to the shop's staff."""

    to: str  # an address the channel understands: e-mail, URL, buyer id
    subject: str = ""
    body: str
    idempotency_key: str
    buyer_id: str | None = None
    order_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: files sent with it, where the channel can (e-mail attaches them, the outbox keeps them)
    attachments: list[Attachment] = Field(default_factory=list)

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            yield key, (mask_email(value) if key == "to" and isinstance(value, str) else value)


class Receipt(_Model):
    """Proof that a channel accepted a message."""

    channel: str
    message_id: str
    accepted_at: AwareDatetime


# ---------------------------------------------------------------- paging

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of an incremental listing.

    ``cursor`` is opaque to the core: passing it back to the same listing
    resumes right after this page, missing and repeating nothing.
    """

    items: list[T]
    cursor: str | None = None
