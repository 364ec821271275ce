"""An action whose answer was lost is looked up on the marketplace before it is sent again.

A marketplace that declares ``GET_RETURN`` is asked for the request when an
approval or refusal whose answer was lost is retried: shown done there, it
is not sent again and the request moves here as after an answered push (on
a platform that refuses a repeated decision, the retry used to be refused
and the request held until a sync or a person); shown not done, it is sent
again; a lookup that fails sends it again as before. The shop here takes
each decision once (a repeat is a 409), loses its answer once per request,
and serves its own copy of each request. The sandbox does the same with
its fault injection.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import ActionInFlightError, TransientError
from aftersales.interfaces import Capability
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.sandbox import Faults, SandboxMarketplace
from aftersales.store.tables.returns import ActionClaimRow

from .action_shop import ActionShop
from .test_action_races import prepare

STATUS = {"approve": ReturnStatus.APPROVED, "reject": ReturnStatus.REJECTED}


class LookupShop(ActionShop):
    """Serves ``get_return``; ``lose`` answers 500 ``after`` or ``before`` acting, once;
    ``lookup``: ``ok``, ``raises`` (a timeout) or ``another`` (another request's copy)."""

    capabilities = ActionShop.capabilities | {Capability.GET_RETURN}

    def __init__(self, path: Path, *, lose: str = "after", lookup: str = "ok") -> None:
        super().__init__(path, pause=0)
        self.lose = lose
        self.lookup = lookup
        self.copies: dict[str, ReturnRequest] = {}
        self.lost: set[str] = set()
        self.lookups = 0

    def _call(self, request: ReturnRequest, action: str) -> None:
        self.copies[request.external_id or ""] = request
        if self.lose == "before" and request.rma_id not in self.lost:
            self.lost.add(request.rma_id or "")
            raise TransientError("upstream answered 500 before acting", adapter=self.name,
                                 status=500)
        super()._call(request, action)

    def after_deciding(self, request: ReturnRequest, action: str) -> None:
        if self.lose == "after" and request.rma_id not in self.lost:
            self.lost.add(request.rma_id or "")
            raise TransientError("upstream answered 500 after acting", adapter=self.name,
                                 status=500)

    def get_return(self, external_id: str) -> ReturnRequest:
        self.lookups += 1
        if self.lookup == "raises":
            raise TransientError("lookup timed out", adapter=self.name)
        copy = self.copies[external_id]
        decided = self.decisions().get(copy.rma_id or "")
        found = copy.model_copy(update={"status": STATUS.get(decided or "",
                                                             ReturnStatus.REQUESTED)})
        if self.lookup == "another":
            return found.model_copy(update={"external_id": f"{external_id}-other"})
        return found


def _claim(app: AfterSales, rma: str) -> ActionClaimRow | None:
    with app.store.session() as session:
        return session.scalar(select(ActionClaimRow).where(ActionClaimRow.rma_id == rma))


def _act(app: AfterSales, action: str, rma: str) -> ReturnRequest:
    if action == "approve":
        return app.returns.approve(rma, override=True)
    return app.returns.reject(rma, reason="not as described")


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_a_retry_the_marketplace_shows_done_is_not_sent_again(
    sqlite_url: str, tmp_path: Path, action: str,
) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(sqlite_url, ledger, 1, on_platform=True)
    shop = LookupShop(ledger)
    app = AfterSales(sqlite_url, marketplaces=[shop], migrate=False)
    try:
        with pytest.raises(TransientError, match="500"):
            _act(app, action, rma)
        assert shop.lookups == 0  # a first attempt is never looked up
        assert _act(app, action, rma).status is STATUS[action]
        assert shop.lookups == 1
        assert shop.calls() == [(rma, action)]  # the retry sent nothing
        assert _claim(app, rma) is None
        audit = app.returns.history(rma)[-1]
        assert (audit.actor, audit.to_status) == ("merchant", STATUS[action].value)
    finally:
        app.close()


def test_a_retry_the_marketplace_shows_not_done_is_sent_again(
    sqlite_url: str, tmp_path: Path,
) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(sqlite_url, ledger, 1, on_platform=True)
    shop = LookupShop(ledger, lose="before")
    app = AfterSales(sqlite_url, marketplaces=[shop], migrate=False)
    try:
        with pytest.raises(TransientError, match="500"):
            app.returns.approve(rma, override=True)
        assert shop.decisions() == {}
        assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
        assert shop.lookups == 1
        assert shop.calls() == [(rma, "approve")]  # the first never arrived
        assert shop.decisions() == {rma: "approve"}
    finally:
        app.close()


@pytest.mark.parametrize("lookup", ["raises", "another"])
def test_a_lookup_that_cannot_tell_sends_it_again_under_the_old_rules(
    sqlite_url: str, tmp_path: Path, lookup: str,
) -> None:
    ledger = tmp_path / "shop.db"
    (rma,) = prepare(sqlite_url, ledger, 1, on_platform=True)
    shop = LookupShop(ledger, lookup=lookup)
    app = AfterSales(sqlite_url, marketplaces=[shop], migrate=False)
    try:
        with pytest.raises(TransientError, match="500"):
            app.returns.approve(rma, override=True)
        with pytest.raises(ActionInFlightError, match="may have acted already; sync"):
            app.returns.approve(rma, override=True)
        assert shop.lookups == 1
        assert [a for _, a in shop.calls()] == ["approve", "approve"]
        assert app.returns.get(rma).status is ReturnStatus.REQUESTED
        assert shop.decisions() == {rma: "approve"}
    finally:
        app.close()


def test_the_sandbox_is_asked_before_a_lost_approval_is_sent_again(sqlite_url: str) -> None:
    shop = SandboxMarketplace(seed=3, orders=120, faults=Faults(lost_reply=1.0))
    assert Capability.GET_RETURN in shop.capabilities
    app = AfterSales(sqlite_url, marketplaces=[shop], clock=lambda: shop.now)
    try:
        shop._faults.faults = None  # a clean sync
        app.sync()
        rma = app.returns.list(status="requested")[0].rma_id or ""
        shop._faults.faults = Faults(lost_reply=1.0)
        with pytest.raises(TransientError, match="reply timed out"):
            app.returns.approve(rma, override=True)
        shop._faults.faults = None
        assert app.returns.approve(rma, override=True).status is ReturnStatus.APPROVED
        assert shop.calls["approve_return"] == 1
        assert shop.calls["get_return"] == 1
    finally:
        app.close()
