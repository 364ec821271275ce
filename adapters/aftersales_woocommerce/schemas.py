"""Tolerant wire models of the WooCommerce REST v3 payloads the adapter reads.

Only the fields used are declared; the rest is ignored. WooCommerce sends
each time twice, in the site's zone and as ``*_gmt`` without an offset: the
adapter reads the ``*_gmt`` one as UTC (:data:`aftersales.wire.UtcTime`).
Ids, quantities and amounts go through the core's wire types too: a flag,
an exponent, a negative price or an epoch-number time is refused by name.
Amounts are decimal text, except a line's ``price``, a JSON number read from
its text; refund totals and quantities are negative on the wire.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aftersales.wire import (
    SignedWireAmount,
    SignedWireCount,
    UtcTime,
    WireAmount,
    WireCount,
    WireIntId,
    iso_time,
)

__all__ = [
    "ApiError",
    "WcFeeLine",
    "WcLineItem",
    "WcNote",
    "WcOrder",
    "WcOrderRefund",
    "WcRefund",
    "WcRefundLine",
    "WcReview",
    "WcShippingLine",
    "WcTax",
    "gmt",
]


def gmt(value: datetime | str | None) -> datetime | None:
    """A ``*_gmt`` timestamp made timezone-aware (UTC); ``None`` for none.

    Raises:
        ValueError: not an ISO 8601 time between 2000 and 2100.
    """
    if value is None or value == "":
        return None
    return iso_time(value, naive=UTC)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _no_time(value: Any) -> Any:
    # WooCommerce writes a time it does not have as null, some plugins as "".
    return None if value == "" else value


class ApiError(_Wire):
    """The error object: ``{"code", "message", "data": {"status"}}``."""

    code: str
    message: str = ""
    data: dict[str, Any] | None = None


class _Meta(_Wire):
    key: str = ""
    value: Any = None


class WcTax(_Wire):
    """One rate's tax on a line item or a shipping line; ``id`` is the tax rate id.

    WooCommerce writes the stored amount as it is, and an empty one (a rate
    that charged nothing) as ``""``, which it adds in as 0 itself.
    """

    id: WireIntId
    total: WireAmount = Decimal(0)

    @field_validator("total", mode="before")
    @classmethod
    def _empty(cls, value: Any) -> Any:
        return Decimal(0) if value == "" else value


class WcLineItem(_Wire):
    """An order line item; ``total`` excludes tax, ``total_tax`` is beside it."""

    id: WireIntId
    name: str = ""
    product_id: int | None = None
    variation_id: int | None = None
    quantity: WireCount
    sku: str | None = None
    subtotal: WireAmount = Decimal(0)
    total: WireAmount = Decimal(0)
    total_tax: WireAmount = Decimal(0)
    taxes: list[WcTax] = Field(default_factory=list)
    #: a JSON number (3, 12, 9.5), read from its text to stay exact
    price: WireAmount | None = None


class _Billing(_Wire):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class _Shipping(_Wire):
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None


class WcShippingLine(_Wire):
    """A shipping line: its id is what a refund names to give shipping back."""

    id: WireIntId
    total: WireAmount = Decimal(0)
    total_tax: WireAmount = Decimal(0)
    taxes: list[WcTax] = Field(default_factory=list)


class WcFeeLine(_Wire):
    """A fee line: a surcharge, or (negative ``total`` and ``total_tax``, as WooCommerce
    allows since 3.2) a discount the buyer got that no line item shows."""

    id: WireIntId
    total: SignedWireAmount = Decimal(0)
    total_tax: SignedWireAmount = Decimal(0)


class WcOrderRefund(_Wire):
    """An entry of an order's ``refunds``: the refund's id and its total, negative."""

    id: WireIntId
    total: SignedWireAmount = Decimal(0)


class WcOrder(_Wire):
    """An order (``GET /orders``, ``GET /orders/{id}``, ``order.*`` webhooks)."""

    id: WireIntId
    number: str | None = None
    status: str
    currency: str
    date_created_gmt: UtcTime | None = None
    date_modified_gmt: UtcTime | None = None
    date_completed_gmt: UtcTime | None = None
    discount_total: WireAmount = Decimal(0)
    shipping_total: WireAmount = Decimal(0)
    shipping_tax: WireAmount = Decimal(0)
    total: WireAmount = Decimal(0)
    prices_include_tax: bool = False
    shipping_lines: list[WcShippingLine] = Field(default_factory=list)
    fee_lines: list[WcFeeLine] = Field(default_factory=list)
    customer_id: int = 0
    billing: _Billing = Field(default_factory=_Billing)
    shipping: _Shipping = Field(default_factory=_Shipping)
    line_items: list[WcLineItem] = Field(default_factory=list)
    meta_data: list[_Meta] = Field(default_factory=list)
    refunds: list[WcOrderRefund] = Field(default_factory=list)

    _times = field_validator("date_created_gmt", "date_modified_gmt", "date_completed_gmt",
                             mode="before")(_no_time)


class WcRefundLine(_Wire):
    """A line of a refund: quantity and totals negative; the order line it refunds is
    named by the ``_refunded_item_id`` meta entry."""

    id: WireIntId
    quantity: SignedWireCount = 0
    total: SignedWireAmount = Decimal(0)
    total_tax: SignedWireAmount = Decimal(0)
    meta_data: list[_Meta] = Field(default_factory=list)

    def refunded_item(self) -> str | None:
        """The id of the order line this refund line refunds, if WooCommerce names it."""
        for meta in self.meta_data:
            if meta.key == "_refunded_item_id" and meta.value not in (None, ""):
                return str(meta.value)
        return None


class WcRefund(_Wire):
    """An order refund (``POST|GET /orders/{id}/refunds``)."""

    id: WireIntId
    date_created_gmt: UtcTime | None = None
    amount: WireAmount
    reason: str | None = None
    refunded_payment: bool = False
    line_items: list[WcRefundLine] = Field(default_factory=list)
    #: the shipping it gave back, totals negative as on its line items
    shipping_lines: list[WcRefundLine] = Field(default_factory=list)

    _times = field_validator("date_created_gmt", mode="before")(_no_time)


class WcNote(_Wire):
    """An order note (``/orders/{id}/notes``)."""

    id: WireIntId
    author: str | None = None
    note: str = ""
    customer_note: bool = False
    date_created_gmt: UtcTime | None = None

    _times = field_validator("date_created_gmt", mode="before")(_no_time)


class WcReview(_Wire):
    """A product review (``/products/reviews``)."""

    id: WireIntId
    date_created_gmt: UtcTime
    product_id: int | None = None
    product_name: str | None = None
    status: str = "approved"
    reviewer: str | None = None
    review: str = ""
    rating: WireCount = 0
    verified: bool = False
