"""Pure conversions between Shopify payloads and the core's models.

The tables below are Shopify's vocabulary for returns and parcels, each
checked against the Admin API reference for 2026-01 on 2026-12-02:
``RETURN_STATUS`` (the ``ReturnStatus`` enum, upper case in GraphQL and lower
case in webhooks), ``RETURN_REASON`` (the ``ReturnReason`` enum, deprecated in
2026-01 but still sent), ``REASON_HANDLES`` (phrases in the handles of the
open-ended ``ReturnReasonDefinition`` library that replaces it),
``FULFILLMENT_SHIPS`` (``FulfillmentStatus``: which fulfillments are parcels
that left) and ``SHIPMENT_STATUS`` (``FulfillmentEventStatus`` / REST
``shipment_status``). Nothing here does I/O, so every row is tested directly.

Ids: orders and order lines use Shopify's numeric REST ids (``"450789469"``),
returns use their GraphQL GID (``"gid://shopify/Return/945000960"``), because
returns exist only in GraphQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from aftersales.errors import ValidationError
from aftersales.logistics.carrier_names import carrier_for_name
from aftersales.models import (
    Buyer,
    Order,
    OrderLine,
    ParcelStatus,
    PlatformRefund,
    Refund,
    RefundedLine,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    TaxLine,
)
from aftersales.money import Money
from aftersales.wire import refusing, wire_id, wire_money

from .schemas import (
    GqlRefund,
    GqlReturn,
    GqlReturnLineItem,
    MoneySet,
    RestFulfillment,
    RestOrder,
    RestRefund,
    RestRefundTransaction,
    RestTaxLine,
    WebhookReturn,
    WebhookReturnLine,
)

__all__ = [
    "DECLINE_REASONS",
    "FULFILLMENT_SHIPS",
    "REASON_HANDLES",
    "RETURN_REASON",
    "RETURN_STATUS",
    "SHIPMENT_STATUS",
    "decline_reason",
    "gid",
    "map_reason",
    "map_reason_definition",
    "map_return_status",
    "numeric_id",
    "order_from_rest",
    "refund_from_gql",
    "refund_input",
    "refunds_from_rest",
    "return_from_gql",
    "return_from_webhook",
    "shipments_from_rest",
]

NAME = "shopify"

#: Shopify ``ReturnStatus`` → canonical status (one row per documented value).
RETURN_STATUS: dict[str, ReturnStatus] = {
    "REQUESTED": ReturnStatus.REQUESTED,
    "OPEN": ReturnStatus.APPROVED,
    "DECLINED": ReturnStatus.REJECTED,
    "CLOSED": ReturnStatus.CLOSED,
    "CANCELED": ReturnStatus.CANCELLED,
}

#: Shopify ``ReturnReason`` → canonical reason (one row per documented value).
RETURN_REASON: dict[str, ReturnReason] = {
    "SIZE_TOO_SMALL": ReturnReason.WRONG_SIZE,
    "SIZE_TOO_LARGE": ReturnReason.WRONG_SIZE,
    "UNWANTED": ReturnReason.CHANGED_MIND,
    "STYLE": ReturnReason.CHANGED_MIND,
    "COLOR": ReturnReason.CHANGED_MIND,
    "NOT_AS_DESCRIBED": ReturnReason.NOT_AS_DESCRIBED,
    "WRONG_ITEM": ReturnReason.WRONG_ITEM,
    "DEFECTIVE": ReturnReason.QUALITY_ISSUE,
    "OTHER": ReturnReason.OTHER,
    "UNKNOWN": ReturnReason.OTHER,
}

#: Phrases in a ``ReturnReasonDefinition.handle`` → canonical reason, tried in order.
#: Shopify's library of definitions is open-ended (the ``returnReasonDefinitions``
#: query lists it per shop, and handles such as ``arrived-late``, ``too-tight``,
#: ``color-too-bright`` or ``quality`` are its documented examples), so there is
#: no closed list to enumerate: a handle matching no phrase is ``OTHER``, with
#: the definition's name kept in the line's reason text. Colour and style come
#: before size so that ``color-too-bright`` is not read as a size.
REASON_HANDLES: tuple[tuple[str, ReturnReason], ...] = (
    ("late", ReturnReason.LATE_DELIVERY),
    ("damaged", ReturnReason.DAMAGED_IN_TRANSIT),
    ("wrong-item", ReturnReason.WRONG_ITEM),
    ("wrong-product", ReturnReason.WRONG_ITEM),
    ("missing", ReturnReason.MISSING_ITEM),
    ("not-as-described", ReturnReason.NOT_AS_DESCRIBED),
    ("defect", ReturnReason.QUALITY_ISSUE),
    ("quality", ReturnReason.QUALITY_ISSUE),
    ("broken", ReturnReason.QUALITY_ISSUE),
    ("faulty", ReturnReason.QUALITY_ISSUE),
    ("color", ReturnReason.CHANGED_MIND),
    ("colour", ReturnReason.CHANGED_MIND),
    ("style", ReturnReason.CHANGED_MIND),
    ("unwanted", ReturnReason.CHANGED_MIND),
    ("changed-mind", ReturnReason.CHANGED_MIND),
    ("no-longer", ReturnReason.CHANGED_MIND),
    ("size", ReturnReason.WRONG_SIZE),
    ("too-", ReturnReason.WRONG_SIZE),
    ("fit", ReturnReason.WRONG_SIZE),
    ("comfort", ReturnReason.WRONG_SIZE),
)

#: ``FulfillmentStatus`` (GraphQL upper case, REST lower case) → whether the
#: fulfillment is a parcel that left. Only ``SUCCESS`` is: ``CANCELLED``,
#: ``ERROR`` and ``FAILURE`` never shipped, and the legacy ``PENDING``/``OPEN``
#: (deprecated, a fulfillment service still working on it) have not shipped yet;
#: a later ``fulfillments/update`` brings them in once they succeed.
FULFILLMENT_SHIPS: dict[str, bool] = {
    "SUCCESS": True,
    "CANCELLED": False,
    "ERROR": False,
    "FAILURE": False,
    "PENDING": False,
    "OPEN": False,
}

#: ``FulfillmentEventStatus`` (2026-01, plus ``PICKED_UP`` from ``unstable``) and
#: the REST ``shipment_status`` (same words, lower case) → canonical parcel status.
SHIPMENT_STATUS: dict[str, ParcelStatus] = {
    "LABEL_PURCHASED": ParcelStatus.INFO_RECEIVED,
    "LABEL_PRINTED": ParcelStatus.INFO_RECEIVED,
    "CONFIRMED": ParcelStatus.INFO_RECEIVED,
    "CARRIER_PICKED_UP": ParcelStatus.PICKED_UP,
    "IN_TRANSIT": ParcelStatus.IN_TRANSIT,
    "DELAYED": ParcelStatus.IN_TRANSIT,
    "OUT_FOR_DELIVERY": ParcelStatus.OUT_FOR_DELIVERY,
    "ATTEMPTED_DELIVERY": ParcelStatus.FAILED_ATTEMPT,
    "READY_FOR_PICKUP": ParcelStatus.AVAILABLE_FOR_PICKUP,
    "PICKED_UP": ParcelStatus.DELIVERED,
    "DELIVERED": ParcelStatus.DELIVERED,
    "FAILURE": ParcelStatus.EXCEPTION,
}

#: Shopify's ``ReturnDeclineReason`` values; anything else is declined as ``OTHER``.
DECLINE_REASONS = frozenset({"RETURN_PERIOD_ENDED", "FINAL_SALE", "OTHER"})

def gid(kind: str, value: str | int) -> str:
    """The GraphQL GID of a REST id (``gid("Order", 1)`` → ``gid://shopify/Order/1``)."""
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def numeric_id(value: str | int) -> str:
    """The numeric REST id inside a GID (or the id itself when already numeric)."""
    return str(value).rsplit("/", 1)[-1].split("?", 1)[0]


def map_return_status(raw: str) -> ReturnStatus:
    """The canonical status of a Shopify return status (either case).

    Raises:
        ValidationError: the status is not one Shopify documents.
    """
    try:
        return RETURN_STATUS[raw.strip().upper()]
    except KeyError:
        # named, never quoted: whatever came in this field is no status of Shopify's
        raise ValidationError("unknown return status", field="status",
                              payload="shopify return") from None


def map_reason(raw: str | None) -> ReturnReason:
    """The canonical reason of a Shopify return reason; unknown or missing is ``OTHER``.

    Unknown values are tolerated because 2026-01 adds merchant-defined reason
    definitions beside the enum.
    """
    return RETURN_REASON.get((raw or "").strip().upper(), ReturnReason.OTHER)


def map_reason_definition(handle: str | None) -> ReturnReason:
    """The canonical reason of a ``ReturnReasonDefinition`` handle (2026-01 and later).

    A handle spelling one of the legacy enum values (``wrong-item``) maps as
    that value; otherwise the first phrase of :data:`REASON_HANDLES` found in
    it decides; a handle matching nothing is ``OTHER``.
    """
    low = (handle or "").strip().lower()
    legacy = RETURN_REASON.get(low.replace("-", "_").upper())
    if legacy is not None and legacy is not ReturnReason.OTHER:
        return legacy
    for phrase, reason in REASON_HANDLES:
        if phrase in low:
            return reason
    return ReturnReason.OTHER


def ships(status: str | None) -> bool:
    """Whether a fulfillment with this status is a parcel that left (see ``FULFILLMENT_SHIPS``).

    A fulfillment without a status (a trimmed payload) is taken as shipped; an
    unknown status is not, so that no follow-up runs on a parcel that may
    never have left.
    """
    if status is None:
        return True
    return FULFILLMENT_SHIPS.get(status.strip().upper(), False)


def shipment_status(raw: str | None) -> ParcelStatus | None:
    """The canonical status of a ``shipment_status``; ``None`` when missing or unknown."""
    return SHIPMENT_STATUS.get((raw or "").strip().upper())


def decline_reason(reason: str) -> str:
    """The ``ReturnDeclineReason`` for a rejection reason (``"final_sale"`` → ``FINAL_SALE``)."""
    code = reason.strip().upper().replace(" ", "_").replace("-", "_")
    return code if code in DECLINE_REASONS else "OTHER"


def _carrier(company: str | None) -> str | None:
    # free-text ``tracking_company``: the core's one name table; unknown names kept lower-cased
    if not company:
        return None
    return carrier_for_name(company) or company.strip().lower()


def shipments_from_rest(fulfillments: Iterable[RestFulfillment]) -> list[Shipment]:
    """One outbound shipment per tracking number of every fulfillment that shipped.

    Cancelled, failed and errored fulfillments (and legacy ones still pending)
    are skipped: see :data:`FULFILLMENT_SHIPS`.
    """
    out: list[Shipment] = []
    for f in fulfillments:
        if not ships(f.status):
            continue
        numbers = list(dict.fromkeys([*f.tracking_numbers, *filter(None, [f.tracking_number])]))
        for number in numbers:
            out.append(Shipment(
                tracking_number=number,
                carrier=_carrier(f.tracking_company),
                external_id=str(f.id),
                shipped_at=f.created_at,
                line_ids=[str(li.id) for li in f.line_items],
            ))
    return out


def _in_buyer_money(o: RestOrder) -> Callable[..., Decimal]:
    """A picker of the buyer's (presentment) amount of each REST amount.

    Shopify's plain fields (``price``, ``total_price``) are in the shop's
    currency; the ``*_set.presentment_money`` twins are in the currency the
    buyer paid, which is the one ``refundCreate`` takes. When the two
    currencies differ an amount without its presentment twin is refused
    rather than mislabelled. Every amount picked must be a whole number of
    the currency's minor units (:func:`aftersales.wire.wire_money`).
    """
    shop = wire_money(Decimal(0), o.currency, field="currency", payload="shopify order").currency
    buyer = wire_money(Decimal(0), o.presentment_currency or shop, field="presentment_currency",
                       payload="shopify order").currency

    def pick(value: Decimal, money: MoneySet | None, field: str, signed: bool = False
             ) -> Decimal:
        if money is not None and money.presentment_money is not None:
            pm = money.presentment_money
            if pm.currency_code.strip().upper() != buyer:
                raise ValidationError(f"{field} is not in the order's {buyer}",
                                      field=field, payload="shopify order")
            value = pm.amount
        elif buyer != shop:
            raise ValidationError(f"{field} has no presentment_money for a {buyer} order",
                                  field=field, payload="shopify order")
        if value < 0 and not signed:  # only adjustments are negative on Shopify's wire
            raise ValidationError("a negative amount", field=field, payload="shopify order")
        return wire_money(value, buyer, field=field, payload="shopify order").amount

    return pick


def _taxes(lines: Iterable[RestTaxLine], pick: Callable[..., Decimal],
           cur: str, field: str) -> list[TaxLine]:
    return [TaxLine(amount=Money(pick(t.price, t.price_set, field), cur), title=t.title,
                    rate=t.rate) for t in lines]


#: Refund transaction statuses whose money went back or is on its way (``failure``
#: and ``error`` returned nothing): counted so that the same money is never paid twice.
RETURNING_TRANSACTION = frozenset({"success", "pending"})


def _returned(transactions: Iterable[RestRefundTransaction], cur: str) -> Decimal:
    """The money a REST refund's transactions returned, in the buyer's currency ``cur``.

    Only ``refund`` transactions that succeeded or are pending count. Their
    amounts are in the order's presentment currency (Shopify converts them to
    the shop's only when ``in_shop_currency`` is asked); one in another
    currency is refused rather than added to the wrong money.
    """
    total = Decimal(0)
    for t in transactions:
        if (t.kind or "").strip().lower() != "refund" or t.amount is None:
            continue
        if (t.status or "").strip().lower() not in RETURNING_TRANSACTION:
            continue
        field = "refunds.transactions.amount"
        if t.currency is not None and t.currency.strip().upper() != cur:
            raise ValidationError(f"{field} is not in the order's {cur}", field=field,
                                  payload="shopify order")
        total += wire_money(t.amount, cur, field=field, payload="shopify order").amount
    return total


def _shipping_refunded(r: RestRefund, pick: Callable[..., Decimal], *,
                       included: bool) -> Decimal:
    """The shipping refund ``r`` gave back, tax included, in the buyer's money.

    From Admin API 2024-10 Shopify reports it as ``refund_shipping_lines``
    (each ``subtotal_amount_set``, no tax) and calls the ``shipping_refund``
    order adjustment deprecated; shops still send that adjustment beside the
    lines for the same money (negative, with its ``tax_amount_set``). So the
    lines, when there are any, give the shipping and an adjustment only its
    tax; without lines (older versions) the adjustments give both. Taxes
    included in the prices leave the tax out, as for the lines refunded.
    """
    adjustments = [a for a in r.order_adjustments if (a.kind or "").lower() == "shipping_refund"]
    total = Decimal(0)
    for sl in r.refund_shipping_lines:
        field = "refund_shipping_lines.subtotal_amount_set"
        if sl.subtotal_amount_set is None:
            raise ValidationError(f"{field} is missing", field=field, payload="shopify order")
        total += pick(sl.subtotal_amount_set.shop_money.amount, sl.subtotal_amount_set, field)
    for adj in adjustments:
        if not r.refund_shipping_lines:
            total += abs(pick(adj.amount, adj.amount_set, "order_adjustments", signed=True))
        if not included:
            total += abs(pick(adj.tax_amount, adj.tax_amount_set, "order_adjustments.tax_amount",
                              signed=True))
    return total


@refusing(payload="shopify order")
def refunds_from_rest(o: RestOrder, *, store: str = NAME) -> list[PlatformRefund]:
    """The order's refunds as Shopify lists them (``refunds[]``), in the buyer's currency.

    Each line refunded is ``refund_line_items[]``: its ``quantity`` and its
    ``subtotal_set`` plus ``total_tax_set`` when the order's prices exclude
    tax (Shopify's sample order 450789469: 195.66 + 3.98 for a 199.00 line
    less its 3.33 discount share), the subtotal alone when they include it;
    shipping refunded is its ``refund_shipping_lines[]`` or, before API
    2024-10, an ``order_adjustments[]`` entry of kind ``shipping_refund``,
    never both for the same money (:func:`_shipping_refunded`). A
    ``refund_discrepancy`` adjustment is not counted: it only records a
    difference to Shopify's own calculation.

    The money the refund returned is its ``transactions[]`` (:func:`_returned`):
    a line refunded at 0.00 with a 41.94 transaction (Shopify's 2026-01
    example refund 929361483) or an amount-only refund returned money no line
    or shipping names, kept as ``other``. When the lines and shipping are
    worth more than the transactions (Shopify's sample order 450789469, whose
    ``current_total_price`` follows its lines), the larger figure stays, so
    the caps never count less than was refunded. The refund's id is its
    GraphQL id, the one ``refundCreate`` returns and the store records for
    the library's own refunds.
    """
    pick = _in_buyer_money(o)
    cur = (o.presentment_currency or o.currency).upper()
    out: list[PlatformRefund] = []
    for r in o.refunds:
        lines = []
        for li in r.refund_line_items:
            tax = Money(pick(li.total_tax, li.total_tax_set, "refund_line_items.total_tax"), cur)
            goods = Money(pick(li.subtotal, li.subtotal_set, "refund_line_items.subtotal"), cur)
            lines.append(RefundedLine(order_line_id=str(li.line_item_id), quantity=li.quantity,
                                      amount=goods + (tax if not o.taxes_included else
                                                      Money.zero(cur)),
                                      tax=tax if tax else None))
        shipping = Money(_shipping_refunded(r, pick, included=o.taxes_included), cur)
        attributed = sum((ln.amount for ln in lines), shipping)
        other = Money(_returned(r.transactions, cur), cur) - attributed
        amount = attributed + other if other.amount > 0 else attributed
        out.append(PlatformRefund(
            external_id=r.admin_graphql_api_id or gid("Refund", r.id), amount=amount,
            lines=lines, shipping=shipping if shipping else None,
            other=other if other.amount > 0 else None, created_at=r.created_at))
    return out


def _held(quantity: int, current: int | None, refunded: int) -> int:
    """The units of a line the order still holds for returns and refunds.

    ``current_quantity`` (REST 2024-01 on) is what is left after removals,
    refunded units included; the refunds are counted on their own (the
    refund ledger), so their units stay on the line. Units an order edit
    removed without a refund line are gone. Without ``current_quantity``
    (an older API version) the ordered quantity stands.
    """
    if current is None:
        return quantity
    return min(quantity, current + refunded)


@refusing(payload="shopify order")
def order_from_rest(o: RestOrder, *, store: str = NAME) -> Order:
    """An :class:`Order` of ``store`` from a REST order, in the buyer's (presentment) currency.

    Shopify already spreads order-level discounts over the lines
    (``discount_allocations``); they become each line's discount, and only
    what is left unallocated stays an order-level discount. Each line keeps
    its ``tax_lines`` and the shipping its own; ``taxes_included`` is the
    order's. When the buyer paid in another currency than the shop's, the
    shop's currency and total are kept beside (``shop_currency``,
    ``shop_total``). The refunds already made on the order, in Shopify's
    admin or by this library, are kept too (:func:`refunds_from_rest`).
    A line holds the units an order edit left on it (:func:`_held`), with
    its discount and tax in proportion; a line an edit removed is dropped.
    """
    pick = _in_buyer_money(o)
    cur = (o.presentment_currency or o.currency).upper()
    lines: list[OrderLine] = []
    allocated = Decimal(0)
    refunded: dict[int, int] = {}
    for r in o.refunds:
        for rl in r.refund_line_items:
            refunded[rl.line_item_id] = refunded.get(rl.line_item_id, 0) + rl.quantity
    for li in o.line_items:
        disc = sum((pick(a.amount, a.amount_set, "discount_allocations")
                    for a in li.discount_allocations), Decimal(0)) or pick(
            li.total_discount, li.total_discount_set, "total_discount")
        allocated += disc
        taxes = _taxes(li.tax_lines, pick, cur, "tax_lines")
        held = _held(li.quantity, li.current_quantity, refunded.get(li.id, 0))
        if held == 0:
            continue  # an order edit removed the whole line: nothing of it is left
        if held < li.quantity:  # the removed units' share of discount and tax goes too
            disc = Money(disc * held / li.quantity, cur).rounded().amount
            taxes = [t.model_copy(update={"amount": Money(
                t.amount.amount * held / li.quantity, cur).rounded()}) for t in taxes]
        lines.append(OrderLine(
            external_id=str(li.id), sku=li.sku or "", title=li.title or li.name or "",
            quantity=held, unit_price=Money(pick(li.price, li.price_set, "price"), cur),
            discount=Money(disc, cur) if disc else None, taxes=taxes,
        ))
    c = o.customer
    name = " ".join(filter(None, [c.first_name, c.last_name])) if c else None
    address = None
    if o.shipping_address:
        a = o.shipping_address
        address = ", ".join(filter(None, [a.address1, a.address2, a.city, a.province, a.zip,
                                          a.country])) or None
    buyer = Buyer(
        external_id=str(c.id) if c else f"guest:{o.id}",
        name=name or None, email=(c.email if c else None) or o.email,
        phone=(c.phone if c else None) or o.phone, address=address,
        locale=(c.locale if c else None) or o.customer_locale,
    )
    delivered = [f.updated_at for f in o.fulfillments if ships(f.status) and f.updated_at
                 and shipment_status(f.shipment_status) is ParcelStatus.DELIVERED]
    # What the buyer paid for shipping: the discounted price where Shopify gives one.
    shipping = sum((pick(s.discounted_price, s.discounted_price_set, "shipping_lines")
                    if s.discounted_price is not None
                    else pick(s.price, s.price_set, "shipping_lines")
                    for s in o.shipping_lines), Decimal(0))
    discounts = pick(o.total_discounts, o.total_discounts_set, "total_discounts")
    two = cur != o.currency.upper()
    return Order(
        marketplace=store, external_id=str(o.id), buyer=buyer, currency=cur, lines=lines,
        shipping=Money(shipping, cur),
        discount=Money(max(discounts - allocated, Decimal(0)), cur),
        total=Money(pick(o.total_price, o.total_price_set, "total_price"), cur),
        raw_status=o.financial_status,
        placed_at=o.created_at, updated_at=o.updated_at,
        delivered_at=max(delivered) if delivered else None,
        shipments=shipments_from_rest(o.fulfillments),
        taxes_included=o.taxes_included,
        shipping_taxes=[t for s in o.shipping_lines
                        for t in _taxes(s.tax_lines, pick, cur, "shipping_lines.tax_lines")],
        shop_currency=o.currency.upper() if two else None,
        shop_total=wire_money(o.total_price, o.currency, field="total_price",
                              payload="shopify order") if two else None,
        refunds=refunds_from_rest(o, store=store),
    )


def _reason(definition: str | None, label: str | None, legacy: str | None,
            note: str | None) -> tuple[ReturnReason, str | None]:
    """The canonical reason and the text kept beside it.

    ``returnReasonDefinition`` (2026-01) wins; the deprecated ``returnReason``
    enum is the fallback for older API versions and older returns.
    """
    if definition:
        reason, word = map_reason_definition(definition), label or definition
    elif legacy:
        reason, word = map_reason(legacy), legacy.upper()
    else:
        return ReturnReason.OTHER, note or None
    return reason, f"{word}: {note}" if note else word


def _line_from_gql(li: GqlReturnLineItem) -> ReturnLine:
    ref = li.fulfillmentLineItem.lineItem if li.fulfillmentLineItem else None
    note = li.returnReasonNote or li.customerNote or None
    definition = li.returnReasonDefinition
    reason, text = _reason(definition.handle if definition else None,
                           definition.name if definition else None, li.returnReason, note)
    if not definition and not li.returnReason:
        text = None
    return ReturnLine(
        order_line_id=numeric_id(ref.id) if ref else numeric_id(li.id),
        sku=ref.sku if ref else None, quantity=li.quantity, reason=reason, reason_text=text,
    )


def _line_from_webhook(li: WebhookReturnLine) -> ReturnLine:
    item = li.fulfillment_line_item or {}
    ref = item.get("line_item") if isinstance(item, dict) else None
    ref = ref if isinstance(ref, dict) else {}
    try:
        line_id = str(wire_id(ref["id"])) if ref.get("id") is not None else str(li.id)
    except ValueError:
        raise ValidationError("not a line item id",
                              field="return_line_items.fulfillment_line_item.line_item.id",
                              payload="shopify returns webhook") from None
    note = li.return_reason_note or li.customer_note or None
    definition = li.return_reason_definition or {}
    handle = definition.get("handle")
    reason, text = _reason(str(handle) if handle else None,
                           str(definition.get("name") or "") or None, li.return_reason, note)
    if not handle and not li.return_reason:
        text = None
    return ReturnLine(order_line_id=line_id, quantity=li.quantity,
                      reason=reason, reason_text=text)


@refusing(payload="shopify return")
def return_from_gql(r: GqlReturn, *, order_id: str | None = None,
                    updated_at: datetime | None = None, store: str = NAME) -> ReturnRequest:
    """A :class:`ReturnRequest` of ``store`` from a GraphQL ``Return``.

    Raises:
        ValidationError: the return has no line items or an unknown status.
    """
    lines = [_line_from_gql(li) for li in r.returnLineItems.nodes]
    if not lines:
        raise ValidationError("return has no line items", field="returnLineItems",
                              payload="shopify return")
    oid = order_id or (numeric_id(r.order.id) if r.order else None)
    if oid is None:
        raise ValidationError("return has no order", field="order", payload="shopify return")
    notes = [li.customerNote for li in r.returnLineItems.nodes if li.customerNote]
    return ReturnRequest(
        marketplace=store, order_id=oid, external_id=r.id,
        kind=ReturnKind.EXCHANGE if r.exchangeLineItems.nodes else ReturnKind.RETURN,
        lines=lines, status=map_return_status(r.status), raw_status=r.status.upper(),
        buyer_note="\n".join(notes) or None, created_at=r.createdAt,
        updated_at=updated_at or r.closedAt or r.requestApprovedAt or r.createdAt,
    )


@refusing(payload="shopify returns webhook")
def return_from_webhook(w: WebhookReturn, *, store: str = NAME) -> ReturnRequest | None:
    """The request of ``store`` a ``returns/*`` webhook describes; ``None`` for status only.

    ``returns/request``/``approve``/``decline`` carry line items; ``cancel``,
    ``close`` and ``reopen`` send only the id and status.
    """
    if not w.return_line_items:
        return None
    order_id = (w.order.id if w.order and w.order.id else None) or w.order_id
    if order_id is None:
        raise ValidationError("webhook has no order id", field="order",
                              payload="shopify returns webhook")
    lines = [_line_from_webhook(li) for li in w.return_line_items]
    notes = [li.customer_note for li in w.return_line_items if li.customer_note]
    return ReturnRequest(
        marketplace=store, order_id=str(order_id),
        external_id=w.admin_graphql_api_id or gid("Return", w.id),
        kind=ReturnKind.EXCHANGE if w.exchange_line_items else ReturnKind.RETURN,
        lines=lines, status=map_return_status(w.status), raw_status=w.status.upper(),
        buyer_note="\n".join(notes) or None,
    )


def refund_input(refund: Refund, transactions: list[dict[str, Any]],
                 location_id: str | None) -> dict[str, Any]:
    """The ``RefundInput`` for ``refundCreate``, in the buyer's (presentment) currency.

    ``transactions`` are Shopify's suggested refund transactions for the same
    lines and shipping (from ``refunds/calculate.json``). When their sum is
    the refund's amount, or below it by the rounding of one minor unit per
    line, Shopify's own figures are sent as they are, so the refund agrees
    with Shopify to the cent. A sum above the refund's amount is never sent
    as it is: the refund may be a cent smaller on purpose (a restocking fee
    kept back, a partial amount), and Shopify would pay more than was asked
    and recorded. Otherwise (a partial amount, a restocking fee)
    the refund's amount is spread over them in order, never more than each
    can take (``maximum_refundable``). A refund that names units for every
    line and asks more than Shopify suggests for them (beyond that rounding)
    is refused: Shopify values those units lower (a refund made in its admin,
    an edit since the order was read), and a payment's maximum is no licence
    to pay more. A top-up (units already named, quantity 0) has no such
    figure and is capped by the payments only. Lines restock at ``location_id`` when
    one is configured and are otherwise refunded without restocking.

    Raises:
        ValidationError: the order's payments cannot carry the amount.
    """
    currency = refund.amount.currency
    wanted = refund.amount.rounded().amount
    suggested = [(tx, Decimal(str(tx.get("amount") or 0))) for tx in transactions]
    offered = sum((amount for _, amount in suggested), Decimal(0))
    slack = refund.amount.quantum * (len(refund.lines) + (1 if refund.shipping else 0))
    txs: list[dict[str, Any]] = []

    def pay(tx: dict[str, Any], take: Decimal) -> None:
        txs.append({"orderId": gid("Order", refund.order_id),
                    "parentId": gid("OrderTransaction", tx["parent_id"]),
                    "gateway": tx.get("gateway"), "kind": "REFUND", "amount": str(take)})

    named = bool(refund.lines) and all(ln.quantity > 0 for ln in refund.lines)
    # Shopify rounds each tax line on its own (US state, county and city taxes): its
    # figure may be a unit lower per tax line, which is rounding, not a lower value.
    rounding = refund.amount.quantum * (
        sum(max(1, len(ln.taxes)) for ln in refund.lines)
        + ((1 + len(refund.shipping_taxes)) if refund.shipping else 0))
    if named and offered > 0 and wanted > offered + rounding:
        # Shopify values these very units (and shipping) at less than the refund: the
        # payments' maximum would let more go out than they are refundable for.
        raise ValidationError(f"Shopify can refund {offered} {currency} for these lines and "
                              f"shipping, not {wanted} {currency}; sync the order and preview "
                              "again", field="amount", payload="shopify refund")
    if offered > 0 and wanted - slack <= offered <= wanted:
        for tx, amount in suggested:
            if amount > 0:
                pay(tx, amount)
        left = Decimal(0)
    else:
        left = wanted
        for tx, amount in suggested:
            if left <= 0:
                break
            cap = Decimal(str(tx.get("maximum_refundable") or 0)) or amount
            take = min(left, cap) if cap > 0 else Decimal(0)
            if take <= 0:
                continue
            pay(tx, take)
            left -= take
    if left > 0:
        raise ValidationError(f"refund exceeds what the order's payments can refund by {left} "
                              f"{currency}", field="amount", payload="shopify refund")
    items: list[dict[str, Any]] = []
    for line in refund.lines:
        if line.quantity <= 0:
            continue
        item: dict[str, Any] = {"lineItemId": gid("LineItem", line.order_line_id),
                                "quantity": line.quantity,
                                "restockType": "RETURN" if location_id else "NO_RESTOCK"}
        if location_id:
            item["locationId"] = gid("Location", location_id)
        items.append(item)
    data: dict[str, Any] = {
        "orderId": gid("Order", refund.order_id), "currency": currency, "notify": True,
        "refundLineItems": items, "transactions": txs,
    }
    if refund.note:
        data["note"] = refund.note
    if refund.shipping:
        data["shipping"] = {"amount": str(refund.shipping.rounded().amount)}
    return data


def refund_from_gql(created: GqlRefund, requested: Refund) -> Refund:
    """The requested refund as Shopify recorded it (``external_id`` and time set).

    The amount is Shopify's ``totalRefundedSet`` in the refund's own currency
    (the presentment one); the shop-currency figure is never put in its place.
    """
    amount = requested.amount
    bag = created.totalRefundedSet
    for m in ([bag.presentmentMoney, bag.shopMoney] if bag is not None else []):
        if m is not None and m.currencyCode.upper() == amount.currency:
            amount = Money(m.amount, m.currencyCode)
            break
    return requested.model_copy(update={
        "external_id": created.id, "amount": amount, "raw_status": "success",
        "created_at": created.createdAt or requested.created_at,
    })
