"""Customer records (客户档案): one view of a buyer across every area.

See :class:`~aftersales.customers.service.Customers` (``app.customers``).
"""

from __future__ import annotations

from aftersales.customers.models import (
    CaseLine,
    ContactLine,
    CustomerRecord,
    FollowUpLine,
    HoldLine,
    Lifetime,
    OptOutLine,
    OrderLine,
    RefundLine,
    ReturnLine,
    ReviewLine,
)
from aftersales.customers.score import ReturnerInputs, ReturnerRule, ReturnerScore
from aftersales.customers.service import Customers

__all__ = [
    "CaseLine",
    "ContactLine",
    "CustomerRecord",
    "Customers",
    "FollowUpLine",
    "HoldLine",
    "Lifetime",
    "OptOutLine",
    "OrderLine",
    "RefundLine",
    "ReturnLine",
    "ReturnerInputs",
    "ReturnerRule",
    "ReturnerScore",
    "ReviewLine",
]
