"""Two writers racing on one request: one wins, the other gets ConcurrentUpdateError."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.errors import ConcurrentUpdateError, InvalidTransitionError
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
    original = a.returns._move

    def move_after_the_other_committed(*args: Any, **kwargs: Any) -> None:
        # A has read the request (version 1); B approves and commits in between.
        b.returns.approve(rma, override=True, actor="bob")
        original(*args, **kwargs)

    a.returns._move = move_after_the_other_committed
    with pytest.raises(ConcurrentUpdateError):
        a.returns.approve(rma, override=True, actor="alice")
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
