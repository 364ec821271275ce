"""Is this request allowed? Pluggable validators with answers a customer can hear.

Each validator is a plain function taking an :class:`EligibilityContext` and
yielding :class:`Finding` objects: eligible (something in the request's
favour worth saying), ineligible (a rule forbids it) or needs review (a human
should decide). :func:`evaluate` runs a list of them and combines the
findings: any ineligible finding makes the request ineligible, else any
needs-review finding sends it to review, else it is eligible.

Messages are written for a support agent to read out to a customer: no
codes, no internal names, the item's title, the date that matters.

A shop adds its own rule by appending a function to the list::

    def no_returns_on_sale_items(ctx):
        for line in ctx.lines:
            if ctx.order.line(line.order_line_id).sku.startswith("SALE-"):
                yield Finding("sale", Decision.INELIGIBLE, "Sale items are final sale.")

    evaluate(ctx, [*DEFAULT_VALIDATORS, no_returns_on_sale_items])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from aftersales.models import Order, OrderLine, ReturnKind, ReturnLine, ReturnReason
from aftersales.returns.policy import BuyerStats, Payer, ReturnPolicy

__all__ = [
    "DEFAULT_VALIDATORS",
    "Decision",
    "Eligibility",
    "EligibilityContext",
    "Finding",
    "Validator",
    "claim_evidence",
    "evaluate",
    "exchange_replacement",
    "items_returnable",
    "lines_in_order",
    "return_postage",
    "serial_returner",
    "within_window",
]

CLAIM_REASONS = frozenset({ReturnReason.DAMAGED_IN_TRANSIT, ReturnReason.MISSING_ITEM})


class Decision(StrEnum):
    """The answer of one validator, or of all of them together."""

    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_review"
    INELIGIBLE = "ineligible"


_RANK = {Decision.ELIGIBLE: 0, Decision.NEEDS_REVIEW: 1, Decision.INELIGIBLE: 2}


@dataclass(frozen=True)
class Finding:
    """One validator's word on the request.

    Attributes:
        check: the validator's short name (``"window"``).
        decision: what it decided.
        message: a sentence a support agent can read to the customer.
        order_line_id: the line it is about, when it is about one line.
    """

    check: str
    decision: Decision
    message: str
    order_line_id: str | None = None


@dataclass(frozen=True)
class EligibilityContext:
    """Everything a validator may look at; validators do no I/O.

    Attributes:
        order: the order, as the marketplace reports it.
        lines: the lines asked for, each with its own reason.
        kind: refund-only, return or exchange.
        policy: the shop's policy.
        now: the moment of the request (aware).
        buyer_stats: the buyer's recent history, when known.
        already_requested: units of each order line already taken by the
            buyer's other requests that are still live or were refunded.
        evidence: photo or document references attached to the request.
    """

    order: Order
    lines: Sequence[ReturnLine]
    kind: ReturnKind
    policy: ReturnPolicy
    now: datetime
    buyer_stats: BuyerStats | None = None
    already_requested: Mapping[str, int] = field(default_factory=dict)
    evidence: Sequence[str] = ()

    def order_line(self, line: ReturnLine) -> OrderLine | None:
        """The order line a requested line points at, or ``None`` when it is not in the order."""
        try:
            return self.order.line(line.order_line_id)
        except KeyError:
            return None


#: A validator: reads the context, yields findings (nothing at all means "no objection").
Validator = Callable[[EligibilityContext], Iterable[Finding]]


@dataclass(frozen=True)
class Eligibility:
    """The combined answer: the decision and every finding behind it."""

    decision: Decision
    findings: tuple[Finding, ...] = ()

    @property
    def eligible(self) -> bool:
        """True when nothing stands in the way."""
        return self.decision is Decision.ELIGIBLE

    @property
    def reasons(self) -> list[str]:
        """The messages that decided: the refusals, else the doubts, else the good news."""
        return [f.message for f in self.findings if f.decision is self.decision]

    def explain(self) -> str:
        """A short paragraph for the customer: the verdict, then the reasons."""
        head = {
            Decision.ELIGIBLE: "This request can be accepted.",
            Decision.NEEDS_REVIEW: "This request needs a member of our team to review it.",
            Decision.INELIGIBLE: "This request cannot be accepted.",
        }[self.decision]
        return " ".join([head, *self.reasons])


def _title(line: OrderLine) -> str:
    return f"“{line.title}”" if line.title else f"item {line.sku}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def lines_in_order(ctx: EligibilityContext) -> Iterator[Finding]:
    """Every line must be in the order, for no more units than are left to return."""
    wanted: dict[str, int] = {}
    for line in ctx.lines:
        wanted[line.order_line_id] = wanted.get(line.order_line_id, 0) + line.quantity
    for line_id, qty in wanted.items():
        try:
            ol = ctx.order.line(line_id)
        except KeyError:
            yield Finding("lines", Decision.INELIGIBLE,
                          f"Line {line_id} is not part of order {ctx.order.external_id}.", line_id)
            continue
        left = ol.quantity - ctx.already_requested.get(line_id, 0)
        if qty > left:
            msg = (f"Only {left} of {ol.quantity} × {_title(ol)} can still be returned; "
                   f"{qty} were asked for.") if left > 0 else (
                   f"Every unit of {_title(ol)} is already in another request.")
            yield Finding("lines", Decision.INELIGIBLE, msg, line_id)


def items_returnable(ctx: EligibilityContext) -> Iterator[Finding]:
    """Items the policy marks as not returnable are refused (claims excepted)."""
    for line in ctx.lines:
        ol = ctx.order_line(line)
        if ol is None:
            continue
        rule = ctx.policy.rule_for(ol.sku, ol.category)
        if not rule.returnable and not (
            ctx.kind is ReturnKind.REFUND_ONLY and line.reason in CLAIM_REASONS
        ):
            note = f" {rule.note}" if rule.note else ""
            yield Finding("returnable", Decision.INELIGIBLE,
                          f"{_cap(_title(ol))} cannot be returned.{note}",
                          line.order_line_id)


#: Kinds whose window is not the shop's return window: price protection runs from
#: the purchase and a reshipment from the delivery, each as the marketplace rules.
_OWN_WINDOW = frozenset({ReturnKind.PRICE_PROTECTION, ReturnKind.RESHIP})


def within_window(ctx: EligibilityContext) -> Iterator[Finding]:
    """Returns and exchanges must be asked for within the window counted from delivery."""
    if ctx.kind in _OWN_WINDOW:
        return  # the marketplace runs the window of 价保 and 补寄 itself
    delivered = ctx.order.delivered_at
    if delivered is None:
        if ctx.kind.goods_back:
            yield Finding("window", Decision.NEEDS_REVIEW,
                          "The order is not marked as delivered yet, so the return window "
                          "has not started.")
        return
    zone = ctx.order.buyer.timezone
    for line in ctx.lines:
        ol = ctx.order_line(line)
        if ol is None:
            continue
        days = ctx.policy.window_for(ol.sku, ol.category, line.reason)
        ends = ctx.policy.window_ends(delivered, days, buyer_timezone=zone)
        last_day = (ends - timedelta(days=1)).date()
        if ctx.now >= ends:
            yield Finding("window", Decision.INELIGIBLE,
                          f"The {days}-day return period for {_title(ol)} ended on "
                          f"{last_day.isoformat()}.", line.order_line_id)
        else:
            yield Finding("window", Decision.ELIGIBLE,
                          f"{_cap(_title(ol))} is within its {days}-day return period "
                          f"(until {last_day.isoformat()}).", line.order_line_id)


def exchange_replacement(ctx: EligibilityContext) -> Iterator[Finding]:
    """An exchange must say what the buyer wants instead."""
    if ctx.kind is not ReturnKind.EXCHANGE:
        return
    for line in ctx.lines:
        if not line.replacement_sku:
            yield Finding("exchange", Decision.INELIGIBLE,
                          "Please tell us which size or colour you would like instead.",
                          line.order_line_id)


def claim_evidence(ctx: EligibilityContext) -> Iterator[Finding]:
    """Refund-only after delivery: a claim needs photos; any other reason needs a human."""
    if ctx.kind is not ReturnKind.REFUND_ONLY or ctx.order.delivered_at is None:
        return
    reasons = {line.reason for line in ctx.lines}
    if reasons <= CLAIM_REASONS:
        if ctx.policy.claim_evidence_required and not ctx.evidence:
            yield Finding("claim", Decision.NEEDS_REVIEW,
                          "Please send a photo of the parcel or the damage so we can settle "
                          "the claim.")
        return
    yield Finding("claim", Decision.NEEDS_REVIEW,
                  "A refund without sending the item back is decided by our team.")


def serial_returner(ctx: EligibilityContext) -> Iterator[Finding]:
    """A buyer with an unusually high return rate goes to review, never refused outright."""
    if ctx.policy.is_serial_returner(ctx.buyer_stats):
        yield Finding("buyer", Decision.NEEDS_REVIEW,
                      "Our team looks at this request personally before it is approved.")


def return_postage(ctx: EligibilityContext) -> Iterator[Finding]:
    """Say who pays to send the goods back (only when goods travel)."""
    if not ctx.kind.goods_back:
        return
    payers = {ctx.policy.payer_for(line.reason) for line in ctx.lines}
    if payers == {Payer.MERCHANT}:
        msg = "The shop pays the postage to send the item back."
    elif payers == {Payer.BUYER}:
        msg = "The postage to send the item back is paid by the customer."
    else:
        msg = "The shop pays the return postage only for faulty or wrong items."
    yield Finding("postage", Decision.ELIGIBLE, msg)


#: The validators :func:`evaluate` runs unless told otherwise, in this order.
DEFAULT_VALIDATORS: tuple[Validator, ...] = (
    lines_in_order,
    items_returnable,
    within_window,
    exchange_replacement,
    claim_evidence,
    serial_returner,
    return_postage,
)


def evaluate(
    ctx: EligibilityContext, validators: Sequence[Validator] = DEFAULT_VALIDATORS
) -> Eligibility:
    """Run the validators and combine their findings into one decision."""
    findings = tuple(f for v in validators for f in v(ctx))
    decision = max((f.decision for f in findings), key=_RANK.__getitem__,
                   default=Decision.ELIGIBLE)
    return Eligibility(decision, findings)
