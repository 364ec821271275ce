"""Two writers racing on one request: one wins, the other gets ConcurrentUpdateError."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError, ConcurrentUpdateError, InvalidTransitionError
from aftersales.models import ReturnStatus
from aftersales.sandbox import SandboxMarketplace


@pytest.fixture
def two_apps(db_url: str) -> Iterator[tuple[Any, Any, str]]:
    shop = SandboxMarketplace(seed=0, orders=40)
    a = AfterSales(db_url, marketplaces=[shop], clock=lambda: shop.now, migrate=False)
    a.store.create_all()
    b = AfterSales(db_url, marketplaces=[shop], clock=lambda: shop.now, migrate=False)
    a.sync_orders("sandbox")
    req = a.returns.request("sandbox", "SO00000004", {"SO00000004-L1": 1}, reason="no_reason",
                            force=True)
    assert req.rma_id is not None
    yield a, b, req.rma_id
    a.close()
    b.close()


def test_of_two_racing_approvals_one_wins(two_apps: tuple[Any, Any, str]) -> None:
    a, b, rma = two_apps
    original = a.returns._writer.move  # the one transition path every action takes

    def move_after_the_other_committed(*args: Any, **kwargs: Any) -> None:
        # A has read the request (version 1); B approves and commits in between.
        b.returns.approve(rma, override=True, actor="bob")
        original(*args, **kwargs)

    a.returns._writer.move = move_after_the_other_committed
    with pytest.raises(ConcurrentUpdateError) as lost:
        a.returns.approve(rma, override=True, actor="alice")
    # the loser is told which request and what it is now (before: "the row
    # was changed by someone else", naming neither)
    assert rma in str(lost.value)
    assert "now approved" in str(lost.value)
    trail = b.returns.history(rma)
    assert [(e.actor, e.to_status) for e in trail[1:]] == [("bob", "approved")]
    assert b.returns.get(rma).status is ReturnStatus.APPROVED


def test_threads_racing_approvals_approve_once(
    two_apps: tuple[Any, Any, str],
) -> None:
    a, b, rma = two_apps
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def act(name: str, fn: Any) -> None:
        barrier.wait()
        try:
            fn()
            results[name] = "ok"
        except ConcurrentUpdateError:
            results[name] = "conflict"
        except InvalidTransitionError:  # the loser came late: already approved
            results[name] = "late"

    t1 = threading.Thread(target=act, args=("a", lambda: a.returns.approve(rma, override=True)))
    t2 = threading.Thread(target=act, args=("b", lambda: b.returns.approve(rma, override=True)))
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    assert sorted(results.values()).count("ok") == 1
    assert a.returns.get(rma).status is ReturnStatus.APPROVED
    assert [e.to_status for e in a.returns.history(rma)[1:]] == ["approved"]


def test_two_workers_ticking_timers_at_once_act_on_each_deadline_once(
        db_url: str, at_once: Any) -> None:
    from datetime import timedelta

    shop = SandboxMarketplace(seed=0, orders=40)
    clock = [shop.now]
    apps = [AfterSales(db_url, marketplaces=[shop], clock=lambda: clock[0], migrate=False)
            for _ in range(2)]
    try:
        apps[0].store.create_all()
        apps[0].sync_orders("sandbox")
        rmas = []
        for n in range(40):
            order = f"SO{n:08d}"
            try:
                req = apps[0].returns.request("sandbox", order, {f"{order}-L1": 1},
                                              reason="no_reason", force=True)
            except AfterSalesError:  # not placed yet in the sandbox's world
                continue
            if req.status is ReturnStatus.REQUESTED:  # waits on the merchant: a deadline runs
                rmas.append(req.rma_id)
        assert len(rmas) >= 10
        start = clock[0]
        # at 42 h each deadline alerts; at 48 h each acts (approves, or fails as ineligible)
        for hours, fields in ((42, ("alerts",)), (48, ("actions", "failed"))):
            at = start + timedelta(hours=hours)
            reports, errors = at_once([partial(app.returns.run_timers, at) for app in apps])
            assert errors == []
            assert sum(getattr(r, f) for r in reports for f in fields) == len(rmas)
        for rma in rmas:
            approvals = [e for e in apps[1].returns.history(rma) if e.to_status == "approved"]
            assert len(approvals) <= 1
    finally:
        for app in apps:
            app.close()



def test_requests_with_one_key_at_the_same_instant_open_one_request(
        db_url: str, at_once: Any) -> None:
    """A portal's retries race: each caller gets the one request, none a storage error."""
    shop = SandboxMarketplace(seed=0, orders=40)
    apps = [AfterSales(db_url, marketplaces=[shop], clock=lambda: shop.now, migrate=False)
            for _ in range(4)]
    try:
        apps[0].store.create_all()
        apps[0].sync_orders("sandbox")
        calls = [partial(app.returns.request, "sandbox", "SO00000004", {"SO00000004-L1": 1},
                         reason="no_reason", force=True, idempotency_key="portal-42")
                 for app in apps]
        made, errors = at_once(calls)
        assert errors == []
        assert len({r.rma_id for r in made}) == 1
        assert len(apps[0].returns.list(marketplace="sandbox")) == 1
    finally:
        for app in apps:
            app.close()
