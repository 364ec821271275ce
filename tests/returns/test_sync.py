"""Marketplace sync: idempotent upserts, marketplace-side changes audited, replays inert."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from aftersales.app import AfterSales
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import (
    Page,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.tables.core import AuditRow, CursorRow, OutboxRow
from aftersales.store.tables.returns import ReturnRow

S = ReturnStatus


def snapshot(app: Any) -> tuple[Any, ...]:
    with app.store.session() as s:
        rows = s.execute(select(ReturnRow.rma_id, ReturnRow.status, ReturnRow.raw_status,
                                ReturnRow.version).order_by(ReturnRow.rma_id)).all()
        return (tuple(map(tuple, rows)),
                s.scalar(select(func.count()).select_from(AuditRow)),
                s.scalar(select(func.count()).select_from(OutboxRow)))


def test_sync_stores_requests_with_raw_status_and_audit(app: Any, sandbox: Any) -> None:
    counts = app.returns.sync()
    assert counts["sandbox"] > 0
    stored = app.returns.list(limit=1000)
    assert len(stored) == counts["sandbox"]
    for r in stored:
        assert r.external_id is not None
        assert r.raw_status is not None
        remote = sandbox.get_return(r.external_id)
        assert (remote.status, remote.raw_status) == (r.status, r.raw_status)
    first = app.returns.history(stored[0].rma_id)[0]
    assert first.actor == "marketplace:sandbox"
    assert first.data == {"raw_status": stored[0].raw_status}


def test_replaying_a_sync_changes_nothing(app: Any) -> None:
    app.returns.sync()
    before = snapshot(app)
    assert app.returns.sync() == {"sandbox": 0}
    # Even from the very beginning (cursor dropped): every copy is no newer.
    with app.store.session() as s:
        s.execute(delete(CursorRow).where(CursorRow.stream == "returns"))
    assert app.returns.sync() == {"sandbox": 0}
    assert snapshot(app) == before


def test_changes_on_the_marketplace_are_applied_and_audited(app: Any, sandbox: Any) -> None:
    app.sync_orders("sandbox")
    app.returns.sync()
    for r in app.returns.list(status="requested", limit=1000):
        if r.kind is not ReturnKind.REFUND_ONLY:
            app.returns.approve(r.rma_id, override=True)  # buyers may now ship goods back
    before = {r.rma_id: r.status for r in app.returns.list(limit=1000)}
    sandbox.advance(days=6)
    app.sync_orders("sandbox")
    assert app.returns.sync()["sandbox"] > 0
    moved = [r for r in app.returns.list(limit=1000)
             if r.rma_id in before and r.status is not before[r.rma_id]]
    assert moved
    by_marketplace = 0
    for r in moved:
        last = [e for e in app.returns.history(r.rma_id) if e.from_status != e.to_status][-1]
        if last.actor == "marketplace:sandbox":
            by_marketplace += 1
            assert last.to_status == r.status.value
            assert last.reason == "changed on the marketplace"
            assert last.data is not None
            assert last.data["raw_status"] == r.raw_status
    assert by_marketplace > 0


def test_local_actions_reach_the_marketplace_and_sync_agrees(app: Any, sandbox: Any) -> None:
    app.sync_orders("sandbox")
    app.returns.sync()
    req = next(r for r in app.returns.list(status="requested", limit=1000)
               if r.kind is not ReturnKind.REFUND_ONLY)
    done = app.returns.approve(req.rma_id, override=True, note="ok")
    assert sandbox.get_return(req.external_id).status is S.APPROVED
    assert sandbox.calls["approve_return"] == 1
    trail = len(app.returns.history(req.rma_id))
    app.returns.sync()
    after = app.returns.get(req.rma_id)
    assert after.status in (S.APPROVED, S.RETURN_SHIPPED, S.CANCELLED)
    assert after.rma_id == done.rma_id
    assert len([e for e in app.returns.history(req.rma_id)[trail:]
                if e.to_status == "approved"]) == 0


class ScriptedShop(MarketplaceBase):
    """A marketplace whose return listing is whatever the test says."""

    name = "scripted"
    capabilities = frozenset({Capability.LIST_RETURNS})

    def __init__(self) -> None:
        self.items: list[ReturnRequest] = []

    def list_returns(self, cursor: str | None = None) -> Iterator[Page[ReturnRequest]]:
        start = int(cursor or 0)
        if start < len(self.items):
            yield Page(items=self.items[start:], cursor=str(len(self.items)))

    def say(self, status: S, at: datetime, raw: str, kind: ReturnKind = ReturnKind.REFUND_ONLY
            ) -> None:
        self.items.append(ReturnRequest(
            marketplace="scripted", order_id="X-1", kind=kind, external_id="E-1",
            status=status, raw_status=raw, updated_at=at, created_at=at,
            lines=[ReturnLine(order_line_id="X-1-L1", quantity=1,
                              reason=ReturnReason.QUALITY_ISSUE)]))


def scripted_app() -> tuple[Any, ScriptedShop]:
    shop = ScriptedShop()
    now = datetime(2026, 1, 5, tzinfo=UTC)
    app = AfterSales(f"sqlite:///{tempfile.mkdtemp()}/s.db", marketplaces=[shop],
                     clock=lambda: now, migrate=False)
    app.store.create_all()
    return app, shop


def test_skipped_steps_are_one_move_and_impossible_jumps_are_kept() -> None:
    app, shop = scripted_app()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    shop.say(S.REQUESTED, t0, "NEW")
    app.returns.sync()
    (req,) = app.returns.list()
    assert req.status is S.REQUESTED
    # The marketplace approved and refunded in one go: one audited move.
    shop.say(S.REFUNDED, t0 + timedelta(hours=1), "PAID")
    assert app.returns.sync() == {"scripted": 1}
    last = app.returns.history(req.rma_id)[-1]
    assert (last.from_status, last.to_status) == ("requested", "refunded")
    assert last.data == {"raw_status": "PAID", "path": ["approved", "refunded"]}
    app.returns.close(req.rma_id)
    # A closed request cannot go back to requested: recorded, not applied.
    shop.say(S.REQUESTED, t0 + timedelta(hours=2), "REOPENED")
    app.returns.sync()
    after = app.returns.get(req.rma_id)
    assert after.status is S.CLOSED
    assert after.raw_status == "REOPENED"
    note = app.returns.history(req.rma_id)[-1]
    assert (note.from_status, note.to_status) == ("closed", "closed")
    assert "not allowed" in (note.reason or "")
    # An older copy arriving late changes nothing.
    shop.say(S.APPROVED, t0, "OLD")
    before = snapshot(app)
    app.returns.sync()
    assert snapshot(app) == before
    app.close()


@settings(max_examples=8, deadline=None)
@given(steps=st.lists(st.integers(min_value=1, max_value=72), min_size=1, max_size=4))
def test_property_replaying_any_sync_changes_nothing(steps: list[int]) -> None:
    shop = SandboxMarketplace(seed=3, orders=30, page_size=7)
    app = AfterSales(f"sqlite:///{tempfile.mkdtemp()}/p.db", marketplaces=[shop],
                     clock=lambda: shop.now, migrate=False)
    app.store.create_all()
    try:
        for hours in steps:
            shop.advance(hours=hours)
            app.sync_orders("sandbox")
            app.returns.sync()
            before = snapshot(app)
            assert app.returns.sync() == {"sandbox": 0}
            with app.store.session() as s:
                s.execute(delete(CursorRow).where(CursorRow.stream == "returns"))
            app.returns.sync()
            assert snapshot(app) == before
            for r in app.returns.list(limit=1000):
                assert r.status in set(ReturnStatus)
    finally:
        app.close()


def test_policy_decisions_on_synced_requests_are_pushed_after_the_page_commits(
    app: Any, sandbox: Any
) -> None:
    """A synced request the policy approves is approved on the marketplace outside the page's
    write transaction (the autouse guard fails any call made inside one), then recorded."""
    from aftersales.returns import ReturnPolicy

    app.returns.policy = ReturnPolicy.from_mapping(
        {"auto_approve": [{"name": "all", "max_amount": "1000000 CNY"}],
         "serial_returner": {"enabled": False}})
    app.returns.sync()
    decided = [r for r in app.returns.list(limit=1000)
               if any(h.actor == "policy:all" for h in app.returns.history(r.rma_id))]
    assert decided
    for r in decided:
        assert r.status is S.APPROVED
        assert sandbox.get_return(r.external_id).status is S.APPROVED
