"""A property over random interleavings of refunds, partials, refusals and lost answers.

The marketplace here honours no idempotency key: every ``refund()`` call it
receives pays. It can refuse, lose the answer after paying, or lose the
request before paying (both look the same to the caller). Whatever the
order of full and partial refunds, keys (none, reused, fresh), faults and
reconciliation ticks, the buyer is never paid more for a line than was
paid for it, shipping is paid at most once, and each key pays at most once.
"""

from __future__ import annotations

import itertools
import tempfile
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError, RemoteRejectedError, TransientError
from aftersales.http import notify_send
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import Refund, ReturnRequest
from aftersales.money import Money
from aftersales.returns.refunds import paid_by_line
from aftersales.store.orders import upsert_orders

from .ledger_shop import ledger_order

LINES = [("L1", 2, "100.00"), ("L2", 1, "50.00")]
REQUESTS = [{"L1": 1}, {"L1": 1}, {"L2": 1}]  # two requests share line L1


class Flaky(MarketplaceBase):
    """Pays every call it receives (no key), unless told to fail this one."""

    name = "ledger"
    capabilities = frozenset({Capability.REFUND})

    def __init__(self) -> None:
        self.payments: list[Refund] = []
        self.fault = "ok"

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        notify_send(self.name, "POST", "refund")
        if self.fault == "refuse":
            raise RemoteRejectedError("refused", adapter=self.name, status=422)
        if self.fault == "lost-before":
            raise TransientError("read timed out", adapter=self.name)
        self.payments.append(refund)
        if self.fault == "lost-after":
            raise TransientError("read timed out", adapter=self.name)
        return refund.model_copy(update={"external_id": f"P{len(self.payments)}"})

    def find_refund(self, refund: Refund, request: ReturnRequest | None = None, *,
                    keys: Sequence[str] = (), exclude: Collection[str] = ()) -> Refund | None:
        notify_send(self.name, "GET", "refunds")
        for n, paid in enumerate(self.payments, start=1):
            if paid.idempotency_key in (refund.idempotency_key, *keys):
                return paid.model_copy(update={"external_id": f"P{n}"})
        return None


OPS = st.one_of(
    st.tuples(st.just("refund"), st.integers(0, 2), st.sampled_from([None, "10.00", "33.33"]),
              st.sampled_from([None, "a", "b", "fresh"]),
              st.sampled_from(["ok", "ok", "refuse", "lost-after", "lost-before"])),
    st.tuples(st.just("tick")),
)


def test_random_interleavings_never_overpay_and_each_key_pays_once() -> None:
    shop = Flaky()
    tmp = tempfile.mkdtemp()
    app = AfterSales(f"sqlite:///{tmp}/a.db", marketplaces=[shop], migrate=False)
    app.store.create_all()
    counter = itertools.count()
    order = ledger_order("O-0", LINES)
    cap = paid_by_line(order)

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ops=st.lists(OPS, min_size=1, max_size=8))
    def run(ops: list[tuple[object, ...]]) -> None:
        n = next(counter)
        this = order.model_copy(update={"external_id": f"O-{n}"})
        with app.store.session() as session:
            upsert_orders(session, [this])
        rmas = []
        for lines in REQUESTS:
            req = app.returns.request("ledger", this.external_id, lines, reason="quality_issue",
                                      kind="refund_only", evidence=["photo.jpg"], force=True)
            app.returns.approve(req.rma_id or "", override=True)
            rmas.append(req.rma_id or "")
        later = app.now()
        for op in ops:
            if op[0] == "tick":
                later += timedelta(minutes=10)
                app.returns.reconcile_refunds(later)
                continue
            _, r, amount, key, fault = op
            shop.fault = str(fault)
            try:
                app.returns.refund(
                    rmas[int(str(r))], amount=Money(str(amount), "CNY") if amount else None,
                    idempotency_key=None if key is None else
                    f"{n}-{key}-{next(counter) if key == 'fresh' else ''}")
            except AfterSalesError:
                pass
            finally:
                shop.fault = "ok"
        mine = [p for p in shop.payments if p.order_id == this.external_id]
        keys = Counter(p.idempotency_key for p in mine)
        assert all(v == 1 for v in keys.values()), f"a key paid twice: {keys}"
        per_line: Counter[str] = Counter()
        for p in mine:
            for ln in p.lines:
                per_line[ln.order_line_id] += ln.amount.amount  # type: ignore[assignment]
        for line_id, total in per_line.items():
            assert Decimal(total) <= cap[line_id].amount, (line_id, total)
        shipping = sum((p.shipping.amount for p in mine if p.shipping), Decimal(0))
        assert shipping <= this.shipping.amount

    try:
        run()
    finally:
        app.close()
