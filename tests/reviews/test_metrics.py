"""Metrics per SKU and per shop over a window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from aftersales.app import AfterSales
from aftersales.errors import ValidationError
from tests.reviews.conftest import T0, FakeReviewShop


@pytest.fixture
def filled(review_app: AfterSales, shop: FakeReviewShop) -> AfterSales:
    shop.put("a1", 5, "很好", sku="A", at=timedelta(days=1))
    shop.put("a2", 4, "不错", sku="A", at=timedelta(days=2))
    shop.put("a3", 1, "质量太差，物流太慢", sku="A", at=timedelta(days=3))
    shop.put("a4", 2, "尺码偏小，质量一般", sku="A", at=timedelta(days=4))
    shop.put("b1", 3, "还行吧", sku="B", at=timedelta(days=1))
    shop.put("b2", 5, "Great quality", sku="B", at=timedelta(days=10))
    review_app.reviews.sync()
    return review_app


def test_metrics_by_sku(filled: AfterSales) -> None:
    by_sku = {m.key: m for m in filled.reviews.metrics(by="sku")}
    a = by_sku["A"]
    assert a.count == 4
    assert a.average_rating == 3.0
    assert a.positive_rate == 0.5
    assert a.negative_rate == 0.5
    assert a.top_negative_topics[0] == ("quality", 2)
    assert dict(a.top_negative_topics) == {"quality": 2, "delivery": 1, "size": 1}
    b = by_sku["B"]
    assert (b.count, b.average_rating, b.negative_rate, b.top_negative_topics) == (2, 4.0, 0, [])
    assert list(by_sku) == ["A", "B"]  # busiest first


def test_metrics_by_shop_and_window(filled: AfterSales) -> None:
    (shop,) = filled.reviews.metrics(by="shop")
    assert (shop.key, shop.count) == ("fake", 6)
    assert shop.positive_rate == round(3 / 6, 4)
    window = filled.reviews.metrics(since=T0 + timedelta(days=2), until=T0 + timedelta(days=4))
    assert [(m.key, m.count) for m in window] == [("A", 2)]
    assert window[0].as_dict()["count"] == 2


def test_an_empty_window_has_no_rows(filled: AfterSales) -> None:
    assert filled.reviews.metrics(since=T0 + timedelta(days=100)) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"by": "colour"}, "by"),
        ({"since": datetime(2026, 1, 1)}, "since"),
        ({"since": T0, "until": T0}, "until"),
    ],
)
def test_bad_arguments_name_the_field(
    filled: AfterSales, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        filled.reviews.metrics(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
