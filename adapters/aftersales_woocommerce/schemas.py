"""Tolerant wire models of the WooCommerce REST v3 payloads the adapter reads.

Only the fields used are declared; the rest is ignored. WooCommerce sends
each time twice, in the site's zone and as ``*_gmt`` without an offset: the
adapter reads the ``*_gmt`` one and attaches UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ApiError",
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
    """A ``*_gmt`` timestamp made timezone-aware (UTC)."""
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ApiError(_Wire):
    """The error object: ``{"code", "message", "data": {"status"}}``."""

    code: str
    message: str = ""
    data: dict[str, Any] | None = None


class _Meta(_Wire):
    key: str = ""
    value: Any = None


class WcTax(_Wire):
    """One rate's tax on a line item or a shipping line; ``id`` is the tax rate id."""

    id: int
    total: Decimal = Decimal(0)


class WcLineItem(_Wire):
    """An order line item; ``total`` excludes tax, ``total_tax`` is beside it."""

    id: int
    name: str = ""
    product_id: int | None = None
    variation_id: int | None = None
    quantity: int
    sku: str | None = None
    subtotal: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    taxes: list[WcTax] = Field(default_factory=list)
    price: Decimal | None = None

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Any:
        # ``price`` is a JSON number (3, 12, 9.5): go through str to stay exact.
        return str(value) if isinstance(value, float | int) else value


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

    id: int
    total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    taxes: list[WcTax] = Field(default_factory=list)


class WcOrderRefund(_Wire):
    """An entry of an order's ``refunds``: the refund's id and its total, negative."""

    id: int
    total: Decimal = Decimal(0)


class WcOrder(_Wire):
    """An order (``GET /orders``, ``GET /orders/{id}``, ``order.*`` webhooks)."""

    id: int
    number: str | None = None
    status: str
    currency: str
    date_created_gmt: datetime | None = None
    date_modified_gmt: datetime | None = None
    date_completed_gmt: datetime | None = None
    discount_total: Decimal = Decimal(0)
    shipping_total: Decimal = Decimal(0)
    shipping_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    prices_include_tax: bool = False
    shipping_lines: list[WcShippingLine] = Field(default_factory=list)
    customer_id: int = 0
    billing: _Billing = Field(default_factory=_Billing)
    shipping: _Shipping = Field(default_factory=_Shipping)
    line_items: list[WcLineItem] = Field(default_factory=list)
    meta_data: list[_Meta] = Field(default_factory=list)
    refunds: list[WcOrderRefund] = Field(default_factory=list)

    @field_validator("date_created_gmt", "date_modified_gmt", "date_completed_gmt", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return gmt(value)


class WcRefundLine(_Wire):
    """A line of a refund: quantity and totals negative; the order line it refunds is
    named by the ``_refunded_item_id`` meta entry."""

    id: int
    quantity: int = 0
    total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    meta_data: list[_Meta] = Field(default_factory=list)

    def refunded_item(self) -> str | None:
        """The id of the order line this refund line refunds, if WooCommerce names it."""
        for meta in self.meta_data:
            if meta.key == "_refunded_item_id" and meta.value not in (None, ""):
                return str(meta.value)
        return None


class WcRefund(_Wire):
    """An order refund (``POST|GET /orders/{id}/refunds``)."""

    id: int
    date_created_gmt: datetime | None = None
    amount: Decimal
    reason: str | None = None
    refunded_payment: bool = False
    line_items: list[WcRefundLine] = Field(default_factory=list)

    @field_validator("date_created_gmt", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return gmt(value)


class WcNote(_Wire):
    """An order note (``/orders/{id}/notes``)."""

    id: int
    author: str | None = None
    note: str = ""
    customer_note: bool = False
    date_created_gmt: datetime | None = None

    @field_validator("date_created_gmt", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return gmt(value)


class WcReview(_Wire):
    """A product review (``/products/reviews``)."""

    id: int
    date_created_gmt: datetime
    product_id: int | None = None
    product_name: str | None = None
    status: str = "approved"
    reviewer: str | None = None
    review: str = ""
    rating: int = 0
    verified: bool = False

    @field_validator("date_created_gmt", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        out = gmt(value)
        assert out is not None
        return out
