"""An action whose process died mid-push, or whose answer was lost, is never sent twice blind.

A child process approving a request is killed (SIGKILL) right before the
marketplace acts, or right after it acted and before anything was written
here. The claim it committed before calling keeps its lease: an immediate
retry, and any other action, is refused without calling. Once the lease
has run out only the same action may resume it. A lost answer (the
marketplace acted, then answered 500) leaves the claim "outcome unknown":
other actions are refused, and the retry either is answered (a platform
that takes the same decision twice) or is refused by the platform, which
then says the request may be decided already and to sync, never writing a
state the marketplace may not have. On SQLite and PostgreSQL.
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
from aftersales.errors import ActionInFlightError, RefundInFlightError, TransientError
from aftersales.models import Refund, ReturnRequest, ReturnStatus
from aftersales.store.tables.returns import ActionClaimRow

from .action_shop import ActionShop, LosingShop
from .test_action_races import prepare

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)


class DyingShop(ActionShop):
    """Kills its own process before or after acting."""

    def __init__(self, path: str | Path, when: str) -> None:
        super().__init__(path, pause=0)
        self.when = when

    def before_deciding(self, request: ReturnRequest, action: str) -> None:
        if self.when == "before-acting":
            os.kill(os.getpid(), signal.SIGKILL)

    def after_deciding(self, request: ReturnRequest, action: str) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def _child(url: str, shop: str, when: str, rma: str) -> None:
    app = AfterSales(url, marketplaces=[DyingShop(shop, when)], migrate=False,
                     clock=lambda: NOW)
    app.returns.approve(rma, override=True)


def _claim(app: AfterSales, rma: str) -> ActionClaimRow | None:
    with app.store.session() as session:
        found = session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma))
        if found is not None:
            session.expunge(found)
        return found


def _refused_without_a_call(app: AfterSales, shop: ActionShop, rma: str, match: str, *,
                            approve: bool = True) -> None:
    """Every action (approve too, unless ``approve=False``) is refused, and nothing is sent."""
    before = len(shop.calls())
    attempts = [lambda: app.returns.reject(rma, reason="not as described"),
                lambda: app.returns.cancel(rma)]
    if approve:
        attempts.append(lambda: app.returns.approve(rma, override=True))
    for attempt in attempts:
        with pytest.raises(ActionInFlightError, match=match) as info:
            attempt()
        assert "\n" not in str(info.value)
    assert len(shop.calls()) == before


@pytest.mark.parametrize("when", ["before-acting", "after-acting"])
def test_an_action_killed_mid_push_is_held_then_resumed_once(
    db_url: str, tmp_path: Path, when: str,
) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1)
    shop = ActionShop(ledger, pause=0)
    now = [NOW]
    app = AfterSales(db_url, marketplaces=[shop], migrate=False, clock=lambda: now[0])
    try:
        app.store.engine.dispose()  # no pooled connection crosses the fork
        ctx: Any = multiprocessing.get_context("fork")
        child = ctx.Process(target=_child, args=(db_url, str(ledger), when, rma))
        child.start()
        child.join(timeout=120)
        assert child.exitcode == -signal.SIGKILL
        assert shop.calls() == [(rma, "approve")]
        assert shop.decisions() == ({rma: "approve"} if when == "after-acting" else {})

        # the dead process's lease still holds: every action is refused, nothing is sent
        _refused_without_a_call(app, shop, rma, "approve in flight: it is being sent")
        now[0] = NOW + timedelta(minutes=3)
        # the lease ran out: the outcome is unknown, and only approve may resume it
        _refused_without_a_call(app, shop, rma, "answer to it was lost", approve=False)
        assert len(shop.calls()) == 1

        if when == "before-acting":
            assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
            assert _claim(app, rma) is None
        else:
            # the platform refuses a second decision: it may be approved there already
            with pytest.raises(ActionInFlightError, match="may have acted already; sync"):
                app.returns.approve(rma, override=True)
            assert app.returns.get(rma).status is ReturnStatus.REQUESTED
            left = _claim(app, rma)
            assert left is not None
            assert (left.state, left.lease_until) == ("unknown", None)
        assert shop.decisions() == {rma: "approve"}  # decided once, whatever happened
        assert [a for _, a in shop.calls()] == ["approve", "approve"]
    finally:
        app.close()


@pytest.mark.parametrize("idempotent", [True, False], ids=["same-answer", "refuses-repeat"])
def test_a_lost_answer_holds_other_actions_and_the_retry_never_acts_twice(
    db_url: str, tmp_path: Path, idempotent: bool,
) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1)
    shop = LosingShop(ledger, pause=0, idempotent=idempotent)
    app = AfterSales(db_url, marketplaces=[shop], migrate=False)
    try:
        with pytest.raises(TransientError, match="500"):
            app.returns.approve(rma, override=True)
        assert shop.decisions() == {rma: "approve"}
        assert app.returns.get(rma).status is ReturnStatus.REQUESTED
        left = _claim(app, rma)
        assert left is not None
        assert left.state == "unknown"
        assert left.error is not None
        assert "500" in left.error
        _refused_without_a_call(app, shop, rma, "approve in flight: the marketplace's answer",
                                approve=False)

        if idempotent:
            assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
            assert _claim(app, rma) is None
        else:
            with pytest.raises(ActionInFlightError, match="may have acted already; sync"):
                app.returns.approve(rma, override=True)
            assert app.returns.get(rma).status is ReturnStatus.REQUESTED
        assert shop.decisions() == {rma: "approve"}
        assert [a for _, a in shop.calls()] == ["approve", "approve"]
    finally:
        app.close()


class LostRefundShop(ActionShop):
    """Pays a refund, then answers 500."""

    def refund(self, refund: Refund, request: ReturnRequest | None = None) -> Refund:
        super().refund(refund, request)
        raise TransientError("upstream answered 500 after paying", adapter="ledger", status=500)


def test_a_refund_whose_answer_was_lost_holds_a_refusal(db_url: str, tmp_path: Path) -> None:
    """The refund may have been paid: refusing the request too is not sent."""
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(db_url, ledger, 1, received=True)
    shop = LostRefundShop(ledger, pause=0)
    app = AfterSales(db_url, marketplaces=[shop], migrate=False)
    try:
        with pytest.raises(TransientError, match="500"):
            app.returns.refund(rma)
        with pytest.raises(RefundInFlightError, match="until it settles") as info:
            app.returns.reject(rma, reason="not as described")
        assert "\n" not in str(info.value)
        assert [a for _, a in shop.calls()] == ["approve", "receive", "refund"]
        assert app.returns.get(rma).status is ReturnStatus.RECEIVED
    finally:
        app.close()
