"""Pure conversions between WooCommerce payloads and the core's models.

WooCommerce has no return object, so its vocabulary for after-sales is its
order status and the free text of refund reasons and notes. The tables,
checked against the REST API v3 docs (woocommerce-rest-api-docs @13d6196)
and the plugin's REST controllers on 2026-12-02:

* ``ORDER_STATUS``: every order status and what it means for a return
  request the library keeps for that order (``None``: nothing). The docs
  list eight; core also registers ``checkout-draft`` (block checkout), which
  the docs leave out. Plugins add their own; an unknown one says nothing.
* ``REVIEW_STATUS``: a product review's ``status`` and whether shoppers see
  it. The docs list six values, but ``unspam`` and ``untrash`` are only
  ever sent (actions on an update); a listing answers the other four.
* ``REASON_KEYWORDS``: phrases in a buyer's or a refund's free text and the
  canonical reason they indicate, tried in order.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_UP, Decimal
from typing import Any

from aftersales.errors import ValidationError
from aftersales.logistics.carrier_names import carrier_for_name
from aftersales.models import (
    Buyer,
    Order,
    OrderLine,
    PlatformRefund,
    Refund,
    RefundedLine,
    ReturnReason,
    ReturnStatus,
    Review,
    ReviewVisibility,
    Shipment,
    TaxLine,
)
from aftersales.money import Money
from aftersales.wire import record_name, refusing, wire_id, wire_money

from .schemas import WcOrder, WcRefund, WcReview, WcShippingLine, WcTax

__all__ = [
    "IDEMPOTENCY_META_KEY",
    "ORDER_STATUS",
    "REASON_KEYWORDS",
    "REVIEW_STATUS",
    "classify_reason",
    "map_order_status",
    "note_for",
    "order_from_wc",
    "refund_body",
    "refund_from_wc",
    "refund_key",
    "refunds_from_wc",
    "review_from_wc",
    "strip_html",
]

NAME = "woocommerce"

#: The refund meta key carrying the caller's idempotency key.
IDEMPOTENCY_META_KEY = "_aftersales_idempotency_key"

#: WooCommerce order status → what it means for the order's return request.
ORDER_STATUS: dict[str, ReturnStatus | None] = {
    "pending": None,
    "processing": None,
    "on-hold": None,
    "completed": None,
    "cancelled": ReturnStatus.CANCELLED,
    "refunded": ReturnStatus.REFUNDED,
    "failed": None,
    "trash": ReturnStatus.CANCELLED,
    "checkout-draft": None,
}

#: Product review ``status`` → whether shoppers see the review.
REVIEW_STATUS: dict[str, ReviewVisibility] = {
    "approved": ReviewVisibility.PUBLISHED,
    "hold": ReviewVisibility.PENDING,
    "spam": ReviewVisibility.HIDDEN,
    "trash": ReviewVisibility.HIDDEN,
}

#: Phrases in free text → canonical reason; the first phrase found wins.
REASON_KEYWORDS: tuple[tuple[str, ReturnReason], ...] = (
    ("damaged in transit", ReturnReason.DAMAGED_IN_TRANSIT),
    ("damaged", ReturnReason.DAMAGED_IN_TRANSIT),
    ("wrong size", ReturnReason.WRONG_SIZE),
    ("too small", ReturnReason.WRONG_SIZE),
    ("too large", ReturnReason.WRONG_SIZE),
    ("too big", ReturnReason.WRONG_SIZE),
    ("wrong item", ReturnReason.WRONG_ITEM),
    ("not as described", ReturnReason.NOT_AS_DESCRIBED),
    ("missing", ReturnReason.MISSING_ITEM),
    ("defective", ReturnReason.QUALITY_ISSUE),
    ("broken", ReturnReason.QUALITY_ISSUE),
    ("faulty", ReturnReason.QUALITY_ISSUE),
    ("late", ReturnReason.LATE_DELIVERY),
    ("changed my mind", ReturnReason.CHANGED_MIND),
    ("no longer needed", ReturnReason.CHANGED_MIND),
    ("no reason", ReturnReason.NO_REASON),
)


def map_order_status(raw: str) -> ReturnStatus | None:
    """What an order status says about the order's return; unknown statuses say nothing.

    Shops add their own statuses through plugins, so an unknown one is not an error.
    """
    return ORDER_STATUS.get(raw.strip().lower().removeprefix("wc-"))


def classify_reason(text: str | None) -> ReturnReason:
    """The canonical reason a free-text reason indicates (``OTHER`` when none matches)."""
    low = (text or "").lower()
    for phrase, reason in REASON_KEYWORDS:
        if phrase in low:
            return reason
    return ReturnReason.OTHER


def strip_html(text: str) -> str:
    """Review bodies come wrapped by ``wpautop`` (``<p>…</p>\\n``): keep the text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _carrier(provider: Any) -> str | None:
    # Shipment Tracking's provider name: the core's one name table; unknown ones kept as written
    if not provider:
        return None
    return carrier_for_name(str(provider)) or str(provider)


#: Epoch seconds of 2000-01-01 and 2100-01-01 (UTC): the span of an after-sales time.
_Y2000, _Y2100 = 946_684_800, 4_102_444_800


def _shipments(o: WcOrder) -> list[Shipment]:
    # Tracking is not a core order field: the official Shipment Tracking
    # extension keeps it in ``_wc_shipment_tracking_items`` order meta.
    # A plugin's meta is as hostile as any payload: a number that is no text, a
    # 100 kB one, or a shipping date in the year 5000 is refused by name.
    field = "meta_data._wc_shipment_tracking_items"
    out: list[Shipment] = []
    for meta in o.meta_data:
        if meta.key != "_wc_shipment_tracking_items" or not isinstance(meta.value, list):
            continue
        for item in meta.value:
            if not isinstance(item, dict) or not item.get("tracking_number"):
                continue
            try:
                number = str(wire_id(item["tracking_number"]))
                tracking_id = str(wire_id(item.get("tracking_id") or number))
            except ValueError:
                raise ValidationError("not a tracking number", field=f"{field}.tracking_number",
                                      payload="woocommerce order") from None
            shipped = str(item.get("date_shipped") or "")
            when = None
            if shipped.isascii() and shipped.isdigit():  # epoch seconds
                if len(shipped) > 10 or not _Y2000 <= int(shipped) < _Y2100:
                    raise ValidationError("a time outside 2000–2100",
                                          field=f"{field}.date_shipped",
                                          payload="woocommerce order")
                when = datetime.fromtimestamp(int(shipped), UTC)
            out.append(Shipment(
                tracking_number=number,
                carrier=_carrier(item.get("tracking_provider")
                                 or item.get("custom_tracking_provider")),
                external_id=tracking_id, shipped_at=when,
            ))
    return out


def _taxes(taxes: Sequence[WcTax], total_tax: Decimal, cur: str) -> list[TaxLine]:
    """A line's tax per rate (WooCommerce's rate ids, which a refund names)."""
    out = [TaxLine(amount=Money(t.total, cur), rate_id=str(t.id)) for t in taxes if t.total]
    if not out and total_tax:
        out = [TaxLine(amount=Money(total_tax, cur))]
    return out


def _currency(o: WcOrder) -> str:
    """The order's currency, checked with the order-level totals it carries: an ISO
    code, and totals that are whole minor units (0.5 JPY is no price). Line and
    tax figures may carry more decimals (WooCommerce keeps them unrounded)."""
    for field in ("total", "shipping_total", "shipping_tax", "discount_total"):
        cur = wire_money(getattr(o, field), o.currency, field=field,
                         payload="woocommerce order").currency
    return cur


@refusing(payload="woocommerce order")
def refunds_from_wc(o: WcOrder, details: Sequence[WcRefund] = ()) -> list[PlatformRefund]:
    """The order's refunds, whoever made them, with their lines where ``details`` has them.

    The order itself lists each refund's id and negative ``total`` only;
    ``GET /orders/{id}/refunds`` (``details``) adds the lines: each names
    the order line it refunds in its ``_refunded_item_id`` meta entry, with
    a negative ``quantity``, ``total`` and ``total_tax`` (tax on top, as on
    the order). The shipping it gave back is its ``shipping_lines`` (negative
    ``total`` and ``total_tax`` likewise), so shipping refunded in the admin
    is never paid again. Money of a refund attributed to no line and no
    shipping (an amount-only refund, a fee) is ``other``. A refund without
    details is all ``other``.
    """
    cur = _currency(o)
    known = {r.id: r for r in details}
    out: list[PlatformRefund] = []
    for ref in o.refunds:
        detail = known.get(ref.id)
        if detail is None:
            whole = Money(abs(ref.total), cur)
            out.append(PlatformRefund(external_id=str(ref.id), amount=whole,
                                      other=whole if whole else None))
            continue
        lines = [RefundedLine(order_line_id=item, quantity=abs(li.quantity),
                              amount=Money(abs(li.total) + abs(li.total_tax), cur),
                              tax=Money(abs(li.total_tax), cur) if li.total_tax else None)
                 for li in detail.line_items if (item := li.refunded_item()) is not None]
        shipping = Money(sum((abs(s.total) + abs(s.total_tax) for s in detail.shipping_lines),
                             Decimal(0)), cur)
        amount = Money(abs(detail.amount), cur)
        rest = amount - sum((ln.amount for ln in lines), shipping)
        out.append(PlatformRefund(external_id=str(detail.id), amount=amount, lines=lines,
                                  shipping=shipping if shipping else None,
                                  other=rest if rest.amount > 0 else None,
                                  created_at=detail.date_created_gmt))
    return out


@refusing(payload="woocommerce order")
def order_from_wc(o: WcOrder, *, store: str = NAME, refunds: Sequence[WcRefund] = ()) -> Order:
    """An :class:`Order` of ``store`` from a WooCommerce order.

    A line's ``subtotal`` is before coupons and its ``total`` after, so the
    difference is that line's share of the discount; WooCommerce has already
    spread coupons over lines, so no order-level discount remains.

    WooCommerce keeps line and shipping totals without tax and the tax
    beside them (``total_tax``, ``taxes`` per rate), whatever the shop's
    ``prices_include_tax`` display setting says, so the order's amounts are
    always tax-exclusive here (``taxes_included`` False) and the tax is added.

    A negative fee line (a discount given as a fee, which WooCommerce allows
    since 3.2) becomes order-level discount, its tax with it, so the lines
    refund no more than the buyer paid; the split between goods and tax is
    then off by that fee's tax, the sum is not. A positive fee (a surcharge)
    is no goods and is not refunded with them.

    ``refunds`` are the order's refunds as ``GET /orders/{id}/refunds`` gives
    them (:func:`refunds_from_wc`): the order keeps every refund on it.

    Raises:
        ValidationError: the currency is no ISO code, an order total is finer
            than its minor unit, or the order has no date (names the field).
    """
    cur = _currency(o)
    lines = []
    for li in o.line_items:
        if li.quantity < 1:
            continue
        unit = (li.subtotal / li.quantity) if li.subtotal else (li.price or Decimal(0))
        disc = li.subtotal - li.total
        lines.append(OrderLine(
            # Item names come HTML-escaped (the docs' own example: "&ndash;").
            external_id=str(li.id), sku=li.sku or "", title=html.unescape(li.name),
            quantity=li.quantity, unit_price=Money(unit, cur),
            discount=Money(disc, cur) if disc > 0 else None,
            taxes=_taxes(li.taxes, li.total_tax, cur),
        ))
    line_disc = sum((ln.discount.amount for ln in lines if ln.discount), Decimal(0))
    # A negative fee is a discount the lines do not show: its amount and its tax
    # come off what the goods were paid, so a full refund is what the buyer paid.
    fee_disc = -sum((f.total + f.total_tax for f in o.fee_lines if f.total < 0), Decimal(0))
    b, s = o.billing, o.shipping
    address = ", ".join(filter(None, [s.address_1, s.address_2, s.city, s.state, s.postcode,
                                      s.country])) or None
    created = o.date_created_gmt or o.date_modified_gmt
    if created is None:
        raise ValidationError("order has no creation date", field="date_created_gmt",
                              payload="woocommerce order")
    return Order(
        marketplace=store, external_id=str(o.id),
        buyer=Buyer(
            external_id=str(o.customer_id) if o.customer_id else f"guest:{o.id}",
            name=" ".join(filter(None, [b.first_name, b.last_name])) or None,
            email=b.email or None, phone=b.phone or None, address=address,
        ),
        currency=cur, lines=lines, shipping=Money(o.shipping_total, cur),
        taxes_included=False,
        shipping_taxes=([t for s in o.shipping_lines for t in _taxes(s.taxes, s.total_tax, cur)]
                        or _taxes([], o.shipping_tax, cur)),
        discount=Money(max(o.discount_total - line_disc, Decimal(0)) + max(fee_disc, Decimal(0)),
                       cur),
        total=Money(o.total, cur), raw_status=o.status, placed_at=created,
        updated_at=o.date_modified_gmt or created, shipments=_shipments(o),
        refunds=refunds_from_wc(o, refunds),
    )


#: What the buyer (or the shop's staff) reads in the order note for each step.
_NOTES = {
    "approved": ("Your return request {ref} has been approved.", True),
    "rejected": ("Your return request {ref} was declined: {reason}", True),
    "received": ("Returned goods for {ref} were received.", False),
}


def note_for(step: str, ref: str, *, reason: str = "", note: str | None = None
             ) -> dict[str, Any]:
    """The order-note body recording a step of the library's own return request.

    Approval and rejection are customer notes (WooCommerce e-mails them to the
    buyer); receipt of the goods is a private note for the shop's staff.
    """
    text, to_customer = _NOTES[step]
    message = text.format(ref=ref, reason=reason).strip()
    if note:
        message = f"{message}\n\n{note}"
    return {"note": message, "customer_note": to_customer}


def _refund_taxes(taxes: Sequence[TaxLine]) -> list[dict[str, Any]]:
    return [{"id": int(t.rate_id) if t.rate_id.isdigit() else t.rate_id,
             "refund_total": str(t.amount.rounded().amount)}
            for t in taxes if t.rate_id is not None and t.amount]


def _shipping_items(refund: Refund, shipping: Sequence[WcShippingLine]) -> list[dict[str, Any]]:
    """The shipping lines of a refund: its shipping and shipping tax spread over them."""
    if not refund.shipping or not shipping:
        return []
    cur = refund.shipping.currency
    parts = refund.shipping.allocate([s.total for s in shipping])
    out = []
    for line, part in zip(shipping, parts, strict=True):
        item: dict[str, Any] = {"id": line.id, "refund_total": str(part.amount)}
        # A rate's tax on the line is stored unrounded (0.3334); as a cap it counts as the
        # whole minor units it reaches (0.34), or a rate the split rounded up loses a cent.
        paid = [TaxLine(amount=Money(Money(t.total, cur).amount.quantize(
                    Money.zero(cur).quantum, rounding=ROUND_UP), cur), rate_id=str(t.id))
                for t in line.taxes]
        wanted = {t.rate_id: t.amount for t in refund.shipping_taxes}
        back = [t.model_copy(update={"amount": min(t.amount, wanted.get(t.rate_id, t.amount))})
                for t in paid if t.rate_id in wanted]
        for t in back:  # a rate spread over several shipping lines is used up once
            wanted[t.rate_id] = wanted[t.rate_id] - t.amount
        if back:
            item["refund_tax"] = _refund_taxes(back)
        out.append(item)
    return out


def refund_body(refund: Refund, *, api_refund: bool, restock: bool,
                shipping: Sequence[WcShippingLine] = ()) -> dict[str, Any]:
    """The body of ``POST /orders/{id}/refunds`` for ``refund``.

    The amount is sent explicitly; each line names the order item, the
    quantity, its goods without tax (``refund_total``) and its tax per rate
    (``refund_tax``: ``[{"id": <tax rate id>, "refund_total"}]``, as the
    REST docs' "Create a refund" shows). Shipping refunded goes back the
    same way on the order's ``shipping`` lines. The idempotency key rides in
    ``meta_data`` so a retry can find a refund that was already made.
    """
    items: list[dict[str, Any]] = []
    for line in refund.lines:
        # Without rate ids the tax cannot be named, so it stays in refund_total.
        taxes = [] if refund.taxes_included else _refund_taxes(line.taxes)
        tax = sum((Decimal(t["refund_total"]) for t in taxes), Decimal(0))
        item: dict[str, Any] = {"id": line.order_line_id, "quantity": line.quantity,
                                "refund_total": str(line.amount.rounded().amount - tax)}
        if taxes:
            item["refund_tax"] = taxes
        items.append(item)
    body: dict[str, Any] = {
        "amount": str(refund.amount.rounded().amount),
        "reason": refund.note or "",
        "api_refund": api_refund,
        "api_restock": restock,
        "line_items": items + _shipping_items(refund, shipping),
        "meta_data": [{"key": IDEMPOTENCY_META_KEY, "value": refund.idempotency_key}],
    }
    return body


def refund_key(payload: dict[str, Any]) -> str | None:
    """The idempotency key stored on a refund payload, if any."""
    for meta in payload.get("meta_data") or []:
        if isinstance(meta, dict) and meta.get("key") == IDEMPOTENCY_META_KEY:
            return str(meta.get("value"))
    return None


def refund_from_wc(created: WcRefund, requested: Refund) -> Refund:
    """The requested refund as WooCommerce recorded it."""
    return requested.model_copy(update={
        "external_id": str(created.id),
        "amount": Money(created.amount, requested.amount.currency),
        "raw_status": "refunded_payment" if created.refunded_payment else "recorded",
        "created_at": created.date_created_gmt or requested.created_at,
    })


def review_from_wc(r: WcReview, *, store: str = NAME) -> Review | None:
    """A :class:`Review` of ``store``; ``None`` for a comment without a star rating (0).

    Raises:
        ValidationError: a rating above 5 (refused, never clamped to 5).
    """
    if r.rating < 1:
        return None
    if r.rating > 5:
        raise ValidationError("must be 0 to 5", field="rating",
                              payload=record_name("woocommerce product review", r.id))
    return Review(
        marketplace=store, external_id=str(r.id), rating=r.rating,
        body=strip_html(r.review), sku=str(r.product_id) if r.product_id else None,
        author=r.reviewer or None, created_at=r.date_created_gmt,
        updated_at=r.date_created_gmt,
        visibility=REVIEW_STATUS.get(r.status.strip().lower(), ReviewVisibility.PENDING),
    )
