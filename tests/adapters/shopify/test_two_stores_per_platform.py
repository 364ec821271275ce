"""Two stores per platform in one app and one database, kept apart.

Two Shopify stores (each a fake shop behind ``responses``, built from the
published Shopify payloads in ``fixtures/``) and two sandbox stores (same
seed), so every order and return exists under the same external id twice
per platform. Each store syncs, approves and refunds on its own; a re-sync
changes nothing; every row and event names its store; per-store figures add
up to the roll-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings
from sqlalchemy import select

from aftersales import AfterSales
from aftersales.models import ReturnKind, ReturnStatus
from aftersales.sandbox import SandboxMarketplace
from aftersales.store.tables.core import CursorRow, OrderRow, OutboxRow
from aftersales.store.tables.returns import RefundRow, ReturnRow
from aftersales.store.tables.reviews import ReviewRow

from .fake_shopify import FakeShop

US = "https://us-shop.myshopify.com/admin/api/2026-01"
EU = "https://eu-shop.myshopify.com/admin/api/2026-01"
TOKENS = {"us-shop.myshopify.com": "shpat_us", "eu-shop.myshopify.com": "shpat_eu"}
STORES = ("shopify-us", "shopify-eu", "north", "south")


@pytest.fixture
def shops(http: responses.RequestsMock) -> dict[str, FakeShop]:
    return {"shopify-us": FakeShop(http, n=3, base=US), "shopify-eu": FakeShop(http, n=3, base=EU)}


@pytest.fixture
def app(tmp_path: Path, shops: dict[str, FakeShop]) -> Iterator[AfterSales]:
    def shopify(name: str, shop: str) -> ShopifyMarketplace:
        settings = ShopifySettings(shop=shop, access_token=TOKENS[f"{shop}.myshopify.com"],
                                   page_size=2)
        return ShopifyMarketplace(settings, name=name, sleep=lambda _s: None)

    markets = [shopify("shopify-us", "us-shop"), shopify("shopify-eu", "eu-shop"),
               SandboxMarketplace(seed=5, orders=20, name="north"),
               SandboxMarketplace(seed=5, orders=20, name="south")]
    with AfterSales(f"sqlite:///{tmp_path / 'one.db'}", marketplaces=markets,
                    carriers=[]) as app:
        yield app


def _rma(app: AfterSales, store: str, external_id: str) -> str:
    found = [r for r in app.returns.list(marketplace=store) if r.external_id == external_id]
    assert len(found) == 1, (store, external_id)
    assert found[0].rma_id is not None
    return found[0].rma_id


def _snapshot(app: AfterSales) -> dict[str, Any]:
    """Every stored fact a sync could change, by store."""
    with app.store.session() as s:
        return {
            "orders": sorted(s.execute(select(OrderRow.marketplace, OrderRow.external_id,
                                              OrderRow.version)).all()),
            "returns": sorted(s.execute(select(ReturnRow.marketplace, ReturnRow.external_id,
                                               ReturnRow.status, ReturnRow.version)).all(),
                              key=repr),
            "refunds": sorted(s.execute(select(RefundRow.marketplace, RefundRow.external_id,
                                               RefundRow.status)).all(), key=repr),
            "reviews": sorted(s.execute(select(ReviewRow.marketplace, ReviewRow.external_id,
                                               ReviewRow.current_version)).all()),
            "cursors": sorted(s.execute(select(CursorRow.source, CursorRow.stream,
                                               CursorRow.cursor)).all(), key=repr),
            "outbox": s.scalar(select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1)),
        }


def test_two_shopify_and_two_sandbox_stores_sync_approve_and_refund_apart(
    app: AfterSales, shops: dict[str, FakeShop], http: responses.RequestsMock
) -> None:
    report = app.sync()
    assert report.reasons == {}
    assert report.counts["shopify-us"] == report.counts["shopify-eu"] == {"orders": 3,
                                                                            "returns": 3}
    assert report.counts["north"] == report.counts["south"]
    with app.store.session() as s:
        orders = s.execute(select(OrderRow.marketplace, OrderRow.external_id)).all()
        cursors = {(c.source, c.stream) for c in s.scalars(select(CursorRow))}
    by_store = {name: {ext for m, ext in orders if m == name} for name in STORES}
    assert by_store["shopify-us"] == by_store["shopify-eu"] == {"1", "2", "3"}
    assert by_store["north"] == by_store["south"]
    assert len(by_store["north"]) == 20
    assert {("shopify-us", "orders"), ("shopify-eu", "orders"), ("north", "reviews"),
            ("south", "reviews")} <= cursors
    # Each shop was called with its own credentials only.
    for call in http.calls:
        host = call.request.url.split("/")[2]
        assert call.request.headers["X-Shopify-Access-Token"] == TOKENS[host]

    # Shopify: the same return (gid …/Return/200) in both stores; US is approved and refunded.
    us = _rma(app, "shopify-us", "gid://shopify/Return/200")
    eu = _rma(app, "shopify-eu", "gid://shopify/Return/200")
    assert us != eu
    app.returns.approve(us, note="ok")
    app.returns.mark_shipped(us, tracking_number="1Z999AA10123456784", carrier="ups")
    app.returns.receive(us)
    paid_us = app.returns.refund(us)
    assert list(shops["shopify-us"].refunds) == [paid_us.idempotency_key]
    assert shops["shopify-eu"].refunds == {}
    assert shops["shopify-eu"].returns[2]["status"] == "REQUESTED"
    assert app.returns.get(eu).status is ReturnStatus.REQUESTED
    # then EU, on its own
    app.returns.approve(eu, note="ok")
    app.returns.mark_shipped(eu, tracking_number="1Z999AA10123456785", carrier="ups")
    app.returns.receive(eu)
    paid_eu = app.returns.refund(eu)
    assert list(shops["shopify-eu"].refunds) == [paid_eu.idempotency_key]
    assert list(shops["shopify-us"].refunds) == [paid_us.idempotency_key]
    assert app.returns.get(us).status is app.returns.get(eu).status is ReturnStatus.REFUNDED

    # Sandbox: the same refund-only request in both stores; north first.
    requested = [r for r in app.returns.list(marketplace="north")
                 if r.kind is ReturnKind.REFUND_ONLY and r.status is ReturnStatus.REQUESTED]
    external = requested[0].external_id
    assert external is not None
    north, south = _rma(app, "north", external), _rma(app, "south", external)
    app.returns.approve(north)
    app.returns.refund(north)
    north_shop = app.marketplace("north")
    south_shop = app.marketplace("south")
    assert isinstance(north_shop, SandboxMarketplace)
    assert isinstance(south_shop, SandboxMarketplace)
    assert len(north_shop.refunds_paid) == 1
    assert south_shop.refunds_paid == []
    assert app.returns.get(south).status is ReturnStatus.REQUESTED
    app.returns.approve(south)
    app.returns.refund(south)
    assert len(south_shop.refunds_paid) == len(north_shop.refunds_paid) == 1

    # What the marketplaces now echo back is what is stored: a re-sync changes nothing.
    app.sync()
    before = _snapshot(app)
    again = app.sync()
    assert again.reasons == {}
    assert sum(again.total(s) for s in ("orders", "returns", "reviews")) == 0
    assert _snapshot(app) == before

    # Every row and every event names its store, and only its own requests.
    rmas = {"shopify-us": us, "shopify-eu": eu, "north": north, "south": south}
    with app.store.session() as s:
        events = s.scalars(select(OutboxRow).where(OutboxRow.topic == "event")).all()
        refunds = s.execute(select(RefundRow.marketplace, RefundRow.rma_id)).all()
    assert sorted(refunds) == sorted(rmas.items())
    for event in events:
        assert event.store in STORES, (event.event_type, event.payload)
        rma = event.payload.get("rma_id")
        if rma in rmas.values():
            assert rmas[event.store] == rma, (event.event_type, event.store, rma)
    for name in STORES:
        approved = [e for e in events if e.store == name and e.event_type == "return.approved"]
        assert rmas[name] in [e.payload["rma_id"] for e in approved]

    # Per-store figures add up to the roll-up, which is counted on its own.
    metrics = app.store_metrics()
    assert set(metrics.stores) == set(STORES)
    assert metrics.summed() == metrics.total
    assert metrics.total.orders == 3 + 3 + 20 + 20
    assert metrics.total.refunds_paid == 4
    assert metrics.stores["shopify-us"].refunds_paid == 1
    assert metrics.stores["north"] == metrics.stores["south"]
    assert metrics.stores["shopify-us"].refunded == metrics.stores["shopify-eu"].refunded
    assert app.store_metrics("north").total == metrics.stores["north"]
