"""Tolerant wire models of the Shopify payloads the adapter reads.

Only the fields the adapter uses are declared; everything else is ignored,
so a new field in a later API version never breaks a sync. REST and webhook
payloads are snake_case, GraphQL is camelCase: each model follows its wire.

Ids, quantities, amounts and times are read through the core's wire types
(:mod:`aftersales.wire`): a NUL or 100 kB id, a flag for a quantity, a
negative or exponent amount, a naive or epoch time is refused by name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftersales.errors import ResponseParseError
from aftersales.wire import (
    AwareTime,
    SignedWireAmount,
    WireAmount,
    WireCount,
    WireId,
    WireIntId,
)

__all__ = [
    "FAILED_TRANSACTION",
    "Connection",
    "GqlListedRefund",
    "GqlReasonDefinition",
    "GqlRefund",
    "GqlRefundLine",
    "GqlRefundTransaction",
    "GqlReturn",
    "GqlReturnLineItem",
    "GqlReverseFulfillmentOrder",
    "GqlReverseLine",
    "MoneySet",
    "OrderReturns",
    "PageInfo",
    "RestFulfillment",
    "RestLineItem",
    "RestOrder",
    "RestOrderAdjustment",
    "RestRefund",
    "RestRefundLineItem",
    "RestRefundShippingLine",
    "RestRefundTransaction",
    "RestSuggestedRefund",
    "RestTaxLine",
    "UserError",
    "WebhookFulfillment",
    "WebhookReturn",
    "WebhookReturnLine",
]

N = TypeVar("N")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# ---------------------------------------------------------------- GraphQL


class PageInfo(_Wire):
    """Relay pagination state."""

    hasNextPage: bool = False
    endCursor: str | None = None


class Connection(_Wire, Generic[N]):
    """A GraphQL connection read through ``nodes`` (or ``edges { node }``)."""

    nodes: list[N] = Field(default_factory=list)
    pageInfo: PageInfo = Field(default_factory=PageInfo)

    @model_validator(mode="before")
    @classmethod
    def _edges(cls, data: Any) -> Any:
        # Shopify's own examples select ``edges { node }``; read them as nodes.
        if isinstance(data, dict) and "nodes" not in data and isinstance(data.get("edges"), list):
            nodes = [e.get("node") if isinstance(e, dict) else e for e in data["edges"]]
            return {**data, "nodes": nodes}
        return data

    def _told(self, what: str) -> None:
        """Refuse an answer without the ``pageInfo`` asked for: whether more follow is unknown."""
        if "pageInfo" not in self.model_fields_set:
            raise ResponseParseError(f"the answer does not say whether {what} has more "
                                     f"than the {len(self.nodes)} read", adapter="shopify",
                                     code="NO_PAGE_INFO")

    def next_token(self, what: str) -> str | None:
        """The ``endCursor`` to read the rest of ``what`` from, ``None`` on its last page.

        Raises:
            ResponseParseError: Shopify says more follow but gives no cursor to read
                them from (the rest would be dropped unread), or the answer has no
                ``pageInfo``.
        """
        self._told(what)
        if not self.pageInfo.hasNextPage:
            return None
        if not self.pageInfo.endCursor:
            raise ResponseParseError(f"{what} has more than the {len(self.nodes)} read, "
                                     "and no cursor to read them from", adapter="shopify",
                                     code="NO_END_CURSOR")
        return self.pageInfo.endCursor

    def whole(self, what: str) -> list[N]:
        """The nodes, when they are all there is of ``what``.

        Raises:
            ResponseParseError: ``pageInfo.hasNextPage``: ``what`` is longer than
                the page read, and acting on part of it would drop the rest unseen;
                or the answer has no ``pageInfo`` (asked for, so its absence is no
                "no more").
        """
        self._told(what)
        if self.pageInfo.hasNextPage:
            raise ResponseParseError(f"{what} has more than the {len(self.nodes)} read",
                                     adapter="shopify", code="LONGER_THAN_READ")
        return self.nodes


class _Id(_Wire):
    id: WireId


class _LineItemRef(_Wire):
    id: WireId
    sku: str | None = None


class _FulfillmentLineItem(_Wire):
    id: WireId
    lineItem: _LineItemRef | None = None


class GqlReasonDefinition(_Wire):
    """A ``ReturnReasonDefinition`` (2026-01): a stable ``handle`` and a localized ``name``."""

    handle: str
    name: str | None = None


class GqlReturnLineItem(_Wire):
    """A ``ReturnLineItem`` (reached through ``... on ReturnLineItem``)."""

    id: WireId
    quantity: WireCount
    returnReasonDefinition: GqlReasonDefinition | None = None
    returnReason: str | None = None
    returnReasonNote: str | None = None
    customerNote: str | None = None
    fulfillmentLineItem: _FulfillmentLineItem | None = None


class _Decline(_Wire):
    reason: str | None = None
    note: str | None = None


class GqlReverseLine(_Wire):
    """A reverse fulfillment order line: what can be disposed when goods arrive."""

    id: WireId
    totalQuantity: WireCount = 0


class GqlReverseFulfillmentOrder(_Wire):
    """The reverse fulfillment order Shopify opens for an approved return."""

    id: WireId
    lineItems: Connection[GqlReverseLine] = Field(default_factory=Connection[GqlReverseLine])


class GqlReturn(_Wire):
    """A ``Return`` object."""

    id: WireId
    name: str | None = None
    status: str
    createdAt: AwareTime | None = None
    closedAt: AwareTime | None = None
    requestApprovedAt: AwareTime | None = None
    decline: _Decline | None = None
    order: _Id | None = None
    returnLineItems: Connection[GqlReturnLineItem] = Field(
        default_factory=Connection[GqlReturnLineItem])
    exchangeLineItems: Connection[_Id] = Field(default_factory=Connection[_Id])
    reverseFulfillmentOrders: Connection[GqlReverseFulfillmentOrder] = Field(
        default_factory=Connection[GqlReverseFulfillmentOrder])


class OrderReturns(_Wire):
    """An order node of the returns listing: its change time and its returns."""

    id: WireId
    updatedAt: AwareTime
    returns: Connection[GqlReturn] = Field(default_factory=Connection[GqlReturn])


class UserError(_Wire):
    """A ``UserError`` / ``ReturnUserError`` from a mutation payload."""

    field: list[str] | None = None
    message: str = ""
    code: str | None = None


class _MoneyV2(_Wire):
    amount: WireAmount
    currencyCode: str


class _MoneyBag(_Wire):
    # Non-null in the schema, but only there when selected (Shopify's own
    # refundCreate examples select presentmentMoney alone).
    shopMoney: _MoneyV2 | None = None
    presentmentMoney: _MoneyV2 | None = None


class GqlRefundTransaction(_Wire):
    """One payment transaction of a refund: its ``OrderTransactionStatus``."""

    status: str | None = None
    kind: str | None = None


#: ``OrderTransactionStatus`` values of a transaction that moved no money and never will.
FAILED_TRANSACTION = frozenset({"FAILURE", "ERROR"})


class GqlRefund(_Wire):
    """The ``Refund`` a ``refundCreate`` returns."""

    id: WireId
    note: str | None = None
    createdAt: AwareTime | None = None
    totalRefundedSet: _MoneyBag | None = None
    transactions: Connection[GqlRefundTransaction] = Field(default_factory=Connection)
    #: the order refunded, when selected (``refundCreate`` asks for it)
    order: _Id | None = None

    def declined(self) -> list[str]:
        """The statuses of its transactions when every one of them failed, else ``[]``.

        A refund whose payment transactions all ended ``FAILURE`` or
        ``ERROR`` returned no money (the gateway declined it); one with a
        ``SUCCESS``, ``PENDING`` or ``AWAITING_RESPONSE`` transaction, or
        with no transaction listed, is taken as paid.

        Raises:
            ResponseParseError: every transaction read failed but Shopify has
                more than were read (``pageInfo.hasNextPage``): an unread one
                may have paid, so "declined" cannot be told from "paid".
        """
        statuses = [(t.status or "").upper() for t in self.transactions.nodes]
        if statuses and all(s in FAILED_TRANSACTION for s in statuses):
            self.transactions.whole(f"the transactions of refund {self.id}")
            return statuses
        return []


class GqlRefundLine(_Wire):
    """One ``RefundLineItem`` of a listed refund: the order line and the quantity."""

    quantity: WireCount = 0
    lineItem: _Id | None = None


class GqlListedRefund(GqlRefund):
    """A ``Refund`` as ``Order.refunds`` lists it, with its lines (for ``find_refund``)."""

    refundLineItems: Connection[GqlRefundLine] = Field(default_factory=Connection)


# ---------------------------------------------------------------- REST


class _Money(_Wire):
    amount: SignedWireAmount
    currency_code: str


class MoneySet(_Wire):
    """A REST ``*_set``: the same amount in the shop's and in the buyer's currency."""

    shop_money: _Money
    presentment_money: _Money | None = None


class _Allocation(_Wire):
    amount: WireAmount
    amount_set: MoneySet | None = None


class RestTaxLine(_Wire):
    """A tax line of an order line or a shipping line (REST)."""

    price: WireAmount = Decimal(0)
    rate: Decimal | None = None
    title: str = ""
    price_set: MoneySet | None = None


class RestLineItem(_Wire):
    """An order line (REST)."""

    id: WireIntId
    sku: str | None = None
    title: str = ""
    name: str | None = None
    quantity: WireCount
    #: units left after removals, refunded ones included (REST 2024-01 and later)
    current_quantity: WireCount | None = None
    price: WireAmount
    price_set: MoneySet | None = None
    total_discount: WireAmount = Decimal(0)
    total_discount_set: MoneySet | None = None
    discount_allocations: list[_Allocation] = Field(default_factory=list)
    tax_lines: list[RestTaxLine] = Field(default_factory=list)
    fulfillment_line_item_id: WireIntId | None = None


class RestFulfillment(_Wire):
    """A fulfillment (REST) with its tracking numbers."""

    id: WireIntId
    order_id: WireIntId | None = None
    status: str | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_numbers: list[str] = Field(default_factory=list)
    shipment_status: str | None = None
    created_at: AwareTime | None = None
    updated_at: AwareTime | None = None
    line_items: list[RestLineItem] = Field(default_factory=list)


class _Customer(_Wire):
    id: WireIntId
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None


class _Address(_Wire):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    zip: str | None = None
    country: str | None = None


class _ShippingLine(_Wire):
    price: WireAmount = Decimal(0)
    price_set: MoneySet | None = None
    discounted_price: WireAmount | None = None
    discounted_price_set: MoneySet | None = None
    tax_lines: list[RestTaxLine] = Field(default_factory=list)


class RestRefundLineItem(_Wire):
    """One ``refund_line_items[]`` entry of a REST refund: the line, units and money."""

    line_item_id: WireIntId
    quantity: WireCount = 0
    subtotal: WireAmount = Decimal(0)
    subtotal_set: MoneySet | None = None
    total_tax: WireAmount = Decimal(0)
    total_tax_set: MoneySet | None = None


class RestRefundShippingLine(_Wire):
    """One ``refund_shipping_lines[]`` entry of a REST refund: shipping given back.

    From Admin API 2024-10 this, not a ``shipping_refund`` order adjustment, is
    where refunded shipping is reported; its one money field is
    ``subtotal_amount_set`` (no tax; missing is refused by the mapping).
    """

    id: WireIntId | None = None
    shipping_line_id: WireIntId | None = None
    subtotal_amount_set: MoneySet | None = None


class RestOrderAdjustment(_Wire):
    """One ``order_adjustments[]`` entry of a REST refund (``kind`` ``shipping_refund``
    for shipping refunded, ``refund_discrepancy`` for a difference to the calculation)."""

    kind: str | None = None
    amount: SignedWireAmount = Decimal(0)
    amount_set: MoneySet | None = None
    tax_amount: SignedWireAmount = Decimal(0)
    tax_amount_set: MoneySet | None = None


class RestRefundTransaction(_Wire):
    """One ``transactions[]`` entry of a REST refund: money the refund returned (``kind``
    ``refund``), in the order's presentment currency unless ``in_shop_currency`` is asked."""

    kind: str | None = None
    status: str | None = None
    amount: WireAmount | None = None
    currency: str | None = None


class RestRefund(_Wire):
    """A refund as the REST order lists it (``refunds[]``), whoever made it."""

    id: WireIntId
    admin_graphql_api_id: str | None = None
    created_at: AwareTime | None = None
    refund_line_items: list[RestRefundLineItem] = Field(default_factory=list)
    order_adjustments: list[RestOrderAdjustment] = Field(default_factory=list)
    refund_shipping_lines: list[RestRefundShippingLine] = Field(default_factory=list)
    transactions: list[RestRefundTransaction] = Field(default_factory=list)


class RestOrder(_Wire):
    """An order (REST ``orders/{id}.json`` / ``orders.json``)."""

    id: WireIntId
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    currency: str
    created_at: AwareTime
    updated_at: AwareTime
    financial_status: str | None = None
    fulfillment_status: str | None = None
    cancelled_at: AwareTime | None = None
    customer_locale: str | None = None
    customer: _Customer | None = None
    shipping_address: _Address | None = None
    line_items: list[RestLineItem] = Field(default_factory=list)
    fulfillments: list[RestFulfillment] = Field(default_factory=list)
    shipping_lines: list[_ShippingLine] = Field(default_factory=list)
    total_discounts: WireAmount = Decimal(0)
    total_discounts_set: MoneySet | None = None
    total_price: WireAmount
    total_price_set: MoneySet | None = None
    current_total_price: WireAmount | None = None
    presentment_currency: str | None = None
    taxes_included: bool = False
    refunds: list[RestRefund] = Field(default_factory=list)


class _SuggestedTransaction(_Wire):
    order_id: WireIntId | None = None
    parent_id: WireIntId | None = None
    gateway: str | None = None
    amount: WireAmount = Decimal(0)
    maximum_refundable: WireAmount | None = None
    currency: str | None = None


class _SuggestedShipping(_Wire):
    amount: WireAmount | None = None
    tax: WireAmount | None = None
    maximum_refundable: WireAmount | None = None


class RestSuggestedRefund(_Wire):
    """The answer of ``refunds/calculate.json``: which transactions can pay a refund,
    and how much of the order's shipping is still refundable (``shipping``)."""

    currency: str | None = None
    shipping: _SuggestedShipping | None = None
    transactions: list[_SuggestedTransaction] = Field(default_factory=list)


# ---------------------------------------------------------------- webhooks


class _WebhookRef(_Wire):
    id: WireIntId | None = None
    admin_graphql_api_id: str | None = None


class WebhookReturnLine(_Wire):
    """A return line of a ``returns/*`` webhook body (snake_case, lower-case enum values).

    ``return_reason_definition`` is read when present; Shopify's webhook
    reference does not show whether 2026-01 bodies carry it, so the
    deprecated ``return_reason`` stays the fallback.
    """

    id: WireIntId
    admin_graphql_api_id: WireId | None = None
    fulfillment_line_item: dict[str, Any] | None = None
    quantity: WireCount = 1
    return_reason_definition: dict[str, Any] | None = None
    return_reason: str | None = None
    return_reason_note: str | None = None
    customer_note: str | None = None


class WebhookReturn(_Wire):
    """A ``returns/*`` webhook body (lowercase status and reason values)."""

    id: WireIntId
    admin_graphql_api_id: WireId | None = None
    status: str
    name: str | None = None
    order: _WebhookRef | None = None
    order_id: WireIntId | None = None
    return_line_items: list[WebhookReturnLine] = Field(default_factory=list)
    exchange_line_items: list[dict[str, Any]] = Field(default_factory=list)
    decline: _Decline | None = None


class WebhookFulfillment(RestFulfillment):
    """A ``fulfillments/create`` or ``fulfillments/update`` webhook body (a REST fulfillment)."""
