"""Bulk approvals tell the marketplace exactly what single approvals tell it.

A shop's portal request on a marketplace without return objects of its own
(``LIST_RETURNS`` undeclared, as WooCommerce) is told of each approval, so
the bulk path must tell it too, once per request, from no write transaction,
and a batch redone row by row after a race must not tell it twice.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import ReturnRequest
from aftersales.store.guard import write_open

from .conftest import seed_requests

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class PortalShop(MarketplaceBase):
    """Approves on its side (no return objects of its own); records each call."""

    name = "shop"
    capabilities = frozenset({Capability.APPROVE_RETURN})

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, bool]] = []

    def approve_return(self, request: ReturnRequest, *, note: str | None = None) -> None:
        self.calls.append((request.rma_id or "", note, write_open()))


@pytest.fixture
def portal() -> Iterator[tuple[AfterSales, PortalShop]]:
    shop = PortalShop()
    app = AfterSales(f"sqlite:///{tempfile.mkdtemp()}/p.db", marketplaces=[shop],
                     clock=lambda: NOW, migrate=False)
    app.store.create_all()
    yield app, shop
    app.close()


def test_bulk_tells_a_portal_marketplace_as_a_single_approval_does(
    portal: tuple[AfterSales, PortalShop],
) -> None:
    app, shop = portal
    single, *many = seed_requests(app, 4)
    app.returns.approve(single, note="ok")
    summary = app.returns.bulk([{"action": "approve", "rma_id": r, "note": "ok"} for r in many])
    assert (summary.ok, summary.errors) == (3, 0)
    assert shop.calls == [(r, "ok", False) for r in (single, *many)]
    assert app.returns.bulk([{"action": "approve", "rma_id": r, "note": "ok"}
                             for r in many]).skipped == 3
    assert len(shop.calls) == 4  # a re-run tells nobody again


def test_a_dry_run_tells_nobody(portal: tuple[AfterSales, PortalShop]) -> None:
    app, shop = portal
    ids = seed_requests(app, 2)
    summary = app.returns.bulk([{"action": "approve", "rma_id": r} for r in ids], dry_run=True)
    assert summary.ok == 2
    assert shop.calls == []


def test_a_batch_redone_after_a_race_tells_the_marketplace_once(
    portal: tuple[AfterSales, PortalShop], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aftersales.returns.bulk_approve import read_requests as real

    app, shop = portal
    ids = seed_requests(app, 3)

    def stale(session: Any, wanted: Any) -> Any:
        found = real(session, wanted)
        rec = found[ids[1]]
        found[ids[1]] = (*rec[:3], rec[3] - 1, *rec[4:])  # as if read before someone else wrote
        return found

    monkeypatch.setattr("aftersales.returns.bulk.read_requests", stale)
    summary = app.returns.bulk([{"action": "approve", "rma_id": r} for r in ids])
    assert (summary.ok, summary.errors) == (3, 0)
    assert sorted(c[0] for c in shop.calls) == ids
    for rma in ids:
        assert [e.to_status for e in app.returns.history(rma)] == ["approved"]


def test_an_adapter_bug_on_one_row_fails_that_row_and_the_run_goes_on(
    portal: tuple[AfterSales, PortalShop], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A raw exception from an adapter (a bug, not a refusal) ended the run: the approvals
    of the batch before it, which the marketplace had heard, were rolled back unrecorded."""
    app, shop = portal
    ids = seed_requests(app, 4)
    heard = shop.approve_return

    def buggy(request: ReturnRequest, *, note: str | None = None) -> None:
        if request.rma_id == ids[1]:
            raise KeyError("status")
        heard(request, note=note)

    monkeypatch.setattr(shop, "approve_return", buggy)
    rows = [{"action": "approve", "rma_id": r} for r in ids]
    seen: list[Any] = []
    summary = app.returns.bulk(rows, on_outcome=seen.append)
    assert [o.outcome for o in seen] == ["ok", "error", "ok", "ok"]
    assert seen[1].detail == "unexpected error: KeyError"
    assert (summary.ok, summary.errors) == (3, 1)
    assert sorted(c[0] for c in shop.calls) == [ids[0], ids[2], ids[3]]
    for rma in (ids[0], ids[2], ids[3]):
        assert [e.to_status for e in app.returns.history(rma)] == ["approved"]
    # A reject row goes the row-by-row way: the same there.
    monkeypatch.setattr(shop, "capabilities", frozenset({Capability.APPROVE_RETURN,
                                                         Capability.REJECT_RETURN}))
    monkeypatch.setattr(shop, "reject_return", lambda request, **kw: {}["bug"], raising=False)
    other = seed_requests(app, 2, start=10)
    seen.clear()
    app.returns.bulk([{"action": "reject", "rma_id": other[0]},
                      {"action": "approve", "rma_id": other[1]}], on_outcome=seen.append)
    assert [(o.outcome, o.detail) for o in seen] == [
        ("error", "unexpected error: KeyError"), ("ok", "approved")]
