"""The facade: configuration, and an idempotent, resumable sync from the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales import AfterSales
from aftersales.errors import (
    AdapterNotFoundError,
    ConfigurationError,
    NotFoundError,
    TransientError,
)
from aftersales.store.tables.core import OrderLineRow, OrderRow, OutboxRow, ShipmentRow


def _counts(app: AfterSales) -> dict[str, int]:
    with app.store.session() as s:
        return {
            t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
            for t in (OrderRow, OrderLineRow, ShipmentRow, OutboxRow)
        }


def test_syncing_the_sandbox_twice_creates_no_duplicates(app: AfterSales) -> None:
    first = app.sync_orders("sandbox")
    before = _counts(app)
    assert first > 0
    assert before["orders"] == first
    again = app.sync_orders("sandbox")
    assert again == 0
    assert _counts(app) == before


def test_a_fresh_cursor_replays_without_duplicates(app: AfterSales) -> None:
    app.sync_orders("sandbox")
    before = _counts(app)
    with app.store.session() as s:
        from aftersales.store.cursors import set_cursor

        set_cursor(s, "sandbox", "orders", None)
    app.sync_orders("sandbox")
    assert _counts(app) == before


def test_delivered_orders_emit_one_event_each(app: AfterSales) -> None:
    seen: list[Any] = []
    app.on("order.delivered", seen.append)
    app.sync_orders("sandbox")
    app.sync_orders("sandbox")
    keys = [e.key for e in seen]
    assert len(keys) == len(set(keys))
    with app.store.session() as s:
        delivered = s.scalar(
            select(func.count()).select_from(OrderRow).where(OrderRow.delivered_at.is_not(None))
        )
        outbox = s.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.event_type == "order.delivered")
        )
    assert len(keys) == delivered == outbox


def test_a_sync_interrupted_by_a_failure_resumes_where_it_stopped(sqlite_url: str) -> None:
    from aftersales.sandbox import SandboxMarketplace

    market = SandboxMarketplace(seed=3, orders=30)
    pages = list(market.list_orders(None))
    assert len(pages) >= 1

    class Flaky:
        name = market.name
        capabilities = market.capabilities

        def __init__(self) -> None:
            self.fail_after = 1

        def list_orders(self, cursor: str | None = None) -> Any:
            for i, page in enumerate(market.list_orders(cursor)):
                if i >= self.fail_after:
                    raise TransientError("boom", adapter="sandbox")
                yield page

    flaky = Flaky()
    app = AfterSales(sqlite_url, marketplaces=[flaky], migrate=False)  # type: ignore[list-item]
    app.store.create_all()
    if len(pages) > 1:
        with pytest.raises(TransientError):
            app.sync_orders("sandbox")
    flaky.fail_after = 10**9
    app.sync_orders("sandbox")
    total = sum(len(p.items) for p in pages)
    assert _counts(app)["orders"] == len({o.external_id for p in pages for o in p.items}) <= total


def test_configuration_errors_are_clear(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="time zone"):
        AfterSales(sqlite_url, timezone="Mars/Olympus")
    with pytest.raises(AdapterNotFoundError, match="nosuchshop"):
        AfterSales(sqlite_url, marketplaces=["nosuchshop"])
    monkeypatch.setenv("AFTERSALES_MARKETPLACES", "sandbox")
    monkeypatch.setenv("AFTERSALES_DATABASE_URL", sqlite_url)
    app = AfterSales()
    assert list(app.marketplaces) == ["sandbox"]
    with pytest.raises(NotFoundError):
        app.marketplace("shopify")
    app.close()
