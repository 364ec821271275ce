"""What one page of synced reviews refers to, loaded in one query per table.

The orders, return requests and parcels the page's changed reviews name,
so that linking a review costs no query of its own. Reviews the page leaves
unchanged need only their return request (one may have come after the
review), so for them only the returns are read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.models import Review
from aftersales.store.tables.core import OrderRow, ShipmentRow
from aftersales.store.tables.returns import ReturnLineRow, ReturnRow

__all__ = ["Links", "PageLinks"]


@dataclass
class Links:
    """Where a review points: its order (and buyer), return request and parcel."""

    order_id: int | None = None
    buyer_id: str | None = None
    rma_id: str | None = None
    tracking_number: str | None = None


class PageLinks:
    """The orders, parcels and return requests a page's reviews name.

    ``orders`` are the order ids whose order and parcel are wanted (changed
    reviews); ``returns`` those whose return requests are wanted (changed
    reviews, and unchanged ones not yet linked to a request). Orders with
    their first outbound parcel are one query, requests with their lines
    another; nothing is read for an empty set.
    """

    def __init__(self, session: Session, marketplace: str, orders: Collection[str],
                 returns: Collection[str]) -> None:
        self.orders: dict[str, tuple[int, str]] = {}
        self.parcels: dict[int, str] = {}
        self.returns: dict[str, list[tuple[str, str | None, set[str]]]] = {}
        if orders:
            for oid, ext, buyer, number in session.execute(
                select(OrderRow.id, OrderRow.external_id, OrderRow.buyer_id,
                       ShipmentRow.tracking_number)
                .outerjoin(ShipmentRow, (ShipmentRow.order_id == OrderRow.id)
                           & (ShipmentRow.direction == "outbound"))
                .where(OrderRow.marketplace == marketplace, OrderRow.external_id.in_(orders))
                .order_by(OrderRow.id, ShipmentRow.id)
            ):
                self.orders[ext] = (oid, buyer)
                if number is not None:
                    self.parcels.setdefault(oid, number)
        if not returns:
            return
        found: dict[str, tuple[str | None, str, set[str]]] = {}
        for rma, return_ext, order_ext, line in session.execute(
            select(ReturnRow.rma_id, ReturnRow.external_id, ReturnRow.order_external_id,
                   ReturnLineRow.order_line_external_id)
            .outerjoin(ReturnLineRow, ReturnLineRow.rma_id == ReturnRow.rma_id)
            .where(ReturnRow.marketplace == marketplace, ReturnRow.order_external_id.in_(returns))
            .order_by(ReturnRow.created_at, ReturnRow.rma_id)
        ):
            entry = found.setdefault(rma, (return_ext, order_ext, set()))
            if line is not None:
                entry[2].add(line)
        for rma, (return_ext, order_ext, lines) in found.items():
            self.returns.setdefault(order_ext, []).append((rma, return_ext, lines))

    def links(self, review: Review) -> Links:
        """The review's order, return request and parcel, as far as they are known."""
        out = Links(tracking_number=review.tracking_number)
        if not review.order_id:
            return out
        order = self.orders.get(review.order_id)
        if order is not None:
            out.order_id, out.buyer_id = order
            out.tracking_number = out.tracking_number or self.parcels.get(order[0])
        for rma, ext, lines in self.returns.get(review.order_id, []):
            if review.return_id and ext == review.return_id:
                out.rma_id = rma
                break
            if review.order_line_id is None or review.order_line_id in lines:
                out.rma_id = out.rma_id or rma
        return out
