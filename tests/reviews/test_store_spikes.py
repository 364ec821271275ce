"""Review spikes count per store: negatives of one SKU in two stores do not add up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aftersales.app import AfterSales
from aftersales.reviews.alerts import AlertConfig

from .conftest import T0, FakeReviewShop


def _shop(name: str) -> FakeReviewShop:
    shop = FakeReviewShop()
    shop.name = name
    return shop


def test_a_spike_counts_one_store_s_negatives_only(tmp_path: Path) -> None:
    north, south = _shop("north"), _shop("south")
    config = AlertConfig(spike_threshold=3, spike_window=timedelta(hours=24))
    app = AfterSales(f"sqlite:///{tmp_path}/s.db", marketplaces=[north, south], carriers=[],
                     channels=["outbox"], clock=lambda: T0 + timedelta(days=30),
                     review_alerts=config)
    for shop in (north, south):
        shop.put("a", 1, "质量太差", at=timedelta(hours=1))
        shop.put("b", 2, "太失望了", at=timedelta(hours=3))
    app.reviews.sync()
    assert app.reviews.alerts(rule="spike") == []  # two in each store, four in all
    north.put("c", 1, "垃圾产品", at=timedelta(hours=5))
    app.reviews.sync()
    (spike,) = app.reviews.alerts(rule="spike")
    assert spike.subject == "north:c"
    assert sorted(spike.data["reviews"]) == ["north:a", "north:b", "north:c"]
    # North's cool-down is its own: south's third negative raises south's spike.
    south.put("c", 1, "垃圾产品", at=timedelta(hours=6))
    app.reviews.sync()
    assert sorted(a.subject for a in app.reviews.alerts(rule="spike")) == ["north:c", "south:c"]
    app.close()
