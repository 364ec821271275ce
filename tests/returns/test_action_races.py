"""Processes racing to act on one request: the marketplace hears one action, never two.

Two (and three) processes approve, or one approves while another refuses,
the same request at the same instant (a barrier per round), on SQLite and
on PostgreSQL. The marketplace (:mod:`action_shop`) records every call it
receives in a file all processes share and pauses inside each, so without
a claim taken before the push both racers are in the call together. Each
request must be called once, its stored status must be the action the
marketplace heard, and every loser must be refused before calling, with a
one-line error. Every process also fails any call made inside an open
write transaction.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.errors import (
    ActionInFlightError,
    AfterSalesError,
    ConcurrentUpdateError,
    InvalidTransitionError,
    RefundInFlightError,
)
from aftersales.models import ReturnStatus
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.returns import PlatformDeadlineRow, ReturnRow

from .action_shop import ActionShop
from .ledger_shop import ledger_order

ROUNDS = int(os.environ.get("AFTERSALES_RACE_ROUNDS", "3"))
DUE = datetime(2030, 1, 1, tzinfo=UTC)
STATUS = {"approve": ReturnStatus.APPROVED, "reject": ReturnStatus.REJECTED}


def prepare(url: str, ledger: Path, rounds: int, *, received: bool = False,
            on_platform: bool = False) -> list[str]:
    """One order and one waiting request per round (``received``: approved, shipped back
    and received, so it may be refunded or refused; ``on_platform``: known to the
    marketplace, with a platform deadline it lets the shop extend)."""
    orders = [ledger_order(f"O-{r}", [("L1", 1, "100.00")]) for r in range(rounds)]
    app = AfterSales(url, marketplaces=[ActionShop(ledger)], migrate=False)
    try:
        app.store.create_all()
        with app.store.session() as session:
            upsert_orders(session, orders)
        rmas = [app.returns.request("ledger", o.external_id, {"L1": 1}, reason="quality_issue",
                                    kind="return", evidence=["photo.jpg"], force=True,
                                    auto=False).rma_id or ""
                for o in orders]
        for rma in rmas if received else ():
            app.returns.approve(rma, override=True)
            app.returns.mark_shipped(rma, f"SF{rma[-8:]}")
            app.returns.receive(rma)
        with app.store.session() as session:
            for rma in rmas if on_platform else ():
                row = session.get(ReturnRow, rma)
                assert row is not None
                row.external_id = f"P-{rma}"
                row.platform_deadline = PlatformDeadlineRow(
                    rma_id=rma, store="ledger", status="requested", due_at=DUE,
                    extendable=True, extensions=0, synced_at=DUE - timedelta(days=1))
        return rmas
    finally:
        app.close()


def act(app: AfterSales, action: str, rma: str) -> None:
    if action == "approve":
        app.returns.approve(rma, override=True)
    elif action == "refund":
        app.returns.refund(rma)
    elif action == "extend":
        app.returns.extend_deadline(rma, timedelta(hours=24))
    else:
        app.returns.reject(rma, reason="not as described")


def _fire(url: str, ledger: str, rmas: list[str], action: str, gate: Any, out: Any) -> None:
    """One racing process: at each round's gate, ``action`` the round's request."""
    from aftersales.http import add_send_hook
    from aftersales.store.guard import write_open

    def no_call_inside_a_write(adapter: str, method: str, target: str) -> None:
        if write_open():
            raise AssertionError(f"{adapter} {method} {target} called inside a write")

    add_send_hook(no_call_inside_a_write)
    app = AfterSales(url, marketplaces=[ActionShop(ledger)], migrate=False)
    outcomes: list[str] = []
    try:
        for rma in rmas:
            gate.wait()
            try:
                act(app, action, rma)
                outcomes.append("done")
            except (ActionInFlightError, RefundInFlightError) as exc:
                outcomes.append("in flight" if "\n" not in str(exc) else f"two lines: {exc}")
            except InvalidTransitionError:
                outcomes.append("decided")  # the winner committed before this one read
            except ConcurrentUpdateError as exc:
                outcomes.append("changed" if "\n" not in str(exc) else f"two lines: {exc}")
            except (AfterSalesError, AssertionError) as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
    finally:
        app.close()
        out.put(outcomes)


def race(url: str, tmp: Path, actions: list[str], received: bool = False,
         on_platform: bool = False) -> tuple[ActionShop, list[str], Counter[str]]:
    ledger = tmp / "shop.db"
    rmas = prepare(url, ledger, ROUNDS, received=received, on_platform=on_platform)
    ctx = multiprocessing.get_context("fork")
    gate = ctx.Barrier(len(actions))
    out = ctx.Queue()
    procs = [ctx.Process(target=_fire, args=(url, str(ledger), rmas, action, gate, out))
             for action in actions]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return ActionShop(ledger), rmas, Counter(o for outcomes in results for o in outcomes)


@pytest.mark.parametrize("actions", [
    pytest.param(["approve", "approve"], id="2p-approve-approve"),
    pytest.param(["approve", "reject"], id="2p-approve-reject"),
    pytest.param(["approve", "reject", "approve"], id="3p-approve-reject-approve"),
])
def test_racing_processes_send_one_action_per_request(
    db_url: str, tmp_path: Path, actions: list[str],
) -> None:
    shop, rmas, counts = race(db_url, tmp_path, actions)
    calls = Counter(rma for rma, _ in shop.calls())
    assert {rma: n for rma, n in calls.items() if n != 1} == {}, shop.calls()
    assert set(calls) == set(rmas)
    unexpected = {o: n for o, n in counts.items()
                  if o not in ("done", "in flight", "decided", "changed")}
    assert unexpected == {}
    assert counts["done"] == ROUNDS
    heard = shop.decisions()
    app = AfterSales(db_url, marketplaces=[shop], migrate=False)
    try:
        for rma in rmas:
            assert app.returns.get(rma).status is STATUS[heard[rma]]
        with app.store.session() as session:
            from sqlalchemy import func, select

            from aftersales.store.tables.returns import ActionClaimRow

            assert session.scalar(select(func.count()).select_from(ActionClaimRow)) == 0
    finally:
        app.close()


@pytest.mark.parametrize("actions", [
    pytest.param(["refund", "reject"], id="2p-refund-reject"),
    pytest.param(["reject", "refund", "reject"], id="3p-reject-refund-reject"),
])
def test_a_refund_and_a_refusal_at_the_same_instant_reach_the_marketplace_once(
    db_url: str, tmp_path: Path, actions: list[str],
) -> None:
    """A received return refunded and refused at once: the marketplace pays it or
    refuses it, never both (the refund's claim and the refusal's see each other)."""
    shop, rmas, counts = race(db_url, tmp_path, actions, received=True)
    # a refund names its order (O-<round>), a refusal its request
    of = {f"O-{r}": rma for r, rma in enumerate(rmas)}
    calls = [(of.get(key, key), action) for key, action in shop.calls()
             if action in ("refund", "reject")]
    raced = Counter(rma for rma, _ in calls)
    assert {rma: n for rma, n in raced.items() if n != 1} == {}, calls
    assert set(raced) == set(rmas)
    unexpected = {o: n for o, n in counts.items()
                  if o not in ("done", "in flight", "decided", "changed")}
    assert unexpected == {}
    assert counts["done"] == ROUNDS
    heard = dict(calls)
    app = AfterSales(db_url, marketplaces=[shop], migrate=False)
    try:
        for rma in rmas:
            want = ReturnStatus.REFUNDED if heard[rma] == "refund" else ReturnStatus.REJECTED
            assert app.returns.get(rma).status is want
    finally:
        app.close()


def test_two_extensions_asked_at_the_same_instant_are_granted_once(
    db_url: str, tmp_path: Path,
) -> None:
    """The platform grants every extension it is asked for: asked twice at once, the
    request got two days where the shop asked one."""
    shop, rmas, counts = race(db_url, tmp_path, ["extend", "extend"], on_platform=True)
    calls = Counter(rma for rma, action in shop.calls() if action == "extend_deadline")
    assert {rma: n for rma, n in calls.items() if n != 1} == {}, shop.calls()
    assert set(calls) == set(rmas)
    unexpected = {o: n for o, n in counts.items() if o not in ("done", "in flight")}
    assert unexpected == {}
    assert counts["done"] == ROUNDS
    app = AfterSales(db_url, marketplaces=[shop], migrate=False)
    try:
        for rma in rmas:
            deadline = app.returns.get(rma).platform_deadline
            assert deadline is not None
            assert deadline.due_at == DUE + timedelta(hours=24)
    finally:
        app.close()
