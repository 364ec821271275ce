"""The sandbox shop's state: generated plans, the actions applied to them, and views at a moment.

:class:`World` is the part of :class:`~aftersales.sandbox.SandboxMarketplace`
that knows where everything stands; the marketplace class wraps it in the
adapter interface (faults, errors, paging). Plans are generated on first use
and cached; actions are recorded with the simulated second they happened
in, so any view is a replay of plans and actions up to a moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aftersales.models import (
    Order,
    Refund,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    Review,
    Shipment,
    ShipmentDirection,
)
from aftersales.money import Money
from aftersales.sandbox._orders import (
    CURRENCY,
    LinesSpec,
    OrderPlan,
    buyer,
    buyer_speaks_english,
    money,
    order_lines,
    plan_order,
)
from aftersales.sandbox._parcels import journey
from aftersales.sandbox._returns import Action, ReturnPlan, ReturnState, plan_return, replay
from aftersales.sandbox._reviews import Reply, build_review, review_times

__all__ = ["World"]


class World:
    """Plans, actions and the views built from them, for one seed."""

    def __init__(self, name: str, seed: int, orders: int, returns: int,
                 window_start: datetime, window: timedelta) -> None:
        self.name = name
        self.seed = seed
        self.orders = orders
        self.returns = returns
        self.window_start = window_start
        self.window = window
        self._plans: list[OrderPlan | None] = [None] * orders
        self._return_plans: dict[int, ReturnPlan] = {}
        self._return_of: dict[int, int] = {}
        self._returns_by_order: dict[int, list[int]] | None = None
        self.return_actions: dict[int, list[Action]] = {}
        self.order_touched: dict[int, datetime] = {}
        self.exchange_shipments: dict[int, list[Shipment]] = {}
        self.replies: dict[int, Reply] = {}
        self.refunds: dict[int, list[Refund]] = {}

    # ------------------------------------------------------------ orders

    def plan(self, index: int) -> OrderPlan:
        """The skeleton of order ``index`` (generated once)."""
        p = self._plans[index]
        if p is None:
            p = plan_order(self.seed, index, self.orders, self.window_start, self.window)
            self._plans[index] = p
        return p

    def order_updated(self, index: int, now: datetime) -> datetime | None:
        """When order ``index`` last changed by ``now``; ``None`` if not placed yet."""
        p = self.plan(index)
        if p.placed_at > now:
            return None
        updated = p.placed_at
        if p.shipped_at <= now:
            updated = p.settled_at if p.settled_at <= now else p.shipped_at
        touched = self.order_touched.get(index)
        if touched is not None and touched <= now:
            updated = max(updated, touched)
        for r in self.returns_of(index):
            state = self.return_state(r, now)
            shipped = _shipped_back_at(state)
            if shipped is not None:
                updated = max(updated, shipped)
        return updated

    def order_total(self, index: int) -> Money:
        """What the buyer paid for order ``index``."""
        return money(order_lines(self.seed, index).total)

    def refunded(self, index: int) -> Money:
        """What has been refunded on order ``index`` so far."""
        return sum((r.amount for r in self.refunds.get(index, [])), Money.zero(CURRENCY))

    def shipments(self, index: int, now: datetime) -> list[Shipment]:
        """Order ``index``'s parcels visible at ``now``: outbound, returns, exchanges."""
        p = self.plan(index)
        spec: LinesSpec = order_lines(self.seed, index)
        out: list[Shipment] = []
        if p.shipped_at <= now:
            out.append(Shipment(tracking_number=p.number, carrier=p.carrier,
                                external_id=f"{p.external_id}-P1", shipped_at=p.shipped_at,
                                line_ids=[ln.external_id for ln in spec.lines]))
        for r in self.returns_of(index):
            state = self.return_state(r, now)
            if state is not None and state.return_tracking_number:
                back = journey(state.return_tracking_number)
                out.append(Shipment(
                    tracking_number=state.return_tracking_number,
                    carrier=state.return_carrier,
                    direction=ShipmentDirection.RETURN,
                    external_id=f"{self.return_plan(r).external_id}-P1",
                    shipped_at=back.shipped_at if back else None,
                    line_ids=[ln.order_line_id for ln in self.return_plan(r).lines],
                ))
        out.extend(s.model_copy(deep=True) for s in self.exchange_shipments.get(index, [])
                   if s.shipped_at is None or s.shipped_at <= now)
        return out

    def order(self, index: int, now: datetime, updated: datetime | None = None) -> Order:
        """Order ``index`` as the marketplace shows it at ``now``.

        ``updated`` saves recomputing ``order_updated`` when the caller has it.
        """
        p = self.plan(index)
        updated = updated or self.order_updated(index, now)
        assert updated is not None
        spec = order_lines(self.seed, index)
        total = money(spec.total)
        delivered = p.delivered_at
        delivered = delivered if delivered is not None and delivered <= now else None
        raw = "WAIT_SELLER_SEND_GOODS"
        if p.shipped_at <= now:
            raw = "WAIT_BUYER_CONFIRM_GOODS"
        if delivered is not None:
            raw = "TRADE_BUYER_SIGNED"
        returned = p.returned_at
        if (returned is not None and returned <= now) or self.refunded(index) >= total:
            raw = "TRADE_CLOSED"
        return Order(
            marketplace=self.name,
            external_id=p.external_id,
            buyer=buyer(self.seed, p.buyer_index),
            currency=CURRENCY,
            lines=spec.models(),
            shipping=money(spec.shipping),
            discount=money(spec.discount),
            total=total,
            raw_status=raw,
            placed_at=p.placed_at,
            updated_at=updated,
            delivered_at=delivered,
            shipments=self.shipments(index, now),
            taxes_included=True,  # a Chinese marketplace: prices include VAT, none itemised
        )

    # ------------------------------------------------------------ returns

    def order_of_return(self, r: int) -> int:
        """The order return ``r`` belongs to: the first delivered one in its stretch."""
        found = self._return_of.get(r)
        if found is None:
            stride = max(1, self.orders // self.returns)
            first = r * self.orders // self.returns
            found = first
            for o in range(first, min(first + stride, self.orders)):
                if self.plan(o).delivered_at is not None:
                    found = o
                    break
            self._return_of[r] = found
        return found

    def index_returns(self) -> None:
        """Map every order to its return requests at once (before listing every order)."""
        if self._returns_by_order is None:
            by_order: dict[int, list[int]] = {}
            for r in range(self.returns):
                by_order.setdefault(self.order_of_return(r), []).append(r)
            self._returns_by_order = by_order

    def returns_of(self, index: int) -> list[int]:
        """The return requests made on order ``index``."""
        if self._returns_by_order is not None:
            return self._returns_by_order.get(index, [])
        # only the requests whose stretch of orders can reach this one
        stride = max(1, self.orders // self.returns)
        lo = max(0, (index - stride) * self.returns // self.orders - 1)
        hi = min(self.returns, index * self.returns // self.orders + 2)
        return [r for r in range(lo, hi) if self.order_of_return(r) == index]

    def return_plan(self, r: int) -> ReturnPlan:
        """The plan of return request ``r`` (generated once)."""
        plan = self._return_plans.get(r)
        if plan is None:
            o = self.order_of_return(r)
            p = self.plan(o)
            base = p.delivered_at or p.settled_at + timedelta(days=1)
            english = buyer_speaks_english(self.seed, p.buyer_index)
            spec = order_lines(self.seed, o)
            plan = plan_return(self.seed, r, o, base, english, spec, self.orders + r)
            self._return_plans[r] = plan
        return plan

    def return_state(self, r: int, now: datetime) -> ReturnState | None:
        """Return request ``r`` at ``now``; ``None`` before the buyer asked."""
        return replay(self.return_plan(r), self.return_actions.get(r, []), now)

    def return_request(self, r: int, now: datetime) -> ReturnRequest:
        """Return request ``r`` as the marketplace shows it at ``now``."""
        plan = self.return_plan(r)
        state = self.return_state(r, now)
        assert state is not None
        return ReturnRequest(
            marketplace=self.name,
            order_id=self.plan(plan.order_index).external_id,
            kind=plan.kind,
            lines=[ReturnLine(order_line_id=ln.order_line_id, sku=ln.sku, quantity=ln.quantity,
                              reason=plan.reason, reason_text=plan.reason_text,
                              replacement_sku=ln.replacement_sku) for ln in plan.lines],
            status=state.status,
            raw_status=state.raw_status,
            external_id=plan.external_id,
            requested_amount=plan.requested_amount,
            buyer_note=state.note or None,
            evidence=list(plan.evidence),
            return_tracking_number=state.return_tracking_number,
            return_carrier=state.return_carrier,
            created_at=plan.created_at,
            updated_at=state.updated_at,
        )

    # ------------------------------------------------------------ reviews

    def review_updated(self, index: int, now: datetime) -> datetime | None:
        """When order ``index``'s review last changed by ``now``; ``None`` if there is none yet."""
        p = self.plan(index)
        if p.review is None:
            return None
        delivered = p.delivered_at
        if delivered is None:
            return None
        times = review_times(p.review, delivered)
        if times.created_at > now:
            return None
        updated = times.updated_at(now)
        reply = self.replies.get(index)
        if reply is not None and reply.at <= now:
            updated = max(updated, reply.at)
        return updated

    def review(self, index: int, now: datetime) -> Review:
        """Order ``index``'s review as the marketplace shows it at ``now``."""
        p = self.plan(index)
        assert p.review is not None
        delivered = p.delivered_at
        assert delivered is not None
        b = buyer(self.seed, p.buyer_index)
        english = buyer_speaks_english(self.seed, p.buyer_index)
        lines = order_lines(self.seed, index).lines
        line = lines[p.review.append_pick % len(lines)]
        author = (b.name or "?")[:1] + ("***" if english else "**")
        return build_review(self.name, index, p.review, review_times(p.review, delivered), now,
                            english=english, author=author, order_id=p.external_id,
                            line_id=line.external_id, sku=line.sku,
                            reply=self.replies.get(index))


def _shipped_back_at(state: ReturnState | None) -> datetime | None:
    if state is None or state.return_tracking_number is None:
        return None
    return next((at for at, st in state.history if st is ReturnStatus.RETURN_SHIPPED), None)
