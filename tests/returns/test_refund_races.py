"""Processes racing to refund: each request is paid once, no line beyond what was paid.

Two and four processes fire ``refund()`` at the same instant (a barrier per
round) on SQLite and on PostgreSQL: on one request, and on two requests
that share one order line; with no key, with one key shared by all, and
with a key of their own each. The marketplace (:mod:`ledger_shop`) records
every payment in a file all processes share and caps only at the order's
total, as the platforms do. Rounds default to a number that still fails
without the order lock (see the report of issue 13); set
``AFTERSALES_RACE_ROUNDS=200`` for the long run. ``AFTERSALES_RACE_UNLOCKED=1``
runs the same cases with the order lock patched out in the racing processes
(nothing in the library can turn it off): they are then expected to fail,
which shows the lock is what holds.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError, RefundInFlightError, ValidationError
from aftersales.money import Money
from aftersales.returns.refunds import paid_by_line

from .ledger_shop import LedgerShop, approved_requests, ledger_order

ROUNDS = int(os.environ.get("AFTERSALES_RACE_ROUNDS", "6"))
UNLOCKED = os.environ.get("AFTERSALES_RACE_UNLOCKED") == "1"
LINES = [("L1", 1, "100.00"), ("L2", 1, "500.00")]  # room under the total for a double pay


def _prepare(url: str, ledger: Path, rounds: int, shared_line: bool) -> list[list[str]]:
    """One order per round, with one request (or two on the same line), approved."""
    orders = [ledger_order(f"O-{r}", LINES) for r in range(rounds)]
    shop = LedgerShop(ledger, {o.external_id: o.total.amount for o in orders})
    app = AfterSales(url, marketplaces=[shop], migrate=False)
    try:
        app.store.create_all()
        return approved_requests(app, orders, 2 if shared_line else 1)
    finally:
        app.close()


def _fire(url: str, ledger: str, totals: dict[str, Decimal], plan: list[list[str]], mode: str,
          index: int, gate: Any, out: Any, unlocked: bool, amount: str | None = None) -> None:
    """One racing process: at each round's gate, refund its request of the round."""
    if unlocked:  # the demonstration that the order lock is what holds
        from aftersales.returns import refund_claim
        refund_claim.lock_order = lambda *a, **k: None  # type: ignore[assignment]
    from aftersales.http import add_send_hook
    from aftersales.store.guard import write_open

    def no_call_inside_a_write(adapter: str, method: str, target: str) -> None:
        if write_open():
            raise AssertionError(f"{adapter} {method} {target} called inside a write")

    add_send_hook(no_call_inside_a_write)
    app = AfterSales(url, marketplaces=[LedgerShop(ledger, totals)], migrate=False)
    outcomes: list[str] = []
    try:
        for r, rmas in enumerate(plan):
            key = {"none": None, "same": f"k{r}", "distinct": f"k{r}-{index}"}[mode]
            gate.wait()
            try:
                app.returns.refund(rmas[index % len(rmas)], idempotency_key=key,
                                   amount=None if amount is None else Money(amount, "CNY"))
                outcomes.append("paid")
            except RefundInFlightError:
                outcomes.append("in flight")
            except ValidationError as exc:
                outcomes.append("nothing left" if "nothing is left" in str(exc)
                                or "can be refunded, not" in str(exc)
                                else f"ValidationError: {exc}")
            except (AfterSalesError, AssertionError) as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
    finally:
        app.close()
        out.put((index, outcomes))


def race(url: str, tmp: Path, *, processes: int, mode: str, shared_line: bool,
         rounds: int = ROUNDS, unlocked: bool = False,
         amount: str | None = None) -> tuple[LedgerShop, Counter[str]]:
    """Run the race; returns the ledger and the count of each outcome."""
    ledger = tmp / "ledger.db"
    plan = _prepare(url, ledger, rounds, shared_line)
    totals = {f"O-{r}": ledger_order(f"O-{r}", LINES).total.amount for r in range(rounds)}
    ctx = multiprocessing.get_context("fork")
    gate = ctx.Barrier(processes)
    out = ctx.Queue()
    procs = [ctx.Process(target=_fire, args=(url, str(ledger), totals, plan, mode, i, gate,
                                              out, unlocked, amount))
             for i in range(processes)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    counts: Counter[str] = Counter(o for _, outcomes in results for o in outcomes)
    return LedgerShop(ledger), counts


def check_ledger(shop: LedgerShop, rounds: int, shared_line: bool) -> None:
    """Nothing paid twice, no line beyond what the buyer paid for it."""
    payments = shop.payments()
    assert len({k for k, *_ in payments}) == len(payments)
    per_line: Counter[tuple[str, str]] = Counter()
    per_order: Counter[str] = Counter()
    for _, order_id, _, lines in payments:
        per_order[order_id] += 1
        for lid, amount in lines.items():
            per_line[(order_id, lid)] += amount  # type: ignore[assignment]
    cap = paid_by_line(ledger_order("O-0", LINES))
    over = {k: v for k, v in per_line.items() if v > cap[k[1]].amount}
    assert over == {}, f"lines paid beyond what was paid for them: {over}"
    # One unit of L1 was bought: one payment per order, whichever request won it.
    twice = {o: n for o, n in per_order.items() if n > 1}
    assert twice == {}, f"orders paid more than once: {twice}"
    assert len(per_order) == rounds


CASES = [
    pytest.param(2, "none", False, id="2p-one-request-no-key"),
    pytest.param(2, "distinct", True, id="2p-shared-line-own-keys"),
    pytest.param(4, "same", False, id="4p-one-request-one-key"),
    pytest.param(4, "distinct", False, id="4p-one-request-own-keys"),
    pytest.param(4, "none", True, id="4p-shared-line-no-key"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("processes", "mode", "shared_line"), CASES)
def test_racing_processes_pay_each_request_once(
    db_url: str, tmp_path: Path, processes: int, mode: str, shared_line: bool,
) -> None:
    shop, counts = race(db_url, tmp_path, processes=processes, mode=mode,
                        shared_line=shared_line, unlocked=UNLOCKED)
    check_ledger(shop, ROUNDS, shared_line)
    unexpected = {o: n for o, n in counts.items()
                  if o not in ("paid", "in flight", "nothing left")}
    assert unexpected == {}
    assert counts["paid"] >= ROUNDS  # every round paid (a same-key caller may get it back)


@pytest.mark.slow
@pytest.mark.parametrize("processes", [2, 4])
def test_racing_partial_refunds_of_one_unit_never_sum_beyond_it(
    db_url: str, tmp_path: Path, processes: int,
) -> None:
    """Two requests on the one unit of L1 (paid 100.00), each asked 80.00 at the same
    instant: their sum would be 160.00, and the platform (capping only at the order's
    610.00) would pay it; one request is paid 80.00, the other refused."""
    shop, counts = race(db_url, tmp_path, processes=processes, mode="distinct",
                        shared_line=True, unlocked=UNLOCKED, amount="80.00")
    check_ledger(shop, ROUNDS, shared_line=True)
    assert {p[2] for p in shop.payments()} == {Decimal("80.00")}
    unexpected = {o: n for o, n in counts.items()
                  if o not in ("paid", "in flight", "nothing left")}
    assert unexpected == {}
