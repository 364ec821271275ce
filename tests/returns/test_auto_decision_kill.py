"""A policy's automatic decision survives a process killed before the marketplace heard it.

A new request the policy approves is committed as "requested" with its
decision planned beside it, and the decision is pushed after the commit. A
child process opening such a request (in the shop's portal, or from a bulk
create row) is killed with SIGKILL right after that commit, before anything
is sent. The timer tick (``run_timers``, the worker's ``return_timers``) or
a re-run of the same bulk row then sends the decision once and records it;
a second tick or re-run sends nothing. Two processes running the tick at the
same instant send each decision once. A recovery push whose answer is lost
leaves the claim "outcome unknown", holds other actions and is not sent
again by the next tick; a merchant's own action replaces a decision nothing
of which was sent, and a move of the request voids it. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import ActionInFlightError
from aftersales.models import Buyer, ReturnStatus
from aftersales.returns.requests import Requests
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.returns import ActionClaimRow

from .action_shop import ActionShop, LosingShop
from .ledger_shop import ledger_order

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
POLICY = {"auto_approve": [{"name": "all"}]}
ROW = {"action": "create", "marketplace": "ledger", "order_id": "O-0", "sku": "L1",
       "quantity": "1", "kind": "return", "reason": "no_reason", "idempotency_key": "row-1"}


def _app(url: str, shop: ActionShop, now: list[datetime] | None = None) -> AfterSales:
    clock = now or [NOW]
    return AfterSales(url, marketplaces=[shop], migrate=False, return_policy=POLICY,
                      clock=lambda: clock[0])


def _orders(url: str, ledger: Path, count: int) -> None:
    app = _app(url, ActionShop(ledger, pause=0))
    try:
        app.store.create_all()
        with app.store.session() as session:
            # a buyer each: a returning buyer's history would keep the rule from deciding
            upsert_orders(session, [ledger_order(f"O-{n}", [("L1", 1, "100.00")]).model_copy(
                update={"buyer": Buyer(external_id=f"B-{n}")}) for n in range(count)])
    finally:
        app.close()


def _die_after_commit(self: Requests, steps: Any) -> None:
    """Stands in for ``run_later``: the process dies after the request's commit."""
    os.kill(os.getpid(), signal.SIGKILL)


def _child(url: str, ledger: str, how: str) -> None:
    Requests.run_later = _die_after_commit  # type: ignore[method-assign]
    app = _app(url, ActionShop(ledger, pause=0))
    if how == "bulk":
        app.returns.bulk([dict(ROW)])
    else:
        app.returns.request("ledger", "O-0", {"L1": 1}, reason="no_reason",
                            idempotency_key="portal-1")


def _killed(url: str, ledger: Path, how: str) -> None:
    ctx: Any = multiprocessing.get_context("fork")
    child = ctx.Process(target=_child, args=(url, str(ledger), how))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -signal.SIGKILL


def _claim(app: AfterSales, rma: str) -> ActionClaimRow | None:
    with app.store.session() as session:
        found = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma))
        if found is not None:
            session.expunge(found)
        return found


def _only(app: AfterSales) -> str:
    (request,) = app.returns.list()
    return request.rma_id or ""


def _approved_by_policy(app: AfterSales, rma: str) -> None:
    assert app.returns.get(rma).status is ReturnStatus.APPROVED
    actors = [(h.actor, h.reason) for h in app.returns.history(rma)]
    assert actors[-1][0] == "policy:all"
    assert "auto-approved: 100.00 CNY" in (actors[-1][1] or "")
    assert _claim(app, rma) is None


def test_a_decision_killed_before_its_push_is_sent_once_by_the_timer_tick(
    db_url: str, tmp_path: Path,
) -> None:
    ledger = tmp_path / "shop.db"
    _orders(db_url, ledger, 1)
    _killed(db_url, ledger, "portal")
    shop = ActionShop(ledger, pause=0)
    app = _app(db_url, shop)
    try:
        rma = _only(app)
        assert app.returns.get(rma).status is ReturnStatus.REQUESTED
        planned = _claim(app, rma)
        assert planned is not None
        assert (planned.state, planned.action, planned.actor) == ("planned", "approve",
                                                                    "policy:all")
        assert shop.calls() == []  # died before anything was sent

        report = app.returns.run_timers()
        assert (report.decisions, report.done, report.failed) == (1, 1, 0)
        assert shop.calls() == [(rma, "approve")]
        _approved_by_policy(app, rma)

        again = app.returns.run_timers()
        assert (again.decisions, again.failed) == (0, 0)
        assert shop.calls() == [(rma, "approve")]  # once, never twice
    finally:
        app.close()


def test_a_repeat_of_the_killed_request_with_its_key_sends_its_decision_once(
    db_url: str, tmp_path: Path,
) -> None:
    ledger = tmp_path / "shop.db"
    _orders(db_url, ledger, 1)
    _killed(db_url, ledger, "portal")
    shop = ActionShop(ledger, pause=0)
    app = _app(db_url, shop)
    try:
        def again() -> ReturnStatus:
            return app.returns.request("ledger", "O-0", {"L1": 1}, reason="no_reason",
                                       idempotency_key="portal-1").status

        assert again() is ReturnStatus.APPROVED
        rma = _only(app)
        assert shop.calls() == [(rma, "approve")]
        _approved_by_policy(app, rma)
        assert again() is ReturnStatus.APPROVED
        assert app.returns.run_timers().decisions == 0
        assert shop.calls() == [(rma, "approve")]
    finally:
        app.close()


def test_a_bulk_create_row_killed_before_its_push_is_finished_by_its_rerun(
    db_url: str, tmp_path: Path,
) -> None:
    ledger = tmp_path / "shop.db"
    _orders(db_url, ledger, 1)
    _killed(db_url, ledger, "bulk")
    shop = ActionShop(ledger, pause=0)
    app = _app(db_url, shop)
    try:
        rma = _only(app)
        assert app.returns.get(rma).status is ReturnStatus.REQUESTED
        assert shop.calls() == []

        seen: list[Any] = []
        summary = app.returns.bulk([dict(ROW)], on_outcome=seen.append)
        assert (summary.skipped, summary.errors) == (1, 0)
        assert seen[0].rma_id == rma
        assert "automatic decision sent now (approved)" in seen[0].detail
        assert shop.calls() == [(rma, "approve")]
        _approved_by_policy(app, rma)

        seen.clear()
        app.returns.bulk([dict(ROW)], on_outcome=seen.append)
        assert seen[0].detail == "already applied (by an earlier row or run)"
        assert shop.calls() == [(rma, "approve")]
    finally:
        app.close()


def _planned(url: str, ledger: Path, count: int) -> list[str]:
    """``count`` requests whose decision is committed and unsent (as after a kill)."""
    _orders(url, ledger, count)
    app = _app(url, ActionShop(ledger, pause=0))
    real = Requests.run_later
    Requests.run_later = lambda self, steps: None  # type: ignore[method-assign]
    try:
        rmas = [app.returns.request("ledger", f"O-{n}", {"L1": 1}, reason="no_reason").rma_id
                or "" for n in range(count)]
    finally:
        Requests.run_later = real  # type: ignore[method-assign]
        app.close()
    return rmas


def _tick(url: str, ledger: str, barrier: Any, results: Any) -> None:
    app = _app(url, ActionShop(ledger, pause=0.3))
    barrier.wait(timeout=60)
    report = app.returns.run_timers()
    results.put((report.decisions, report.skipped, report.failed))


def test_two_ticks_at_the_same_instant_send_each_decision_once(
    db_url: str, tmp_path: Path,
) -> None:
    ledger = tmp_path / "shop.db"
    rmas = _planned(db_url, ledger, 3)
    ctx: Any = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=_tick, args=(db_url, str(ledger), barrier, results))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    reports = [results.get(timeout=5) for _ in procs]
    shop = ActionShop(ledger, pause=0)
    app = _app(db_url, shop)
    try:
        assert sorted(shop.calls()) == sorted((rma, "approve") for rma in rmas)
        assert sum(r[0] for r in reports) == 3
        assert sum(r[2] for r in reports) == 0
        for rma in rmas:
            _approved_by_policy(app, rma)
    finally:
        app.close()


def test_a_lost_answer_on_the_recovery_push_is_never_sent_again_by_a_tick(
    db_url: str, tmp_path: Path,
) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = _planned(db_url, ledger, 1)
    shop = LosingShop(ledger, pause=0)  # approves, then answers 500
    now = [NOW]
    app = _app(db_url, shop, now)
    try:
        report = app.returns.run_timers()
        assert (report.decisions, report.failed) == (0, 1)
        assert "500" in report.reasons[rma]
        assert "\n" not in report.reasons[rma]
        assert shop.decisions() == {rma: "approve"}
        assert app.returns.get(rma).status is ReturnStatus.REQUESTED
        left = _claim(app, rma)
        assert left is not None
        assert (left.state, left.lease_until) == ("unknown", None)

        now[0] = NOW + timedelta(minutes=10)
        again = app.returns.run_timers()
        assert (again.decisions, again.failed) == (0, 0)
        assert shop.calls() == [(rma, "approve")]  # not sent blind again
        with pytest.raises(ActionInFlightError, match="answer to it was lost"):
            app.returns.reject(rma, reason="not as described")
        assert shop.calls() == [(rma, "approve")]
        # a person who saw it approved on the marketplace settles it, sending nothing
        assert app.returns.mark_action_done(rma).status is ReturnStatus.APPROVED
        assert shop.calls() == [(rma, "approve")]
    finally:
        app.close()


def test_a_merchants_action_replaces_an_unsent_decision_and_a_move_voids_it(
    sqlite_url: str, tmp_path: Path,
) -> None:
    ledger = tmp_path / "shop.db"
    first, second = _planned(sqlite_url, ledger, 2)
    shop = ActionShop(ledger, pause=0)
    app = _app(sqlite_url, shop)
    try:
        assert app.returns.reject(first, reason="not as described").status \
            is ReturnStatus.REJECTED
        assert app.returns.cancel(second).status is ReturnStatus.CANCELLED
        report = app.returns.run_timers()
        assert (report.decisions, report.failed) == (0, 0)
        assert shop.calls() == [(first, "reject")]  # the approval nobody sent never goes
        assert _claim(app, first) is None
        assert _claim(app, second) is None
    finally:
        app.close()


def test_a_decision_answered_but_never_written_is_written_by_the_tick_sending_nothing(
    sqlite_url: str, tmp_path: Path,
) -> None:
    """The process died after the marketplace answered and before its write: the tick
    writes the move once the lease is over, and the marketplace hears nothing more."""
    ledger = tmp_path / "shop.db"
    (rma,) = _planned(sqlite_url, ledger, 1)
    shop = ActionShop(ledger, pause=0)
    now = [NOW]
    app = _app(sqlite_url, shop, now)
    try:
        with app.store.session() as session:
            claim = session.get(ActionClaimRow, rma)
            assert claim is not None
            claim.state, claim.attempts = "pushed", 1
            claim.lease_until = NOW + timedelta(minutes=2)
        held = app.returns.run_timers()
        assert (held.decisions, held.failed) == (0, 0)  # its lease is live: left alone
        now[0] = NOW + timedelta(minutes=3)
        report = app.returns.run_timers()
        assert (report.decisions, report.failed) == (1, 0)
        assert shop.calls() == []
        _approved_by_policy(app, rma)
    finally:
        app.close()
