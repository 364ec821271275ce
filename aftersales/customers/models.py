"""The customer record (客户档案) and its parts, as returned by ``app.customers.get``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from aftersales.customers.score import ReturnerScore
from aftersales.models import Buyer
from aftersales.money import Money
from aftersales.redact import mask_address, mask_email, mask_phone

__all__ = [
    "CaseLine",
    "ContactLine",
    "CustomerRecord",
    "FollowUpLine",
    "HoldLine",
    "Lifetime",
    "OptOutLine",
    "OrderLine",
    "RefundLine",
    "ReturnLine",
    "ReviewLine",
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class OrderLine(_Part):
    """One of the buyer's orders."""

    store: str
    order_id: str
    placed_at: datetime
    total: Money
    status: str | None
    delivered_at: datetime | None


class ReturnLine(_Part):
    """A return, exchange or refund-only request, with its lines' reasons."""

    rma_id: str
    store: str
    order_id: str
    kind: str
    status: str
    reasons: tuple[str, ...]
    inspection: tuple[str, ...]
    requested: Money | None
    created_at: datetime


class RefundLine(_Part):
    """A refund for one of the buyer's orders."""

    store: str
    order_id: str
    rma_id: str | None
    amount: Money
    status: str
    created_at: datetime


class ReviewLine(_Part):
    """A review of one of the buyer's orders."""

    id: int
    store: str
    order_id: str | None
    rating: int
    sentiment: str | None
    complaints: tuple[str, ...]
    created_at: datetime


class CaseLine(_Part):
    """A complaint case about the buyer."""

    id: int
    store: str
    kind: str
    status: str
    priority: str
    order_id: str | None
    root_cause: str | None
    opened_at: datetime


class FollowUpLine(_Part):
    """A follow-up visit (回访) to the buyer."""

    id: int
    plan: str
    status: str
    store: str | None
    order_id: str | None
    due_at: datetime
    sent_at: datetime | None
    csat: int | None
    nps: int | None


class ContactLine(_Part):
    """A message the library sent the buyer."""

    sent_at: datetime
    kind: str
    channel: str
    source: str


class HoldLine(_Part):
    """An open (or resolved) matter holding some messages to the buyer back."""

    kind: str
    ref: str
    opened_at: datetime
    resolved_at: datetime | None


class OptOutLine(_Part):
    """The buyer asked not to be contacted (``scope`` ``*``: about anything)."""

    scope: str
    created_at: datetime


class Lifetime(_Part):
    """Lifetime figures, money per currency (never mixed), in Decimal.

    Attributes:
        orders: every order.
        first_order_at: the first order's time.
        last_order_at: the last order's time.
        spent: order totals per currency.
        refunded: refunds paid per currency.
        net: spent less refunded, per currency.
        returns: requests not cancelled or rejected.
        reviews: reviews written.
        average_rating: mean star rating of those reviews.
        average_csat: mean CSAT the buyer gave follow-ups.
    """

    orders: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    spent: dict[str, Decimal]
    refunded: dict[str, Decimal]
    net: dict[str, Decimal]
    returns: int
    reviews: int
    average_rating: Decimal | None
    average_csat: Decimal | None


class CustomerRecord(_Part):
    """One view of a buyer: history, contact state, score and lifetime figures.

    ``buyer`` holds the contact details of the latest order (masked in any
    repr or log line; :class:`~aftersales.models.Buyer` masks them). Lists
    are newest first.
    """

    buyer_id: str
    store: str | None
    buyer: Buyer | None
    orders: tuple[OrderLine, ...]
    returns: tuple[ReturnLine, ...]
    refunds: tuple[RefundLine, ...]
    reviews: tuple[ReviewLine, ...]
    cases: tuple[CaseLine, ...]
    follow_ups: tuple[FollowUpLine, ...]
    contacts: tuple[ContactLine, ...]
    holds: tuple[HoldLine, ...]
    opt_outs: tuple[OptOutLine, ...]
    returner: ReturnerScore
    lifetime: Lifetime

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data with the buyer's contact details masked."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude={"buyer", "returner"})
        data["buyer"] = _masked(self.buyer)
        r = self.returner
        data["returner"] = {"points": r.points, "level": r.level, "reasons": list(r.reasons),
                            "rule": r.rule, "inputs": r.inputs}
        return data


def _masked(buyer: Buyer | None) -> dict[str, Any] | None:
    if buyer is None:
        return None
    return {"external_id": buyer.external_id,
            "name": (buyer.name[:1] + "***") if buyer.name else None,
            "email": mask_email(buyer.email), "phone": mask_phone(buyer.phone),
            "address": mask_address(buyer.address), "timezone": buyer.timezone}
