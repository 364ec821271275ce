"""Whole-service properties: any sequence of actions stays inside the machine and the money."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError
from aftersales.models import ReturnKind, ReturnLine, ReturnReason, ReturnStatus
from aftersales.money import Money
from aftersales.returns.lifecycle import can_transition
from aftersales.returns.refunds import paid_by_line
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.orders import order_from_row
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.returns import RefundLineRow, RefundRow

ACTIONS = ["open", "open", "approve", "reject", "ship", "receive", "refund", "partial",
           "exchange", "close", "cancel", "reopen"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_sequence_of_actions_stays_in_the_machine_and_never_overpays(
    data: st.DataObject,
) -> None:
    shop = SandboxMarketplace(seed=0, orders=40)
    app = AfterSales(f"sqlite:///{tempfile.mkdtemp()}/p.db", marketplaces=[shop],
                     clock=lambda: shop.now, migrate=False)
    app.store.create_all()
    app.sync_orders("sandbox")
    with app.store.session() as s:
        rows = s.scalars(select(OrderRow).where(
            OrderRow.delivered_at >= shop.now - timedelta(days=6)).order_by(OrderRow.id)).all()
        orders = [order_from_row(r) for r in rows]
    order = data.draw(st.sampled_from(orders), label="order")
    svc = app.returns
    rmas: list[str] = []
    try:
        for _ in range(data.draw(st.integers(3, 14), label="steps")):
            action = data.draw(st.sampled_from(ACTIONS))
            try:
                if action == "open" or not rmas:
                    kind = data.draw(st.sampled_from(list(ReturnKind)))
                    line = data.draw(st.sampled_from(order.lines))
                    req = svc.request(
                        order.marketplace, order.external_id,
                        [ReturnLine(order_line_id=line.external_id,
                                    quantity=data.draw(st.integers(1, line.quantity)),
                                    reason=data.draw(st.sampled_from(list(ReturnReason))),
                                    replacement_sku=line.sku + "-X")],
                        kind=kind, evidence=["p.jpg"], force=True, auto=False)
                    rmas.append(req.rma_id or "")
                    continue
                rma = data.draw(st.sampled_from(rmas))
                if action == "approve":
                    svc.approve(rma, override=True)
                elif action == "reject":
                    svc.reject(rma, reason="no")
                elif action == "ship":
                    svc.mark_shipped(rma, "SF1234567890123")
                elif action == "receive":
                    svc.receive(rma)
                elif action == "refund":
                    svc.refund(rma)
                elif action == "partial":
                    cents = data.draw(st.integers(1, 30000))
                    svc.refund(rma, amount=Money(Decimal(cents) / 100, order.currency))
                elif action == "exchange":
                    svc.ship_exchange(rma, "YT1234567890123")
                elif action == "close":
                    svc.close(rma)
                elif action == "cancel":
                    svc.cancel(rma)
                elif action == "reopen":
                    svc.reopen(rma)
            except AfterSalesError:
                pass  # refused: the properties below must hold all the same

        # Every recorded move is one the machine allows, and the trail ends where the row is.
        for rma in rmas:
            req = svc.get(rma)
            trail = svc.history(rma)
            for entry in trail[1:]:
                if entry.from_status != entry.to_status:
                    assert entry.from_status is not None
                    assert entry.to_status is not None
                    assert can_transition(req.kind, ReturnStatus(entry.from_status),
                                          ReturnStatus(entry.to_status)), entry
            assert trail[-1].to_status == req.status.value

        # Money: per line and in total, never more than was paid; shipping at most once.
        paid = paid_by_line(order)
        with app.store.session() as s:
            lines = s.execute(select(RefundLineRow.order_line_external_id, RefundLineRow.amount)
                              .join(RefundRow, RefundRow.id == RefundLineRow.refund_id)
                              .where(RefundRow.status == "paid")).all()
            refused = s.scalars(select(RefundRow.error).where(RefundRow.status == "failed"))
            assert not [e for e in refused if e and "exceeds" in e]
        for line_id, limit in paid.items():
            got = sum((amt for lid, amt in lines if lid == line_id), Decimal(0))
            assert got <= limit.amount
        shipping = [r.shipping for r in shop.refunds_paid if r.shipping]
        assert len(shipping) <= 1
        total = sum((r.amount.amount for r in shop.refunds_paid), Decimal(0))
        assert total <= sum((p.amount for p in paid.values()), order.shipping.amount)
    finally:
        app.close()
