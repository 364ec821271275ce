"""Orders in the store: idempotent upserts from a marketplace and reads back as models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from aftersales.models import (
    Buyer,
    Order,
    OrderLine,
    PlatformRefund,
    Shipment,
    ShipmentDirection,
    TaxLine,
)
from aftersales.money import Money
from aftersales.redact import MAX_KNOWN_NAME
from aftersales.store.driver import IN_CHUNK
from aftersales.store.parcel_keys import KnownParcels
from aftersales.store.tables.core import OrderLineRow, OrderRow, ShipmentRow

__all__ = ["MAX_MASKED_NAME", "BuyerContact", "buyer_contacts_by_order", "buyer_names",
           "get_order_row", "order_from_row", "order_validated", "refunds_out", "upsert_orders"]


def get_order_row(session: Session, marketplace: str, external_id: str) -> OrderRow | None:
    """The stored order with that natural key, lines loaded."""
    return session.scalar(
        select(OrderRow)
        .options(selectinload(OrderRow.lines))
        .where(OrderRow.marketplace == marketplace, OrderRow.external_id == external_id)
    )


def buyer_names(session: Session, order_id: int | None) -> tuple[str, ...]:
    """The buyer's name as the stored order holds it (none if unknown).

    For :func:`aftersales.redact.known_names`: the one reliable way to tell
    a person's name in a marketplace's free text is to know it already.
    """
    row = session.get(OrderRow, order_id) if order_id is not None else None
    return _name_of(row.buyer) if row is not None else ()


#: The longest buyer name :func:`buyer_contacts_by_order` hands on for masking.
MAX_MASKED_NAME = MAX_KNOWN_NAME


class BuyerContact(NamedTuple):
    """What a parcel's look-up may need of its buyer: the names to mask
    (:func:`aftersales.redact.known_names`), and the last four digits of the phone
    (SF Express checks them before it shows a waybill's scans), when known."""

    names: tuple[str, ...]
    phone_suffix: str | None


def buyer_contacts_by_order(session: Session, order_ids: Iterable[int]) -> dict[int, BuyerContact]:
    """Each stored order's :class:`BuyerContact` when its buyer has a name (of at most
    :data:`MAX_MASKED_NAME` characters) or a phone (of four digits or more), by the
    order's id, in one query per 900 ids."""
    ids = sorted(set(order_ids))
    found: dict[int, BuyerContact] = {}
    for start in range(0, len(ids), IN_CHUNK):
        rows = session.execute(select(OrderRow.id, OrderRow.buyer)
                               .where(OrderRow.id.in_(ids[start:start + IN_CHUNK])))
        for order_id, buyer in rows:
            phone = buyer.get("phone") if isinstance(buyer, dict) else None
            digits = "".join(c for c in phone if c in "0123456789") if isinstance(
                phone, str) else ""
            # A "name" longer than any person's is no name to look for: masking text
            # by its every word took seconds of CPU per log line (a hostile checkout).
            names = tuple(n for n in _name_of(buyer) if len(n) <= MAX_MASKED_NAME)
            contact = BuyerContact(names, digits[-4:] if len(digits) >= 4 else None)
            if contact.names or contact.phone_suffix:
                found[order_id] = contact
    return found


def _name_of(buyer: Any) -> tuple[str, ...]:
    name = buyer.get("name") if isinstance(buyer, dict) else None
    return (name,) if isinstance(name, str) and name.strip() else ()


def upsert_orders(session: Session, orders: Sequence[Order]) -> list[tuple[OrderRow, bool, bool]]:
    """Insert or update a page of orders in one round of queries.

    Returns one ``(row, changed, newly_delivered)`` per order: ``changed`` is
    False when the stored copy was already this recent, so a re-sync writes
    nothing; ``newly_delivered`` says a delivery time appeared.
    """
    if not orders:
        return []
    by_key: dict[tuple[str, str], OrderRow] = {}
    marketplaces = {o.marketplace for o in orders}
    for marketplace in marketplaces:
        ids = [o.external_id for o in orders if o.marketplace == marketplace]
        rows = session.scalars(
            select(OrderRow)
            .options(selectinload(OrderRow.lines))
            .where(OrderRow.marketplace == marketplace, OrderRow.external_id.in_(ids))
        )
        by_key.update({(r.marketplace, r.external_id): r for r in rows})
    out: list[tuple[OrderRow, bool, bool]] = []
    for order in orders:
        row = by_key.get((order.marketplace, order.external_id))
        if row is not None and row.remote_updated_at >= order.updated_at:
            out.append((row, False, False))
            continue
        was_delivered = row is not None and row.delivered_at is not None
        if row is None:
            row = OrderRow(marketplace=order.marketplace, external_id=order.external_id)
            session.add(row)
            by_key[(order.marketplace, order.external_id)] = row
        _fill(row, order)
        session.flush()
        _sync_shipments(session, row, order.shipments)
        out.append((row, True, order.delivered_at is not None and not was_delivered))
    return out


def _fill(row: OrderRow, order: Order) -> None:
    row.buyer_id = order.buyer.external_id
    row.buyer = order.buyer.model_dump(mode="json")
    row.currency = order.currency
    row.shipping = order.shipping.amount
    row.discount = order.discount.amount
    row.total = order.total.amount
    row.raw_status = order.raw_status
    row.placed_at = order.placed_at
    row.remote_updated_at = order.updated_at
    row.delivered_at = order.delivered_at
    row.taxes_included = order.taxes_included
    row.shipping_taxes = _taxes_out(order.shipping_taxes)
    row.shop_currency = order.shop_currency
    row.shop_total = order.shop_total.amount if order.shop_total is not None else None
    row.platform_refunds = refunds_out(order.refunds)
    existing = {line.external_id: line for line in row.lines}
    for line in order.lines:
        target = existing.get(line.external_id)
        if target is None:
            target = OrderLineRow(external_id=line.external_id)
            row.lines.append(target)
        target.sku = line.sku
        target.title = line.title
        target.category = line.category
        target.quantity = line.quantity
        target.unit_price = line.unit_price.amount
        target.discount = line.discount.amount if line.discount else Decimal(0)
        target.taxes = _taxes_out(line.taxes)


def refunds_out(refunds: Sequence[PlatformRefund]) -> list[dict[str, Any]]:
    """The platform's refunds on an order as the ``platform_refunds`` column holds them."""
    return [r.model_dump(mode="json", exclude_defaults=True) for r in refunds]


def _taxes_out(taxes: Sequence[TaxLine]) -> list[dict[str, Any]]:
    return [{"amount": str(t.amount.amount), "rate_id": t.rate_id, "title": t.title,
             "rate": None if t.rate is None else str(t.rate)} for t in taxes]


def _taxes_in(data: Sequence[dict[str, Any]] | None, currency: str) -> list[TaxLine]:
    return [TaxLine(amount=Money(d["amount"], currency), rate_id=d.get("rate_id"),
                    title=d.get("title") or "",
                    rate=None if d.get("rate") is None else Decimal(d["rate"]))
            for d in data or []]


def _sync_shipments(session: Session, row: OrderRow, shipments: Sequence[Shipment]) -> None:
    if not shipments:
        return
    # one parcel per folded number and carrier, spelled as first written
    known = KnownParcels((number, carrier) for number, carrier in session.execute(
        select(ShipmentRow.tracking_number, ShipmentRow.carrier)
        .where(ShipmentRow.order_id == row.id)))
    for shipment in shipments:
        if not known.first(shipment.tracking_number, shipment.carrier):
            continue
        session.add(
            ShipmentRow(
                order_id=row.id,
                store=row.marketplace,
                direction=shipment.direction.value,
                tracking_number=shipment.tracking_number,
                carrier=shipment.carrier,
                shipped_at=shipment.shipped_at,
            )
        )


_new = object.__new__
_set = object.__setattr__
_BUYER_ORDER = tuple(Buyer.model_fields)
_BUYER_FIELDS = frozenset(_BUYER_ORDER)


def _built(cls: type[Any], values: dict[str, Any], given: set[str] | None = None) -> Any:
    """A model of ``values`` (every field, in order) that validation would keep as they are,
    set as it would set them; ``given`` are the fields passed (default: all of them)."""
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values) if given is None else given)
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def _order_as_stored(row: OrderRow) -> Order | None:
    """:func:`order_from_row` without running validation, when the stored columns are
    already what validating them would give back unchanged: plain text, finite Decimals,
    aware times, a currency code in its normal form, at least one line of at least one unit,
    a buyer of known fields, and nothing validation would build further (taxes, platform
    refunds, the shop's money). ``None`` otherwise (a sync page reads hundreds of orders)."""
    cur, buyer, lines = row.currency, row.buyer, row.lines
    if not (type(cur) is str and len(cur) == 3 and cur.isascii() and cur.isalpha()
            and cur.isupper() and type(row.marketplace) is str
            and type(row.external_id) is str
            and (row.raw_status is None or type(row.raw_status) is str)
            and _aware(row.placed_at) and _aware(row.remote_updated_at)
            and (row.delivered_at is None or _aware(row.delivered_at))
            and type(row.taxes_included) is bool
            and _amount(row.shipping) and _amount(row.discount) and _amount(row.total)
            and not row.shipping_taxes and not row.platform_refunds
            and row.shop_currency is None and row.shop_total is None
            and type(buyer) is dict and type(buyer.get("external_id")) is str
            and buyer.keys() <= _BUYER_FIELDS and lines):
        return None
    for value in buyer.values():
        if value is not None and type(value) is not str:
            return None
    money = Money._derived  # the amounts are checked finite and the code normal
    built = []
    for ln in lines:
        quantity, price, discount, category = ln.quantity, ln.unit_price, ln.discount, ln.category
        if not (type(ln.external_id) is str and type(ln.sku) is str and type(ln.title) is str
                and (category is None or type(category) is str)
                and type(quantity) is int and quantity >= 1
                and type(price) is Decimal and price.is_finite()
                and type(discount) is Decimal and discount.is_finite() and not ln.taxes):
            return None
        built.append(_built(OrderLine, {
            "external_id": ln.external_id, "sku": ln.sku, "title": ln.title,
            "category": category, "quantity": quantity, "unit_price": money(price, cur),
            "discount": money(discount, cur) if discount else None, "taxes": [],
        }))
    return cast(Order, _built(Order, {
        "marketplace": row.marketplace, "external_id": row.external_id,
        "buyer": _built(Buyer, {k: buyer.get(k) for k in _BUYER_ORDER}, set(buyer)),
        "currency": cur, "lines": built, "shipping": money(row.shipping, cur),
        "discount": money(row.discount, cur), "total": money(row.total, cur),
        "raw_status": row.raw_status, "placed_at": row.placed_at,
        "updated_at": row.remote_updated_at, "delivered_at": row.delivered_at,
        "shipments": [], "taxes_included": row.taxes_included, "shipping_taxes": [],
        "shop_currency": None, "shop_total": None, "refunds": [],
    }))


def _aware(value: Any) -> bool:
    return type(value) is datetime and value.utcoffset() is not None


def _amount(value: Any) -> bool:
    return type(value) is Decimal and value.is_finite()


def order_from_row(row: OrderRow, shipments: Sequence[ShipmentRow] = ()) -> Order:
    """The stored order as the core's model."""
    fast = None if shipments else _order_as_stored(row)
    return fast if fast is not None else order_validated(row, shipments)


def order_validated(row: OrderRow, shipments: Sequence[ShipmentRow] = ()) -> Order:
    """:func:`order_from_row` with every value validated (a test compares the two)."""
    cur = row.currency
    return Order(
        marketplace=row.marketplace,
        external_id=row.external_id,
        buyer=Buyer.model_validate(row.buyer),
        currency=cur,
        lines=[
            OrderLine(
                external_id=line.external_id,
                sku=line.sku,
                title=line.title,
                category=line.category,
                quantity=line.quantity,
                unit_price=Money(line.unit_price, cur),
                discount=Money(line.discount, cur) if line.discount else None,
                taxes=_taxes_in(line.taxes, cur),
            )
            for line in row.lines
        ],
        shipping=Money(row.shipping, cur),
        discount=Money(row.discount, cur),
        total=Money(row.total, cur),
        raw_status=row.raw_status,
        placed_at=row.placed_at,
        updated_at=row.remote_updated_at,
        delivered_at=row.delivered_at,
        taxes_included=row.taxes_included,
        shipping_taxes=_taxes_in(row.shipping_taxes, cur),
        shop_currency=row.shop_currency,
        shop_total=(Money(row.shop_total, row.shop_currency or cur)
                    if row.shop_total is not None else None),
        refunds=[PlatformRefund.model_validate(r) for r in row.platform_refunds or []],
        shipments=[
            Shipment(
                tracking_number=s.tracking_number,
                carrier=s.carrier,
                direction=ShipmentDirection(s.direction),
                shipped_at=s.shipped_at,
            )
            for s in shipments
        ],
    )
