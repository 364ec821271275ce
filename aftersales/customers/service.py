"""Customers: one view of a buyer across every area (``app.customers``).

::

    record = app.customers.get("buyer-42")               # every store
    record = app.customers.get("buyer-42", store="tmall-flagship")
    record.returner.points, record.returner.reasons      # the score, and why
    record.lifetime.spent                                # {"CNY": Decimal("1288.00")}

The record is read in one transaction with a fixed number of statements
(:data:`~aftersales.customers.repository.QUERIES`), whatever the buyer's
history. Contact details are masked in every log line and repr; the buyer
id itself is logged only by its first characters.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aftersales.customers.models import (
    CaseLine,
    ContactLine,
    CustomerRecord,
    FollowUpLine,
    HoldLine,
    Lifetime,
    OptOutLine,
    OrderLine,
    RefundLine,
    ReturnLine,
    ReviewLine,
)
from aftersales.customers.repository import BuyerRows, load_rows
from aftersales.customers.score import BUYER_REASONS, ReturnerInputs, ReturnerRule, score
from aftersales.errors import NotFoundError, ValidationError
from aftersales.models import Buyer
from aftersales.money import Money

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["Customers"]

log = logging.getLogger("aftersales.customers")

#: Requests in these states were never returns.
NOT_RETURNS = frozenset({"cancelled", "rejected"})


def _mask_id(buyer_id: str) -> str:
    return buyer_id[:2] + "***"


def _storable(text: str) -> bool:
    """Whether a text column holds ``text``: no NUL, no lone surrogate (no UTF-8 form)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sum(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in pairs:
        out[currency] += amount
    return dict(sorted(out.items()))


def _mean(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(Decimal("0.01"))


class Customers:
    """Customer records (客户档案).

    Args:
        runtime: the store and clock.
        rule: the serial-returner rule (default :class:`~aftersales.customers.score.ReturnerRule`).
    """

    def __init__(self, runtime: Runtime, *, rule: ReturnerRule | None = None) -> None:
        self._runtime = runtime
        self.rule = rule or ReturnerRule()

    def get(self, buyer_id: str, store: str | None = None) -> CustomerRecord:
        """Everything about ``buyer_id`` (in ``store``, or in every store).

        Raises:
            ValidationError: ``buyer_id`` is empty or longer than 120 characters, or
                either it or ``store`` is no text or holds a NUL or a lone surrogate.
            NotFoundError: nothing at all is known about the buyer.
        """
        if not isinstance(buyer_id, str) or not 0 < len(buyer_id) <= 120 \
                or not buyer_id.strip() or not _storable(buyer_id):
            raise ValidationError("give a buyer id of 1-120 characters, without NUL or a lone "
                                  "surrogate", field="buyer_id")
        if store is not None and (not isinstance(store, str) or not _storable(store)):
            raise ValidationError("must be a store's name", field="store")
        with self._runtime.store.session() as session:
            rows = load_rows(session, buyer_id, store)
        if not any((rows.orders, rows.returns, rows.follow_ups, rows.contacts, rows.holds,
                    rows.opt_outs, rows.cases)):
            raise NotFoundError("buyer", _mask_id(buyer_id))
        record = self._record(buyer_id, store, rows)
        log.debug("customer record for buyer %s: %d orders, %d returns, returner %s",
                  _mask_id(buyer_id), len(record.orders), len(record.returns),
                  record.returner.level)
        return record

    def _record(self, buyer_id: str, store: str | None, rows: BuyerRows) -> CustomerRecord:
        orders = tuple(OrderLine(store=o.marketplace, order_id=o.external_id,
                                 placed_at=o.placed_at, total=Money(o.total, o.currency),
                                 status=o.raw_status, delivered_at=o.delivered_at)
                       for o in rows.orders)
        returns = tuple(ReturnLine(
            rma_id=r.rma_id, store=r.marketplace, order_id=r.order_external_id, kind=r.kind,
            status=r.status, reasons=tuple(line.reason for line in r.lines),
            inspection=tuple(i for line in r.lines for i in (line.inspection or [])),
            requested=Money(r.requested_amount, r.currency)
            if r.requested_amount is not None and r.currency else None,
            created_at=r.created_at) for r in rows.returns)
        refunds = tuple(RefundLine(store=r.marketplace, order_id=r.order_external_id,
                                   rma_id=r.rma_id, amount=Money(r.amount, r.currency),
                                   status=r.status, created_at=r.created_at)
                        for r in rows.refunds)
        reviews = tuple(ReviewLine(id=r.id, store=r.marketplace, order_id=r.order_external_id,
                                   rating=r.rating, sentiment=r.sentiment,
                                   complaints=tuple(r.complaints or ()),
                                   created_at=r.remote_created_at) for r in rows.reviews)
        follow_ups = tuple(FollowUpLine(id=f.id, plan=f.plan, status=f.status,
                                        store=f.marketplace, order_id=f.order_external_id,
                                        due_at=f.due_at, sent_at=f.sent_at, csat=f.csat,
                                        nps=f.nps) for f in rows.follow_ups)
        return CustomerRecord(
            buyer_id=buyer_id, store=store, buyer=_buyer(rows),
            orders=orders, returns=returns, refunds=refunds, reviews=reviews,
            cases=tuple(_case_line(c) for c in rows.cases), follow_ups=follow_ups,
            contacts=tuple(ContactLine(sent_at=c.sent_at, kind=c.kind, channel=c.channel,
                                       source=c.source) for c in rows.contacts),
            holds=tuple(HoldLine(kind=h.kind, ref=h.ref, opened_at=h.opened_at,
                                 resolved_at=h.resolved_at) for h in rows.holds),
            opt_outs=tuple(OptOutLine(scope=o.scope, created_at=o.created_at)
                           for o in rows.opt_outs),
            returner=score(self._inputs(orders, returns, refunds), self.rule),
            lifetime=_lifetime(orders, returns, refunds, reviews, follow_ups),
        )

    def _inputs(self, orders: tuple[OrderLine, ...], returns: tuple[ReturnLine, ...],
                refunds: tuple[RefundLine, ...]) -> ReturnerInputs:
        since: datetime = self._runtime.now() - timedelta(days=self.rule.window_days)
        counted = [r for r in returns if r.status not in NOT_RETURNS and r.created_at >= since]
        recent = [o for o in orders if o.placed_at >= since]
        return ReturnerInputs(
            orders=len(recent),
            returns=len(counted),
            returned_orders=len({(r.store, r.order_id) for r in counted}),
            buyer_reason_returns=sum(1 for r in counted
                                     if r.reasons and set(r.reasons) <= BUYER_REASONS),
            failed_inspections=sum(1 for r in counted
                                   if any(i != "resellable" for i in r.inspection)),
            spent=_sum((o.total.currency, o.total.amount) for o in recent),
            refunded=_sum((r.amount.currency, r.amount.amount) for r in refunds
                          if r.status == "paid" and r.created_at >= since),
        )


def _buyer(rows: BuyerRows) -> Buyer | None:
    for order in rows.orders:  # newest first: the latest contact details
        try:
            return Buyer.model_validate(order.buyer)
        except ValueError:
            continue
    return None


def _case_line(row: Any) -> CaseLine:
    return CaseLine(id=row.id, store=row.store, kind=row.kind, status=row.status,
                    priority=row.priority, order_id=row.order_id, root_cause=row.root_cause,
                    opened_at=row.opened_at)


def _lifetime(orders: tuple[OrderLine, ...], returns: tuple[ReturnLine, ...],
              refunds: tuple[RefundLine, ...], reviews: tuple[ReviewLine, ...],
              follow_ups: tuple[FollowUpLine, ...]) -> Lifetime:
    spent = _sum((o.total.currency, o.total.amount) for o in orders)
    refunded = _sum((r.amount.currency, r.amount.amount) for r in refunds if r.status == "paid")
    net = {c: spent.get(c, Decimal(0)) - refunded.get(c, Decimal(0))
           for c in sorted(set(spent) | set(refunded))}
    placed = [o.placed_at for o in orders]
    return Lifetime(
        orders=len(orders), first_order_at=min(placed, default=None),
        last_order_at=max(placed, default=None), spent=spent, refunded=refunded, net=net,
        returns=sum(1 for r in returns if r.status not in NOT_RETURNS),
        reviews=len(reviews), average_rating=_mean([r.rating for r in reviews]),
        average_csat=_mean([f.csat for f in follow_ups if f.csat is not None]),
    )
