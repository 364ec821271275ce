"""Refund arithmetic: what a request pays back, line by line, in Decimal.

The rules, in order:

1. What was *paid* for an order line is its net (unit price × quantity less
   the line's own discount) less its share of the order-level discount,
   spread over the lines in proportion to their nets with
   :meth:`Money.allocate`, so the shares add up to the discount to the cent.
2. ``k`` units of a line of ``q`` units, of which ``u`` were already settled
   by other requests, are worth ``round(paid·(u+k)/q) − round(paid·u/q)``:
   refunding every unit one request at a time adds up to exactly ``paid``.
3. A restocking fee (policy rate by reason, SKU and category) is kept back
   from goods that travel back.
4. Tax is capped like goods: a line's tax is refunded per unit with the
   same cumulative rounding, so every unit refunded adds up to exactly the
   line's tax. When the order's prices exclude tax (``taxes_included`` is
   False) the tax is paid on top of the goods; when they include it, it is
   only reported, being inside the goods already. A restocking fee is kept
   back from the goods only.
5. The order's original shipping (and its tax) is refunded when the policy
   says so for one of the reasons, by one request of the order: the first
   that pays any of it. A partial refund that paid part of it leaves the
   rest to that request's top-up.
6. What this request already received is subtracted (a top-up pays only the
   difference, and names none of the units its earlier refunds named: a
   platform would refund and restock them again), and the result is capped
   so that the total refunded for a line over all requests never exceeds
   what was paid for it, tax included.
7. Refunds the platform reports that the library did not make (made in the
   shop's admin or the seller console, :attr:`Order.refunds`) count like
   other requests' refunds: their units and money per line, their shipping,
   and, while any is counted, the whole order's money is capped too, so an
   amount-only refund elsewhere also leaves less to pay
   (:func:`with_outside`). The library's own refunds are recognised by the
   platform's refund id and counted once.
8. A partial refund (an explicit smaller amount) takes the reduction from
   the lines and the shipping in proportion; the tax inside each part
   shrinks with it. A line's tax is rounded half-up cumulatively over the
   request's refunds (the tax inside all paid so far, less the tax told
   before), so partial refunds and top-ups of a line report its tax to the
   cent, never more.

Everything is in the order's currency, the one the buyer paid in; an amount
in any other currency is refused.

Nothing here moves money or touches the store; the service feeds in the
ledger of earlier refunds and records the result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field

from aftersales.errors import ValidationError
from aftersales.models import (
    Order,
    PlatformRefund,
    Refund,
    RefundLine,
    ReturnKind,
    ReturnLine,
    TaxLine,
)
from aftersales.money import Money, minor_units
from aftersales.returns.policy import ReturnPolicy

__all__ = [
    "LineLedger",
    "LineRefund",
    "RefundBreakdown",
    "RefundLedger",
    "as_paid",
    "compute_refund",
    "ledger_from",
    "paid_by_line",
    "refund_total",
    "tax_inside",
    "units_value",
    "with_outside",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def paid_by_line(order: Order) -> dict[str, Money]:
    """What the buyer actually paid for each line, order discount spread proportionally."""
    cur = order.currency
    return {line_id: Money(paid, cur) for line_id, paid in _paid_amounts(order).items()}


def _rounding(currency: str) -> Callable[[Decimal], Decimal]:
    """``Money(amount, currency).rounded().amount`` for a finite amount, as a function."""
    quantum = Decimal(1).scaleb(-minor_units(currency))

    def rounded(amount: Decimal) -> Decimal:
        try:
            return amount.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:  # as Money.rounded: too many digits to round
            raise ValidationError(f"{amount:.3g} {currency} is beyond any amount",
                                  field="amount") from None
    return rounded


def _paid_amounts(order: Order) -> dict[str, Decimal]:
    """:func:`paid_by_line`'s amounts, worked out on the Decimals (the same operations in
    the same order as on the Money they came from)."""
    cur = order.currency
    rounded = _rounding(cur)
    nets = []
    for line in order.lines:
        gross = line.unit_price.amount * Decimal(line.quantity)  # OrderLine.gross
        nets.append(rounded(gross - line.discount.amount if line.discount else gross))
    weights = [max(n, Decimal(0)) for n in nets]
    total_net = sum(weights, Decimal(0))
    # An order discount larger than the goods cannot make a line's price negative.
    discount = min(rounded(order.discount.amount), total_net)
    shares = Money(discount, cur).allocate(weights)
    return {
        line.external_id: max(w - s.amount, Decimal(0))
        for line, w, s in zip(order.lines, weights, shares, strict=True)
    }


def _units_amount(paid: Decimal, quantity: int, units: int,
                  rounded: Callable[[Decimal], Decimal]) -> Decimal:
    """``units_value(Money(paid, cur), quantity, 0, units).amount``."""
    if quantity <= 0 or units <= 0:
        return Decimal(0)
    end = min(units, quantity)
    return rounded(paid * end / quantity) - rounded(paid * 0 / quantity)


def units_value(paid: Money, quantity: int, settled: int, units: int) -> Money:
    """The value of ``units`` more units after ``settled`` units of a ``quantity`` line.

    Cumulative rounding makes the values of all units, taken in any number of
    steps, add up to ``paid`` exactly.
    """
    if quantity <= 0 or units <= 0:
        return Money.zero(paid.currency)
    start = min(settled, quantity)
    end = min(settled + units, quantity)

    def upto(n: int) -> Money:
        return Money(paid.amount * n / quantity, paid.currency).rounded()

    return upto(end) - upto(start)


def tax_inside(tax: Money, part: Money, whole: Money) -> Money:
    """The tax inside ``part`` of an amount ``whole`` that carries ``tax``, pro rata.

    Used when a cap or a partial refund pays less than the whole: the tax
    told to the marketplace shrinks in the same proportion.
    """
    if part.is_zero():
        return Money.zero(tax.currency)
    if part >= whole:
        return tax.rounded()
    return Money(tax.amount * part.amount / whole.amount, tax.currency).rounded()


def _tax_between(tax: Money, before: Money, now: Money, whole: Money) -> Money:
    """The tax inside ``now`` paid after ``before`` of ``whole`` (which carries ``tax``).

    Rounded cumulatively, like units: the tax inside everything paid so far
    less the tax inside what was paid before, so a line paid back in any
    number of partial refunds and top-ups reports exactly its tax, never a
    cent more (two halves of 0.01 would otherwise each report 0.01).
    """
    if now.is_zero():
        return Money.zero(tax.currency)
    return tax_inside(tax, before + now, whole) - tax_inside(tax, before, whole)


def _full_tax(line: LineRefund, *, included: bool) -> Money:
    """The tax inside a line's full refund (before caps and partial amounts)."""
    if not included:
        return line.tax
    value = line.goods - line.discount_share
    return tax_inside(line.tax, value - line.fee, value)


class LineLedger(_Frozen):
    """What earlier refunds already did to one order line.

    Attributes:
        settled_elsewhere: units of the line refunded by *other* requests.
        refunded: money refunded for the line by every request, this one included.
        refunded_here: money refunded for the line by this request.
        units_here: units of the line this request's earlier refunds already
            named (a top-up pays money for them, and names them no more).
    """

    settled_elsewhere: int = Field(default=0, ge=0)
    refunded: Decimal = Decimal(0)
    refunded_here: Decimal = Decimal(0)
    units_here: int = Field(default=0, ge=0)


class RefundLedger(_Frozen):
    """Earlier refunds on the order, as the store knows them.

    ``order_refunded`` is the money of every refund counted on the order
    (the library's paid and pending ones, and those made outside it);
    ``outside`` names the platform refunds made outside the library that
    are counted, ``outside_total`` their money.
    """

    lines: dict[str, LineLedger] = Field(default_factory=dict)
    shipping_refunded: Decimal = Decimal(0)  # by any request on the order
    shipping_tax_refunded: Decimal = Decimal(0)  # the tax told with that shipping
    order_refunded: Decimal = Decimal(0)
    outside: tuple[str, ...] = ()
    outside_total: Decimal = Decimal(0)

    def line(self, order_line_id: str) -> LineLedger:
        """The ledger of one line (empty when nothing was refunded on it)."""
        return self.lines.get(order_line_id, LineLedger())


class LineRefund(_Frozen):
    """One line of a breakdown; ``amount`` is what goes back for it now, tax included.

    ``tax`` is the tax charged on these units; ``amount_tax`` is the tax
    inside ``amount`` (smaller when a cap or a partial refund cut it).
    """

    order_line_id: str
    quantity: int
    goods: Money  # list price of the units
    discount_share: Money  # line and order discounts attributed to the units
    tax: Money  # tax charged on the units (on top, or inside when taxes are included)
    fee: Money  # restocking fee kept back
    previously_refunded: Money  # already paid back on this request (top-up)
    adjustment: Money  # removed by the cap or by a partial refund
    amount: Money
    amount_tax: Money


class RefundBreakdown(_Frozen):
    """What a refund would pay and why: the preview a support agent shows.

    When taxes come on top (``taxes_included`` False)::

        total = goods − discount_share + tax − fees − previously_refunded
                − adjustment + shipping + shipping_tax

    When prices include tax, ``tax`` and ``shipping_tax`` are inside goods
    and shipping and are not added again. ``total_tax`` is the tax inside
    ``total``, what the marketplace is told was tax.
    """

    currency: str
    taxes_included: bool = False
    lines: list[LineRefund]
    goods: Money
    discount_share: Money
    tax: Money
    shipping: Money
    shipping_tax: Money
    fees: Money
    previously_refunded: Money
    adjustment: Money
    total: Money
    total_tax: Money
    #: refunds the platform reports that were made outside the library, and their money
    outside_refunds: list[str] = Field(default_factory=list)
    refunded_outside: Money | None = None

    def to_refund(self, order_id: str, idempotency_key: str, note: str | None = None,
                  order: Order | None = None) -> Refund:
        """The :class:`~aftersales.models.Refund` instruction for the marketplace.

        With ``order``, each line's tax is split over the line's tax rates
        (and the shipping tax over the shipping's), for marketplaces whose
        refund names the rates (WooCommerce's ``refund_tax``).
        """
        def split(tax: Money, taxes: Sequence[TaxLine]) -> list[TaxLine]:
            if not taxes or tax.is_zero():
                return []
            parts = tax.allocate([t.amount.amount for t in taxes])
            return [t.model_copy(update={"amount": p}) for t, p in zip(taxes, parts, strict=True)]

        lines = []
        for ln in self.lines:
            rates = order.line(ln.order_line_id).taxes if order is not None else []
            lines.append(RefundLine(
                order_line_id=ln.order_line_id, quantity=ln.quantity, amount=ln.amount,
                tax=ln.amount_tax if ln.amount_tax else None, taxes=split(ln.amount_tax, rates)))
        ship_rates = order.shipping_taxes if order is not None else []
        return Refund(
            order_id=order_id,
            amount=self.total,
            lines=lines,
            shipping=self.shipping if self.shipping else None,
            shipping_tax=self.shipping_tax if self.shipping_tax else None,
            shipping_taxes=split(self.shipping_tax, ship_rates),
            tax=self.total_tax if self.total_tax else None,
            taxes_included=self.taxes_included,
            note=note,
            idempotency_key=idempotency_key,
        )


def _merge(lines: Sequence[ReturnLine]) -> dict[str, tuple[int, list[ReturnLine]]]:
    merged: dict[str, tuple[int, list[ReturnLine]]] = {}
    for line in lines:
        qty, group = merged.get(line.order_line_id, (0, []))
        merged[line.order_line_id] = (qty + line.quantity, [*group, line])
    return merged


def compute_refund(
    order: Order,
    lines: Sequence[ReturnLine],
    *,
    kind: ReturnKind,
    policy: ReturnPolicy,
    ledger: RefundLedger | None = None,
    amount: Money | None = None,
    refund_shipping: bool | None = None,
    shipping_refunded_here: Decimal = Decimal(0),
) -> RefundBreakdown:
    """Work out what to refund for ``lines`` of ``order`` now.

    Args:
        order: the order as the marketplace reports it.
        lines: the request's lines (each with its reason).
        kind: the request's kind (refund-only pays no restocking fee).
        policy: the shop's policy.
        ledger: earlier refunds on the order.
        amount: a smaller total for a partial refund; ``None`` refunds in full.
        refund_shipping: force the original-shipping refund on or off;
            ``None`` follows the policy. It is paid once per order either way.
        shipping_refunded_here: shipping this request already paid (top-up).

    Raises:
        ValidationError: a line is not in the order, ``amount`` is in another
            currency, negative, or more than can be refunded.
    """
    cur = order.currency
    zero = Money.zero(cur)
    included = order.taxes_included
    ledger = ledger or RefundLedger()
    paid = paid_by_line(order)
    out: list[LineRefund] = []
    for line_id, (qty, group) in _merge(lines).items():
        try:
            ol = order.line(line_id)
        except KeyError:
            raise ValidationError(f"line {line_id} is not in order {order.external_id}",
                                  field="order_line_id") from None
        book = ledger.line(line_id)
        units = min(qty, ol.quantity)
        goods = (ol.unit_price * units).rounded()
        value = units_value(paid[line_id], ol.quantity, book.settled_elsewhere, units)
        tax = units_value(ol.tax.rounded(), ol.quantity, book.settled_elsewhere, units)
        # Units with different reasons may carry different fee rates: weight by units.
        fee = Money(
            sum((value.amount * g.quantity
                 * policy.restocking_rate(ol.sku, ol.category, g.reason, kind) / qty
                 for g in group), Decimal(0)),
            cur,
        ).rounded()
        fee = min(fee, value)
        # Tax on top is refunded in full for the units; tax inside the price
        # leaves with the goods, less the part inside the fee.
        full = value - fee + (zero if included else tax)
        full_tax = tax_inside(tax, value - fee, value) if included else tax
        before = Money(book.refunded_here, cur)
        due = max(full - before, zero)
        line_paid = paid[line_id] + (zero if included else ol.tax.rounded())
        room = max(line_paid - Money(book.refunded, cur), zero)
        capped = min(due, room)
        prior = min(before, full)
        out.append(LineRefund(
            # the units named now: a top-up names none its request's refunds already did
            order_line_id=line_id, quantity=max(units - book.units_here, 0), goods=goods,
            discount_share=goods - value,
            tax=tax, fee=fee, previously_refunded=prior,
            adjustment=due - capped, amount=capped,
            amount_tax=_tax_between(full_tax, prior, capped, full),
        ))

    wants_shipping = policy.refunds_shipping(g.reason for g in lines) if (
        refund_shipping is None) else refund_shipping
    shipping = zero
    shipping_tax = zero
    if wants_shipping and ledger.shipping_refunded <= shipping_refunded_here:
        # No other refund on the order paid any of the shipping: what this request has
        # not paid of it yet (all of it the first time, the rest after a partial refund
        # took part of it), its tax likewise.
        shipping = max(order.shipping.rounded() - Money(shipping_refunded_here, cur), zero)
        shipping_tax = max(order.shipping_tax.rounded()
                           - Money(ledger.shipping_tax_refunded, cur), zero)

    if ledger.outside:
        # Money refunded outside the library need not name a line: the order's
        # own total caps what is left.
        room = max(order.total.rounded() - Money(ledger.order_refunded, cur), zero)
        full = sum((ln.amount for ln in out),
                   shipping if included else shipping + shipping_tax)
        if full > room:
            out, shipping, shipping_tax = _partial(out, shipping, shipping_tax, room, cur,
                                                   included=included)
    if amount is not None:
        out, shipping, shipping_tax = _partial(out, shipping, shipping_tax, amount, cur,
                                               included=included)
    summary = _summarise(cur, out, shipping, shipping_tax, included=included)
    if not ledger.outside:
        return summary
    return summary.model_copy(update={"outside_refunds": list(ledger.outside),
                                      "refunded_outside": Money(ledger.outside_total, cur)})


def refund_total(order: Order, lines: Sequence[ReturnLine], *, kind: ReturnKind,
                 policy: ReturnPolicy) -> Money:
    """``compute_refund(order, lines, kind=kind, policy=policy).total``, worked out alone.

    A policy rule that auto-approves reads only the total of a first refund
    (no earlier refunds, no partial amount); a sync page asks it for
    thousands of new requests. The same arithmetic, in the same order, as
    :func:`compute_refund` with an empty ledger, so the total is the same
    amount written the same way; it builds no breakdown (a test compares).

    Raises:
        ValidationError: a line is not in the order.
    """
    cur = order.currency
    rounded = _rounding(cur)
    # On the Decimals of the Money compute_refund works with: the same operations, in the
    # same order, so the same digits (Money's arithmetic is its amounts' arithmetic).
    zero = Decimal(0)
    none = Decimal(0)  # what an empty ledger says was refunded before
    included = order.taxes_included
    paid = _paid_amounts(order)
    total = zero
    for line_id, (qty, group) in _merge(lines).items():
        try:
            ol = order.line(line_id)
        except KeyError:
            raise ValidationError(f"line {line_id} is not in order {order.external_id}",
                                  field="order_line_id") from None
        units = min(qty, ol.quantity)
        value = _units_amount(paid[line_id], ol.quantity, units, rounded)
        fee = rounded(sum((value * g.quantity
                           * policy.restocking_rate(ol.sku, ol.category, g.reason, kind) / qty
                           for g in group), Decimal(0)))
        fee = min(fee, value)
        if included:
            full = value - fee + zero
            line_paid = paid[line_id] + zero
        else:
            line_tax = rounded(sum((t.amount.amount for t in ol.taxes), Decimal(0)))
            full = value - fee + _units_amount(line_tax, ol.quantity, units, rounded)
            line_paid = paid[line_id] + line_tax
        due = max(full - none, zero)
        room = max(line_paid - none, zero)
        total = total + min(due, room)
    shipping = zero
    shipping_tax = zero
    if policy.refunds_shipping(g.reason for g in lines):
        shipping = rounded(order.shipping.amount)
        shipping_tax = rounded(sum((t.amount.amount for t in order.shipping_taxes),
                                   Decimal(0)))
    return Money(total + shipping + (zero if included else shipping_tax), cur)


def _partial(
    out: list[LineRefund], shipping: Money, shipping_tax: Money, amount: Money, cur: str,
    *, included: bool,
) -> tuple[list[LineRefund], Money, Money]:
    if amount.currency != cur:
        raise ValidationError(f"the order is in {cur}, not {amount.currency}", field="amount")
    if amount.amount < 0:
        raise ValidationError("a refund cannot be negative", field="amount")
    ship_full = shipping if included else shipping + shipping_tax
    full = sum((ln.amount for ln in out), ship_full)
    wanted = amount.rounded()
    if wanted > full:
        raise ValidationError(f"at most {full} can be refunded, not {wanted}", field="amount")
    cut = full - wanted
    goods_total = sum((ln.amount for ln in out), Money.zero(cur))
    # The reduction comes from the goods first, in proportion; shipping only
    # gives way when the amount asked is below the shipping alone.
    from_goods = min(cut, goods_total)
    lines = out
    if from_goods:
        shares = from_goods.allocate([ln.amount.amount for ln in out])
        lines = [
            ln.model_copy(update={
                "amount": ln.amount - s, "adjustment": ln.adjustment + s,
                "amount_tax": _tax_between(
                    _full_tax(ln, included=included), ln.previously_refunded, ln.amount - s,
                    ln.previously_refunded + ln.adjustment + ln.amount)})
            for ln, s in zip(out, shares, strict=True)
        ]
    ship_left = ship_full - (cut - from_goods)
    if ship_left == ship_full:
        return lines, shipping, shipping_tax
    tax_left = tax_inside(shipping_tax, ship_left, ship_full)
    return lines, (ship_left if included else ship_left - tax_left), tax_left


def as_paid(breakdown: RefundBreakdown, paid: Money) -> RefundBreakdown:
    """``breakdown`` as the marketplace really paid it: ``paid`` spread over its parts.

    A marketplace may pay another amount than it was asked (its own
    rounding, or a different figure: ``AMOUNT_MISMATCH``); the refund is then
    recorded at what it paid, and so must its parts be, or the ledger of
    later refunds (caps, top-ups, shipping once) would count money that never
    moved, or miss money that did. ``paid`` is spread over the lines and the
    shipping (with its tax when that comes on top) in proportion to what each
    asked, with :meth:`Money.allocate`, so the parts add up to ``paid`` to
    the cent; the difference goes into each part's ``adjustment`` (negative
    when more was paid), and the tax inside each part shrinks with it (never
    above the tax it carries). Another currency changes nothing: what was
    paid cannot be spread over amounts it cannot be compared with.
    """
    cur = breakdown.currency
    if paid.currency != cur or paid == breakdown.total:
        return breakdown
    included = breakdown.taxes_included
    ship_full = breakdown.shipping if included else breakdown.shipping + breakdown.shipping_tax
    parts = paid.rounded().allocate([ln.amount.amount for ln in breakdown.lines]
                                    + [ship_full.amount])
    lines = [
        ln.model_copy(update={
            "amount": part, "adjustment": ln.adjustment + ln.amount - part,
            "amount_tax": tax_inside(ln.amount_tax, part, ln.amount)})
        for ln, part in zip(breakdown.lines, parts, strict=False)
    ]
    ship = parts[-1]
    ship_tax = tax_inside(breakdown.shipping_tax, ship, ship_full)
    summary = _summarise(cur, lines, ship if included else ship - ship_tax, ship_tax,
                         included=included)
    return summary.model_copy(update={"outside_refunds": breakdown.outside_refunds,
                                      "refunded_outside": breakdown.refunded_outside})


def _summarise(cur: str, out: list[LineRefund], shipping: Money, shipping_tax: Money, *,
               included: bool) -> RefundBreakdown:
    zero = Money.zero(cur)

    def total_of(attr: str) -> Money:
        return sum((getattr(ln, attr) for ln in out), zero)

    return RefundBreakdown(
        currency=cur,
        taxes_included=included,
        lines=out,
        goods=total_of("goods"),
        discount_share=total_of("discount_share"),
        tax=total_of("tax"),
        shipping=shipping,
        shipping_tax=shipping_tax,
        fees=total_of("fee"),
        previously_refunded=total_of("previously_refunded"),
        adjustment=total_of("adjustment"),
        total=total_of("amount") + shipping + (zero if included else shipping_tax),
        total_tax=total_of("amount_tax") + shipping_tax,
    )


def ledger_from(
    rows: Sequence[tuple[str, str, int, Decimal]],
    rma_id: str,
    shipping: Mapping[str, Decimal],
    *,
    shipping_tax: Mapping[str, Decimal] | None = None,
) -> RefundLedger:
    """Build a ledger from stored refund lines ``(rma_id, order_line_id, units, amount)``.

    A request refunded in several steps (a top-up) counts its units once
    (its first refund names them; a top-up names none again, though one an
    older release recorded did).
    ``shipping`` maps rma ids to the original shipping each one refunded,
    ``shipping_tax`` to the shipping tax told with it.
    """
    refunded: dict[str, Decimal] = {}
    here: dict[str, Decimal] = {}
    units_here: dict[str, int] = {}
    units: dict[tuple[str, str], int] = {}
    for rid, line_id, n, amt in rows:
        refunded[line_id] = refunded.get(line_id, Decimal(0)) + amt
        if rid == rma_id:
            here[line_id] = here.get(line_id, Decimal(0)) + amt
            units_here[line_id] = max(units_here.get(line_id, 0), n)
        else:
            units[(rid, line_id)] = max(units.get((rid, line_id), 0), n)
    elsewhere: dict[str, int] = {}
    for (_, line_id), n in units.items():
        elsewhere[line_id] = elsewhere.get(line_id, 0) + n
    return RefundLedger(
        lines={
            line_id: LineLedger(
                settled_elsewhere=elsewhere.get(line_id, 0),
                refunded=total,
                refunded_here=here.get(line_id, Decimal(0)),
                units_here=units_here.get(line_id, 0),
            )
            for line_id, total in refunded.items()
        },
        shipping_refunded=sum(shipping.values(), Decimal(0)),
        shipping_tax_refunded=sum((shipping_tax or {}).values(), Decimal(0)),
    )


def with_outside(ledger: RefundLedger, refunds: Sequence[PlatformRefund],
                 own: Collection[str]) -> RefundLedger:
    """``ledger`` with the platform's refunds that are not the library's own added.

    ``own`` holds the platform ids of the library's recorded refunds: those
    are in the ledger already and are skipped, so nothing counts twice. Every
    other refund adds its units and money to its lines (as another request's
    would), its shipping to the shipping refunded, and its whole amount to the
    order's.
    """
    lines = dict(ledger.lines)
    shipping = ledger.shipping_refunded
    order_refunded = ledger.order_refunded
    names = list(ledger.outside)
    total = ledger.outside_total
    for refund in refunds:
        if refund.external_id in own or refund.external_id in names:
            continue
        names.append(refund.external_id)
        total += refund.amount.amount
        order_refunded += refund.amount.amount
        if refund.shipping is not None:
            shipping += refund.shipping.amount
        for ln in refund.lines:
            book = lines.get(ln.order_line_id, LineLedger())
            lines[ln.order_line_id] = book.model_copy(update={
                "settled_elsewhere": book.settled_elsewhere + ln.quantity,
                "refunded": book.refunded + ln.amount.amount})
    return ledger.model_copy(update={
        "lines": lines, "shipping_refunded": shipping, "order_refunded": order_refunded,
        "outside": tuple(names), "outside_total": total})
