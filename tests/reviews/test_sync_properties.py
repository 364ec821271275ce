"""Sync invariants over any sequence of edits, odd payloads, and both databases."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from aftersales.app import AfterSales
from aftersales.errors import ValidationError
from aftersales.store.tables.core import CursorRow
from aftersales.store.tables.reviews import ReviewAlertRow, ReviewRow, ReviewVersionRow
from tests.reviews.conftest import FakeReviewShop, make_app

_texts = st.sampled_from(["很好", "质量太差", "假货", "not bad", "物流太慢了", "还行", ""])
_step = st.tuples(
    st.sampled_from(["a", "b", "c"]),  # which review
    st.integers(1, 5),  # rating
    _texts,
    st.booleans(),  # sync after this step?
)


def _count(app: AfterSales, table: Any, *where: Any) -> int:
    with app.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, min_size=1, max_size=12))
def test_versions_follow_content_changes_and_resyncs_write_nothing(
    steps: list[tuple[str, int, str, bool]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        shop = FakeReviewShop(page_size=2)
        app = make_app(f"sqlite:///{folder}/p.db", shop)
        expected_versions: dict[str, int] = {}
        synced_content: dict[str, tuple[int, str]] = {}
        plan = [*steps[:-1], (*steps[-1][:3], True)]
        for minute, (review_id, rating, text, sync) in enumerate(plan, start=1):
            shop.put(review_id, rating, text, at=timedelta(minutes=minute))
            if sync:
                app.reviews.sync()
                for rid, review in shop.reviews.items():
                    content = (review.rating, review.body)
                    if synced_content.get(rid) != content:
                        expected_versions[rid] = expected_versions.get(rid, 0) + 1
                        synced_content[rid] = content
        with app.store.session() as session:
            versions = dict(
                session.execute(
                    select(ReviewRow.external_id, func.count())
                    .join(ReviewVersionRow, ReviewVersionRow.review_id == ReviewRow.id)
                    .group_by(ReviewRow.external_id)
                ).all()
            )
            pairs = session.execute(select(ReviewAlertRow.rule, ReviewAlertRow.subject)).all()
        assert versions == expected_versions
        assert len(pairs) == len(set(pairs))
        alerts = len(pairs)
        with app.store.session() as session:
            session.execute(delete(CursorRow))
        assert app.reviews.sync() == {"fake": 0}
        assert _count(app, ReviewAlertRow) == alerts
        app.close()


def test_odd_payloads_sync_cleanly(review_app: AfterSales, shop: FakeReviewShop) -> None:
    shop.put("empty", 1, "", sku=None)  # no text, no SKU: the stars decide
    shop.put("huge", 2, "差" * 20_000 + "\x00\x07" + "😡" * 500, at=timedelta(minutes=1))
    shop.put("emoji", 5, "👍👍👍", at=timedelta(minutes=2), title="")
    shop.put("mixed", 4, "质量 good 但是 delivery 太慢 !!!", at=timedelta(minutes=3))
    assert review_app.reviews.sync() == {"fake": 4}
    with review_app.store.session() as session:
        rows = {r.external_id: r for r in session.scalars(select(ReviewRow))}
    assert rows["empty"].sentiment == "negative"
    assert rows["huge"].sentiment == "negative"
    assert rows["emoji"].sentiment == "positive"
    assert rows["empty"].sku is None
    assert review_app.reviews.alerts(rule="spike") == []


def test_a_corrupted_cursor_is_a_clear_error_and_nothing_is_written(
    review_app: AfterSales, shop: FakeReviewShop
) -> None:
    shop.put("r1", 1, "差")
    with review_app.store.session() as session:
        session.add(CursorRow(source="fake", stream="reviews", cursor="garbage!"))
    with pytest.raises(ValidationError) as info:
        review_app.reviews.sync()
    assert info.value.field == "cursor"
    assert _count(review_app, ReviewRow) == 0


def test_sync_alerts_metrics_and_replies_on_each_database(db_url: str) -> None:
    shop = FakeReviewShop()
    app = make_app(db_url, shop)
    for i in range(4):
        shop.put(f"r{i}", 1 if i % 2 else 5, "假货，太差" if i % 2 else "质量很好",
                 at=timedelta(hours=i), order_id=f"O{i}")
    assert app.reviews.sync() == {"fake": 4}
    assert app.reviews.sync() == {"fake": 0}
    rules = sorted({a.rule.value for a in app.reviews.alerts()})
    assert rules == ["counterfeit", "negative"]
    (shop_metrics,) = app.reviews.metrics(by="shop")
    assert (shop_metrics.count, shop_metrics.positive_rate, shop_metrics.average_rating) == (
        4, 0.5, 3.0
    )
    assert app.reviews.reply("r1", template="sorry").status == "sent"
    assert app.reviews.reply("r1", template="sorry").status == "already_replied"
    shop.put("r0", 1, "质量太差了", at=timedelta(days=2))
    app.reviews.sync()
    assert [a.subject for a in app.reviews.alerts(rule="rating_drop")] == ["fake:r0"]
    app.close()


def test_two_workers_syncing_at_once_store_each_review_once(
        db_url: str, at_once: Any, tmp_path: Any) -> None:
    shop = FakeReviewShop(page_size=3)
    for i in range(30):
        shop.put(f"r{i}", 1 if i % 3 == 0 else 5, "质量太差了" if i % 3 == 0 else "质量很好",
                 at=timedelta(minutes=i))
    alone = make_app(f"sqlite:///{tmp_path}/alone.db", shop)  # what one worker would raise
    alone.reviews.sync()
    expected_alerts = sorted((a.rule, a.subject) for a in alone.reviews.alerts())
    alone.close()
    apps = [make_app(db_url, shop), make_app(db_url, shop)]
    try:
        counts, errors = at_once([app.reviews.sync for app in apps])
        assert errors == []
        assert sum(c["fake"] for c in counts) == 30  # every review stored by one of them
        with apps[0].store.session() as session:
            versions = session.scalar(select(func.count()).select_from(ReviewVersionRow))
            alerts = session.scalar(select(func.count()).select_from(ReviewAlertRow))
        assert versions == 30
        assert alerts == len(expected_alerts)
        assert sorted((a.rule, a.subject) for a in apps[0].reviews.alerts()) == expected_alerts
        assert apps[1].reviews.sync() == {"fake": 0}
    finally:
        for app in apps:
            app.close()
