"""Two Shopify and two Taobao stores from one TOML file, one database: they sync apart.

Each Taobao store signs with its own secret (read from the variable its
table names); the fake gateway routes on ``app_key`` and checks each
signature with that store's secret only. Both Taobao shops hold the same
refunds, trades and ratings (the published payloads), so every external id
exists twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses
from aftersales_taobao import TaobaoMarketplace
from sqlalchemy import select

from aftersales import AfterSales
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.returns import ReturnRow
from aftersales.store.tables.reviews import ReviewRow

from ..shopify.fake_shopify import FakeShop
from .conftest import GATEWAY, NOW, FakeTop
from .conftest import FakeShop as FakeTaobaoShop

US = "https://us-shop.myshopify.com/admin/api/2026-01"
EU = "https://eu-shop.myshopify.com/admin/api/2026-01"
SECRETS = {"11110000": "tmall-app-secret", "22220000": "outlet-app-secret"}

CONFIG = """
[stores.shopify-us]
adapter = "shopify"
shop = "us-shop"
access_token = { env = "US_TOKEN" }

[stores.shopify-eu]
adapter = "shopify"
shop = "eu-shop"
access_token = { env = "EU_TOKEN" }

[stores.tmall-flagship]
adapter = "taobao"
app_key = "11110000"
app_secret = { env = "TMALL_SECRET" }
session = { env = "TMALL_SESSION" }
tmall = true
page_size = 2
lookback = "P3D"

[stores.taobao-outlet]
adapter = "taobao"
app_key = "22220000"
app_secret = { env = "OUTLET_SECRET" }
session = { env = "OUTLET_SESSION" }
seller_address_id = "100200300"
return_address = { name = "n", address = "a", post = "311100", mobile = { env = "OUTLET_MOBILE" } }
page_size = 2
lookback = "P3D"
"""


class Gateway:
    """One gateway URL, two fake shops: each request goes to the shop of its ``app_key``."""

    def __init__(self, http: responses.RequestsMock) -> None:
        idle = responses.RequestsMock()  # the fakes register here, unused: this routes
        self.tops = {key: FakeTop(idle, secret=secret) for key, secret in SECRETS.items()}
        self.shops = {key: FakeTaobaoShop(top) for key, top in self.tops.items()}
        http.add_callback(responses.POST, GATEWAY, callback=self._route)

    def _route(self, request: Any) -> Any:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        form = dict(parse_qsl(body))
        return self.tops[form["app_key"]]._handle(request)


@pytest.fixture
def app(tmp_path: Path, http: responses.RequestsMock,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[AfterSales]:
    for name, value in {"US_TOKEN": "shpat_us", "EU_TOKEN": "shpat_eu",
                        "TMALL_SECRET": SECRETS["11110000"], "TMALL_SESSION": "s-tmall",
                        "OUTLET_SECRET": SECRETS["22220000"], "OUTLET_SESSION": "s-outlet",
                        "OUTLET_MOBILE": "13800000000"}.items():
        monkeypatch.setenv(name, value)
    FakeShop(http, n=3, base=US)
    FakeShop(http, n=3, base=EU)
    Gateway(http)
    config = tmp_path / "aftersales.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "four.db"}"\n{CONFIG}', "utf-8")
    with AfterSales(config=config, carriers=[]) as app:
        for name in ("tmall-flagship", "taobao-outlet"):
            market = app.marketplace(name)
            assert isinstance(market, TaobaoMarketplace)
            # The fixtures' time, for the listing windows and the signed timestamp.
            market.clock = market.client.clock = lambda: NOW
        yield app


def _rows(app: AfterSales) -> dict[str, list[tuple[str, str]]]:
    with app.store.session() as s:
        return {
            "orders": sorted(s.execute(select(OrderRow.marketplace, OrderRow.external_id)).all()),
            "returns": sorted((m, e or "") for m, e in s.execute(
                select(ReturnRow.marketplace, ReturnRow.external_id))),
            "reviews": sorted(s.execute(select(ReviewRow.marketplace, ReviewRow.external_id))
                              .all()),
        }


def test_two_shopify_and_two_taobao_stores_from_one_file_sync_apart(app: AfterSales) -> None:
    report = app.sync()
    assert (report.failed, report.reasons) == (0, {})
    assert report.counts["shopify-us"] == report.counts["shopify-eu"] == {"orders": 3,
                                                                            "returns": 3}
    tmall, outlet = report.counts["tmall-flagship"], report.counts["taobao-outlet"]
    assert tmall == outlet
    assert tmall["orders"] == 9
    assert tmall["returns"] == 9
    assert tmall["reviews"] == 7
    rows = _rows(app)
    for kind, stored in rows.items():
        per: dict[str, set[str]] = {}
        for store, external in stored:
            per.setdefault(store, set()).add(external)
        assert per["tmall-flagship"] == per["taobao-outlet"], kind  # the same ids, twice
        if kind != "reviews":
            assert per["shopify-us"] == per["shopify-eu"], kind
        assert len(stored) == sum(len(ids) for ids in per.values())  # nothing merged
    again = app.sync()
    assert sum(again.total(s) for s in ("orders", "returns", "reviews")) == 0
    assert _rows(app) == rows
    metrics = app.store_metrics()
    assert metrics.summed() == metrics.total
    assert metrics.total.orders == 3 + 3 + 9 + 9
