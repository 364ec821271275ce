"""A page of synced orders written set-based: a few statements per page, not per order.

:func:`write_order_page` gives the same result as upserting the page's orders
one by one (:func:`aftersales.store.orders.upsert_orders`), in this order:

1. one SELECT of the page's stored orders by natural key (marketplace,
   external id): id, version, remote update time, delivery time;
2. only when some stored order really changed, one SELECT of those orders'
   lines and one of their parcels' tracking numbers and carriers (a parcel
   listed again under another spelling of its number is not added again:
   :mod:`aftersales.store.parcel_keys`);
3. the changes worked out in memory, order by order in page order (so an
   order listed twice in a page counts, and bumps its version, twice, as the
   per-order path did);
4. the writes, one statement per table (:mod:`aftersales.store.upsert`):
   new orders with the database's upsert (``INSERT … ON CONFLICT
   (marketplace, external_id) DO UPDATE … WHERE`` the stored copy is older,
   ``RETURNING`` id and version), changed orders with one ``UPDATE`` guarded
   by the version read (a row someone else changed meanwhile raises
   ``StaleDataError``, which the store turns into
   :class:`~aftersales.errors.ConcurrentUpdateError`), new and changed lines,
   new parcels (those of known orders checked again by one more SELECT once
   the orders' UPDATE holds their rows: a parcel another writer stored
   meanwhile, with a carrier or without, is not added beside it). A new
   order another writer stored meanwhile, as recent, is
   left alone and counts as unchanged (two syncs of the same orders at once
   both succeed); one stored meanwhile but older raises ``StaleDataError``,
   since the page planned its lines and parcels as new. Known orders are
   updated rather than upserted: on PostgreSQL an upsert that updates still
   takes a value from the id sequence.

A page whose orders are all already this recent costs the one SELECT and
writes nothing. Timestamps and versions follow the ORM's rules: a new row is
version 1, each real change adds one and sets ``updated_at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from aftersales.models import Order, OrderLine, TaxLine
from aftersales.store.orders import refunds_out
from aftersales.store.parcel_keys import KnownParcels, insert_parcels, still_new
from aftersales.store.tables.base import utcnow
from aftersales.store.tables.core import OrderLineRow, OrderRow, ShipmentRow, tracking_key
from aftersales.store.upsert import update_rows, upsert_rows

__all__ = ["OrderWrite", "write_order_page"]

_ORDERS = cast(Table, OrderRow.__table__)
_LINES = cast(Table, OrderLineRow.__table__)
_SHIPMENTS = cast(Table, ShipmentRow.__table__)
#: Natural keys per IN list, well under every database's bound-parameter limit.
_CHUNK = 500


class OrderWrite(NamedTuple):
    """What writing one listed order did (one per order of the page, in page order)."""

    marketplace: str
    external_id: str
    buyer_id: str
    delivered_at: datetime | None
    changed: bool
    newly_delivered: bool


@dataclass(eq=False)
class _Slot:
    """One stored (or about to be stored) order while the page is worked out."""

    id: int | None
    version: int
    remote_updated_at: datetime
    delivered: bool
    values: dict[str, Any] | None = None  # the columns to write, when changed
    stored: dict[str, Any] | None = None  # the stored columns, read when it changes
    bumps: int = 0  # real changes made to a stored row (each adds one to its version)
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)  # external id -> columns
    line_ids: dict[str, int] = field(default_factory=dict)  # stored lines' ids
    dirty_lines: set[str] = field(default_factory=set)  # stored lines to update
    tracking: KnownParcels = field(default_factory=KnownParcels)  # its parcels
    listed: Order | None = None  # the last listing applied to it


@dataclass
class _Added:
    """Rows a page adds to the child tables, in the order the per-order path added them."""

    lines: list[tuple[_Slot, str]] = field(default_factory=list)
    shipments: list[tuple[_Slot, dict[str, Any]]] = field(default_factory=list)


def write_order_page(session: Session, orders: Sequence[Order]) -> list[OrderWrite]:
    """Insert or update a page of orders set-based; one :class:`OrderWrite` per order."""
    if not orders:
        return []
    slots = _read_stored(session, orders)
    newest: dict[tuple[str, str], datetime] = {}
    for order in orders:
        key = (order.marketplace, order.external_id)
        if key not in newest or order.updated_at > newest[key]:
            newest[key] = order.updated_at
    changing = [s for key, s in slots.items() if newest[key] > s.remote_updated_at]
    if changing:
        _read_children(session, changing)
    added = _Added()
    out: list[OrderWrite] = []
    for order in orders:
        key = (order.marketplace, order.external_id)
        slot = slots.get(key)
        if slot is not None and slot.remote_updated_at >= order.updated_at:
            out.append(OrderWrite(order.marketplace, order.external_id,
                                  order.buyer.external_id, order.delivered_at, False, False))
            continue
        if slot is None:
            slot = slots[key] = _Slot(id=None, version=0, remote_updated_at=order.updated_at,
                                      delivered=False)
        was_delivered = slot.delivered
        if slot.values is not None or slot.id is not None:
            slot.bumps += 1  # an UPDATE of a row already written
        _apply(slot, order, added)
        out.append(OrderWrite(order.marketplace, order.external_id, order.buyer.external_id,
                              order.delivered_at, True,
                              order.delivered_at is not None and not was_delivered))
    skipped = _write(session, [s for s in slots.values() if s.values is not None], added)
    return [_as_last_listed(w, slots[(w.marketplace, w.external_id)], skipped) for w in out]


def _as_last_listed(write: OrderWrite, slot: _Slot, skipped: set[int]) -> OrderWrite:
    """A change reports the order as the page left it (its last listing), as the row read."""
    if id(slot) in skipped:  # another writer stored it first, as recent: no change here
        return write._replace(changed=False, newly_delivered=False)
    if not write.changed or slot.listed is None:
        return write
    return write._replace(buyer_id=slot.listed.buyer.external_id,
                          delivered_at=slot.listed.delivered_at)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _read_stored(session: Session, orders: Sequence[Order]) -> dict[tuple[str, str], _Slot]:
    ids: dict[str, list[str]] = {}
    for order in orders:
        ids.setdefault(order.marketplace, []).append(order.external_id)
    slots: dict[tuple[str, str], _Slot] = {}
    for marketplace, external_ids in ids.items():
        for chunk in _chunks(list(dict.fromkeys(external_ids))):
            for row in session.execute(
                select(_ORDERS.c.id, _ORDERS.c.external_id, _ORDERS.c.version,
                       _ORDERS.c.remote_updated_at, _ORDERS.c.delivered_at)
                .where(_ORDERS.c.marketplace == marketplace, _ORDERS.c.external_id.in_(chunk))
            ):
                slots[(marketplace, row.external_id)] = _Slot(
                    id=row.id, version=row.version, remote_updated_at=row.remote_updated_at,
                    delivered=row.delivered_at is not None)
    return slots


def _read_children(session: Session, changing: Sequence[_Slot]) -> None:
    by_id = {s.id: s for s in changing}
    order_ids = list(by_id)
    for chunk in _chunks(order_ids):
        for row in session.execute(select(_ORDERS).where(_ORDERS.c.id.in_(chunk))):
            by_id[row.id].stored = {c: getattr(row, c) for c in _ORDER_COLUMNS}
        for line in session.execute(
            select(_LINES).where(_LINES.c.order_id.in_(chunk)).order_by(_LINES.c.id)
        ):
            slot = by_id[line.order_id]
            slot.line_ids[line.external_id] = line.id
            slot.lines[line.external_id] = {c: getattr(line, c) for c in _LINE_COLUMNS}
        for parcel in session.execute(
            select(_SHIPMENTS.c.order_id, _SHIPMENTS.c.tracking_number, _SHIPMENTS.c.carrier)
            .where(_SHIPMENTS.c.order_id.in_(chunk))
        ):
            by_id[parcel.order_id].tracking.add(parcel.tracking_number, parcel.carrier)


_LINE_COLUMNS = ("sku", "title", "category", "quantity", "unit_price", "discount", "taxes")


_ORDER_COLUMNS = (
    "marketplace", "external_id", "buyer_id", "buyer", "currency", "shipping", "discount",
    "total", "raw_status", "placed_at", "remote_updated_at", "delivered_at", "taxes_included",
    "shipping_taxes", "shop_currency", "shop_total", "platform_refunds",
)


def _keep_equal(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new``, keeping ``old``'s value where the two are equal (``Decimal("5.0")`` stays).

    The ORM writes only the columns whose value compares unequal; this keeps
    the stored text of a value that is equal but spelled differently.
    """
    if old is None:
        return new
    return {c: old[c] if c in old and old[c] == v else v for c, v in new.items()}


def _apply(slot: _Slot, order: Order, added: _Added) -> None:
    slot.values = _keep_equal(slot.values if slot.values is not None else slot.stored,
                              _order_columns(order))
    slot.remote_updated_at = order.updated_at
    slot.listed = order
    slot.delivered = order.delivered_at is not None
    for line in order.lines:
        old = slot.lines.get(line.external_id)
        columns = _keep_equal(old, _line_columns(line))
        if old is None:
            added.lines.append((slot, line.external_id))
        elif line.external_id in slot.line_ids and old != columns:
            slot.dirty_lines.add(line.external_id)
        slot.lines[line.external_id] = columns
    for shipment in order.shipments:
        # one parcel per folded number and carrier, spelled as first written
        if not slot.tracking.first(shipment.tracking_number, shipment.carrier):
            continue
        added.shipments.append((slot, {
            "store": order.marketplace,
            "direction": shipment.direction.value,
            "tracking_number": shipment.tracking_number,
            # passed here: PostgreSQL's INSERT ... SELECT runs no column default
            "tracking_key": tracking_key(shipment.tracking_number),
            "carrier": shipment.carrier,
            "shipped_at": shipment.shipped_at,
        }))


def _order_columns(order: Order) -> dict[str, Any]:
    return {
        "marketplace": order.marketplace,
        "external_id": order.external_id,
        "buyer_id": order.buyer.external_id,
        "buyer": order.buyer.model_dump(mode="json"),
        "currency": order.currency,
        "shipping": order.shipping.amount,
        "discount": order.discount.amount,
        "total": order.total.amount,
        "raw_status": order.raw_status,
        "placed_at": order.placed_at,
        "remote_updated_at": order.updated_at,
        "delivered_at": order.delivered_at,
        "taxes_included": order.taxes_included,
        "shipping_taxes": taxes_out(order.shipping_taxes),
        "shop_currency": order.shop_currency,
        "shop_total": order.shop_total.amount if order.shop_total is not None else None,
        "platform_refunds": refunds_out(order.refunds),
    }


def _line_columns(line: OrderLine) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "title": line.title,
        "category": line.category,
        "quantity": line.quantity,
        "unit_price": line.unit_price.amount,
        "discount": line.discount.amount if line.discount else Decimal(0),
        "taxes": taxes_out(line.taxes),
    }


def taxes_out(taxes: Sequence[TaxLine]) -> list[dict[str, Any]]:
    """Tax lines as the JSON the order tables store (amounts as strings)."""
    return [{"amount": str(t.amount.amount), "rate_id": t.rate_id, "title": t.title,
             "rate": None if t.rate is None else str(t.rate)} for t in taxes]


def _write(session: Session, slots: Sequence[_Slot], added: _Added) -> set[int]:
    """Write the page's changes; the ids of fresh orders someone else stored meanwhile.

    Such an order was found stored (by another writer, after this page's
    read) as recent as this page has it: the upsert left it alone, so this
    page did not change it, and its planned children are not written.
    """
    if not slots:
        return set()
    now = utcnow()
    fresh = [s for s in slots if s.id is None]
    stale = [s for s in slots if s.id is not None]
    skipped: set[int] = set()
    if fresh:
        rows = [{**(s.values or {}), "version": 1 + s.bumps, "created_at": now, "updated_at": now}
                for s in fresh]
        done = {(r.marketplace, r.external_id): r for r in upsert_rows(
            session, _ORDERS, rows, key=("marketplace", "external_id"),
            update=(*_ORDER_COLUMNS[2:], "updated_at"), add=("version",),
            where=lambda t, new: t.c.remote_updated_at < new.remote_updated_at,
            returning=("id", "marketplace", "external_id", "version"))}
        for slot in fresh:
            values = slot.values or {}
            row = done.get((values["marketplace"], values["external_id"]))
            if row is None:  # stored meanwhile, as recent: unchanged by this page
                skipped.add(id(slot))
                continue
            if row.version != 1 + slot.bumps:  # stored meanwhile, older: our plan is stale
                raise StaleDataError("an order was stored while its page was written")
            slot.id = row.id
    if stale:
        params = [({"id": s.id, "version": s.version},
                   {**(s.values or {}), "version": s.version + s.bumps, "updated_at": now})
                  for s in stale]
        if update_rows(session, _ORDERS, params) != len(params):
            raise StaleDataError("an order changed while its page was written")
    new_lines = [{"order_id": s.id, "external_id": ext, **s.lines[ext]}
                 for s, ext in added.lines if id(s) not in skipped]
    upsert_rows(session, _LINES, new_lines)
    dirty = [({"id": s.line_ids[ext]}, s.lines[ext])
             for s in slots for ext in s.line_ids if ext in s.dirty_lines]
    update_rows(session, _LINES, dirty)
    parcels = [{"order_id": s.id, **p, "version": 1, "created_at": now, "updated_at": now}
               for s, p in added.shipments if id(s) not in skipped]
    # a parcel another writer stored meanwhile (under any spelling) is left as it is:
    # the known orders' rows are locked by their UPDATE above, so their parcels read
    # now are all there are (a carrier's parcel and one of none never conflict)
    insert_parcels(session, still_new(session, parcels, [s.id for s in stale if s.id]))
    return skipped
