"""A stored parcel as callers read it, and the queries that read one or a page.

The ``get``/``list`` pair every area with records offers: a parcel is the
store's row for one outbound, return or exchange shipment, with the store it
belongs to as the row records it, or else through its order or return request.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVarTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from aftersales.errors import NotFoundError
from aftersales.models import ParcelIssue, ParcelStatus
from aftersales.store.tables.core import OrderRow, ShipmentRow
from aftersales.store.tables.returns import ReturnRow

__all__ = ["PARCEL_STORE", "Parcel", "get_parcel", "list_parcels", "with_owners"]


class Parcel(BaseModel):
    """One stored parcel: where it stands, for which order or return, in which store."""

    model_config = ConfigDict(frozen=True)

    id: int
    store: str | None
    order_id: str | None  # the marketplace's order id
    rma_id: str | None
    direction: str  # outbound, return or exchange
    tracking_number: str
    carrier: str | None
    status: ParcelStatus
    issue: ParcelIssue | None
    terminal: bool
    shipped_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    last_event_at: AwareDatetime | None
    last_checked_at: AwareDatetime | None


#: A parcel's store: its own column, else its order's, else its return's
#: (select it with :func:`with_owners`, which joins the two).
PARCEL_STORE: ColumnElement[str] = func.coalesce(
    ShipmentRow.store, OrderRow.marketplace, ReturnRow.marketplace)


_Ts = TypeVarTuple("_Ts")


def with_owners(query: Select[*_Ts]) -> Select[*_Ts]:
    """``query`` over shipments joined to the order and return each may belong to."""
    return (query.outerjoin(OrderRow, OrderRow.id == ShipmentRow.order_id)
            .outerjoin(ReturnRow, ReturnRow.rma_id == ShipmentRow.rma_id))


def _query() -> Select[ShipmentRow, str, str]:
    return with_owners(select(ShipmentRow, PARCEL_STORE.label("store"), OrderRow.external_id))


def _parcel(row: ShipmentRow, store: str | None, order_id: str | None) -> Parcel:
    return Parcel(
        id=row.id, store=store, order_id=order_id, rma_id=row.rma_id,
        direction=row.direction, tracking_number=row.tracking_number, carrier=row.carrier,
        status=ParcelStatus(row.status), issue=ParcelIssue(row.issue) if row.issue else None,
        terminal=row.terminal, shipped_at=row.shipped_at, delivered_at=row.delivered_at,
        last_event_at=row.last_event_at, last_checked_at=row.last_checked_at)


def get_parcel(session: Session, parcel_id: int) -> Parcel:
    """The parcel with this id.

    Raises:
        NotFoundError: no such parcel.
    """
    found = session.execute(_query().where(ShipmentRow.id == parcel_id)).one_or_none()
    if found is None:
        raise NotFoundError("parcel", parcel_id)
    return _parcel(*found)


def list_parcels(
    session: Session, *, store: str | None = None, status: ParcelStatus | str | None = None,
    carrier: str | None = None, direction: str | None = None, open_only: bool = False,
    since: datetime | None = None, limit: int = 50,
) -> list[Parcel]:
    """Parcels, newest first, filtered by store, status, carrier, direction or openness."""
    query = _query().order_by(ShipmentRow.id.desc()).limit(limit)
    if store is not None:
        query = query.where(PARCEL_STORE == store)  # noqa: SIM300 (an SQL expression, not a constant)
    if status is not None:
        query = query.where(ShipmentRow.status == ParcelStatus(status).value)
    if carrier is not None:
        query = query.where(ShipmentRow.carrier == carrier)
    if direction is not None:
        query = query.where(ShipmentRow.direction == direction)
    if open_only:
        query = query.where(ShipmentRow.terminal.is_(False))
    if since is not None:
        query = query.where(ShipmentRow.shipped_at >= since)
    return [_parcel(*found) for found in session.execute(query)]
