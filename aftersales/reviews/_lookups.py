"""What one page of synced reviews refers to, loaded in one query per table.

The reviews already stored (with their latest version's fingerprint), and
the orders, return requests and parcels the page's reviews name, so that
linking a review costs no query of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.models import Review
from aftersales.store.tables.core import OrderRow, ShipmentRow
from aftersales.store.tables.returns import ReturnLineRow, ReturnRow
from aftersales.store.tables.reviews import ReviewRow, ReviewVersionRow

__all__ = ["Links", "PageLookups"]


@dataclass
class Links:
    """Where a review points: its order (and buyer), return request and parcel."""

    order_id: int | None = None
    buyer_id: str | None = None
    rma_id: str | None = None
    tracking_number: str | None = None


class PageLookups:
    """Everything the page's reviews refer to, loaded in one query per table."""

    def __init__(self, session: Session, marketplace: str, reviews: Sequence[Review]) -> None:
        ids = [r.external_id for r in reviews]
        self.rows = {
            row.external_id: row
            for row in session.scalars(
                select(ReviewRow).where(
                    ReviewRow.marketplace == marketplace, ReviewRow.external_id.in_(ids)
                )
            )
        }
        self.fingerprints: dict[int, str] = {}
        if self.rows:
            for review_id, fingerprint in session.execute(
                select(ReviewVersionRow.review_id, ReviewVersionRow.fingerprint)
                .join(ReviewRow, ReviewRow.id == ReviewVersionRow.review_id)
                .where(
                    ReviewRow.id.in_([row.id for row in self.rows.values()]),
                    ReviewVersionRow.version == ReviewRow.current_version,
                )
            ):
                self.fingerprints[review_id] = fingerprint
        order_ids = {r.order_id for r in reviews if r.order_id}
        self.orders: dict[str, tuple[int, str]] = {}
        self.returns: dict[str, list[tuple[str, str | None, set[str]]]] = {}
        self.parcels: dict[int, str] = {}
        if not order_ids:
            return
        for oid, ext, buyer in session.execute(
            select(OrderRow.id, OrderRow.external_id, OrderRow.buyer_id).where(
                OrderRow.marketplace == marketplace, OrderRow.external_id.in_(order_ids)
            )
        ):
            self.orders[ext] = (oid, buyer)
        lines: dict[str, set[str]] = {}
        found = session.execute(
            select(ReturnRow.rma_id, ReturnRow.external_id, ReturnRow.order_external_id).where(
                ReturnRow.marketplace == marketplace, ReturnRow.order_external_id.in_(order_ids)
            )
        ).all()
        if found:
            for rma, line in session.execute(
                select(ReturnLineRow.rma_id, ReturnLineRow.order_line_external_id).where(
                    ReturnLineRow.rma_id.in_([f.rma_id for f in found])
                )
            ):
                lines.setdefault(rma, set()).add(line)
        for rma, return_ext, order_ext in found:
            self.returns.setdefault(order_ext, []).append((rma, return_ext, lines.get(rma, set())))
        internal = [oid for oid, _ in self.orders.values()]
        for order_pk, number in session.execute(
            select(ShipmentRow.order_id, ShipmentRow.tracking_number)
            .where(ShipmentRow.order_id.in_(internal), ShipmentRow.direction == "outbound")
            .order_by(ShipmentRow.id)
        ):
            if order_pk is not None:
                self.parcels.setdefault(order_pk, number)

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
