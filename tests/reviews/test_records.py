"""Stored reviews read back with ``get`` and ``list``: the verdict and the links kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aftersales.errors import NotFoundError, ValidationError
from aftersales.reviews import StoredReview


def test_get_and_list_read_stored_reviews(review_app: Any, shop: Any) -> None:
    shop.put("r1", 1, "Arrived broken, terrible", at=timedelta(hours=1), order_id="O-9")
    shop.put("r2", 5, "Lovely, works perfectly", at=timedelta(hours=2), sku="SKU-2")
    review_app.reviews.sync()

    newest_first = review_app.reviews.list()
    assert [r.external_id for r in newest_first] == ["r2", "r1"]
    bad = review_app.reviews.get(newest_first[1].id)
    assert isinstance(bad, StoredReview)
    assert (bad.store, bad.rating, bad.order_id, bad.sentiment) == ("fake", 1, "O-9", "negative")
    assert [r.external_id for r in review_app.reviews.list(max_rating=2)] == ["r1"]
    assert [r.external_id for r in review_app.reviews.list(sku="SKU-2")] == ["r2"]
    assert [r.external_id for r in review_app.reviews.list(sentiment="negative")] == ["r1"]
    assert review_app.reviews.list(store="elsewhere") == []
    assert len(review_app.reviews.list(limit=1)) == 1


def test_get_of_an_unknown_review_is_not_found(review_app: Any) -> None:
    with pytest.raises(NotFoundError, match="review"):
        review_app.reviews.get(999)


def test_a_naive_since_is_refused_by_name(review_app: Any) -> None:
    """It failed as a StorageError ("database error")."""
    with pytest.raises(ValidationError, match="field 'since': must be timezone-aware"):
        review_app.reviews.list(since=datetime(2026, 1, 1))


@pytest.mark.parametrize("review_id", [2**63, 10**20, -(2**63) - 1])
def test_an_id_past_the_databases_integers_is_not_found(review_app: Any,
                                                        review_id: int) -> None:
    """It failed as ``unexpected OverflowError`` (SQLite) or a database error."""
    with pytest.raises(NotFoundError, match="review"):
        review_app.reviews.get(review_id)
    with pytest.raises(NotFoundError, match="review"):
        review_app.reviews.reply(review_id, template="sorry", dry_run=True)


@pytest.mark.parametrize(("call", "field"), [
    (lambda r: r.list(limit=0), "limit"),
    (lambda r: r.list(limit=-1), "limit"),  # every review, on SQLite
    (lambda r: r.list(limit=10**30), "limit"),  # unexpected OverflowError
    (lambda r: r.list(max_rating=10**30), "max_rating"),
    (lambda r: r.list(max_rating=0), "max_rating"),
    (lambda r: r.list(sentiment="angry"), "sentiment"),  # nothing, silently
    (lambda r: r.alerts(limit=10**30), "limit"),
    (lambda r: r.alerts(since=datetime(2027, 1, 1, tzinfo=UTC),
                        until=datetime(2026, 1, 1, tzinfo=UTC)), "until"),
    (lambda r: r.get("1"), "review_id"),  # TypeError
    (lambda r: r.get(True), "review_id"),  # read as review 1
])
def test_a_filter_no_review_can_match_is_refused_by_name(review_app: Any, shop: Any,
                                                        call: Any, field: str) -> None:
    shop.put("r1", 1, "Arrived broken, terrible")
    review_app.reviews.sync()
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        call(review_app.reviews)
