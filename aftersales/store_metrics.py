"""Per-store figures and their roll-up across stores, counted where the data lives.

One row per store (the ``marketplace`` column every order, request, refund,
review and follow-up row holds) and one roll-up over every row. The roll-up
is its own query, with no grouping, rather than the sum of the per-store
rows: when the two disagree, a row is missing its store, which is a bug
worth seeing rather than hiding.

Figures (each a count of stored rows, except the amounts):

- ``orders``: orders synced;
- ``returns``: return requests, by canonical status;
- ``refunds_paid``: refunds the marketplace confirmed (``paid``);
- ``refunded``: their amounts, by currency (money of two currencies never adds);
- ``reviews``: reviews synced;
- ``followups_sent``: follow-ups sent or answered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aftersales.models import FollowUpStatus
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.followups import FollowUpRow
from aftersales.store.tables.returns import RefundRow, ReturnRow
from aftersales.store.tables.reviews import ReviewRow

__all__ = ["StoreFigures", "StoreMetrics", "store_metrics"]

_SENT = (FollowUpStatus.SENT.value, FollowUpStatus.RESPONDED.value)


@dataclass
class StoreFigures:
    """The figures of one store, or of all stores together (see the module)."""

    orders: int = 0
    returns: dict[str, int] = field(default_factory=dict)
    refunds_paid: int = 0
    refunded: dict[str, Decimal] = field(default_factory=dict)
    reviews: int = 0
    followups_sent: int = 0

    def __add__(self, other: StoreFigures) -> StoreFigures:
        """Both stores' figures together (statuses and currencies kept apart)."""
        return StoreFigures(
            orders=self.orders + other.orders,
            returns=_merged(self.returns, other.returns),
            refunds_paid=self.refunds_paid + other.refunds_paid,
            refunded=_merged(self.refunded, other.refunded),
            reviews=self.reviews + other.reviews,
            followups_sent=self.followups_sent + other.followups_sent,
        )

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON-ready values (amounts as strings)."""
        return {"orders": self.orders, "returns": dict(sorted(self.returns.items())),
                "refunds_paid": self.refunds_paid,
                "refunded": {c: str(a) for c, a in sorted(self.refunded.items())},
                "reviews": self.reviews, "followups_sent": self.followups_sent}


@dataclass
class StoreMetrics:
    """Figures per store (``stores``, by name) and over every store (``total``)."""

    stores: dict[str, StoreFigures]
    total: StoreFigures

    def summed(self) -> StoreFigures:
        """The per-store figures added up; equal to :attr:`total` when every row has a store."""
        out = StoreFigures()
        for figures in self.stores.values():
            out = out + figures
        return out


def _merged(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return out


def _rows(session: Session, store_column: Any, columns: list[Any], aggregate: Any,
          where: list[Any], store: str | None, grouped: bool) -> Iterator[tuple[Any, ...]]:
    """``(store or None, *columns, aggregate)`` rows; ``aggregate=None``: plain rows."""
    keys = [store_column, *columns] if grouped else list(columns)
    query = (select(*keys, *([aggregate] if aggregate is not None else []))
             .select_from(store_column.table).where(*where))
    if store is not None:
        query = query.where(store_column == store)
    if aggregate is not None and keys:
        query = query.group_by(*keys)
    for row in session.execute(query):
        yield tuple(row) if grouped else (None, *row)


def _figures(session: Session, store: str | None, grouped: bool) -> dict[str | None, StoreFigures]:
    """Figures keyed by store (``grouped``), or one roll-up under ``None``."""
    out: dict[str | None, StoreFigures] = {}

    def at(key: str | None) -> StoreFigures:
        return out.setdefault(key, StoreFigures())

    def rows(store_column: Any, columns: list[Any], aggregate: Any,
             where: list[Any] | None = None) -> Iterator[tuple[Any, ...]]:
        return _rows(session, store_column, columns, aggregate, where or [], store, grouped)

    for key, n in rows(OrderRow.marketplace, [], func.count()):
        at(key).orders += n
    for key, status, n in rows(ReturnRow.marketplace, [ReturnRow.status], func.count()):
        at(key).returns[status] = n
    paid = [RefundRow.status == "paid"]
    for key, n in rows(RefundRow.marketplace, [], func.count(), paid):
        at(key).refunds_paid += n
    # Amounts are stored as exact decimal text: added here in Decimal, never as floats.
    for key, currency, amount in rows(RefundRow.marketplace,
                                      [RefundRow.currency, RefundRow.amount], None, paid):
        figures = at(key)
        figures.refunded[currency] = figures.refunded.get(currency, Decimal(0)) + Decimal(amount)
    for key, n in rows(ReviewRow.marketplace, [], func.count()):
        at(key).reviews += n
    sent = [FollowUpRow.status.in_(_SENT)]
    for key, n in rows(FollowUpRow.marketplace, [], func.count(), sent):
        at(key).followups_sent += n
    return out


def store_metrics(session: Session, *, store: str | None = None) -> StoreMetrics:
    """Figures per store and over all stores (only ``store``'s rows when given).

    A store with no rows at all does not appear in :attr:`StoreMetrics.stores`.
    """
    per = _figures(session, store, grouped=True)
    total = _figures(session, store, grouped=False).get(None, StoreFigures())
    # Rows without a store count in the roll-up only, so summed() then falls short of it.
    named = {k: v for k, v in per.items() if k is not None}
    return StoreMetrics(stores=dict(sorted(named.items())), total=total)
