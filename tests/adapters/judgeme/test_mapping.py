"""Judge.me payloads to core reviews: fields, quirks and refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aftersales_judgeme import JudgeMeSettings, to_review
from aftersales_judgeme.mapping import parse_time
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import ValidationError

FIXTURES = Path(__file__).parent / "fixtures"


def listed(name: str) -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    reviews: list[dict[str, Any]] = data["response"]["body"]["reviews"]
    return reviews


def test_a_listed_review_maps_to_a_core_review() -> None:
    raw = listed("reviews_page_1.json")[1]
    review = to_review(raw)
    assert review.marketplace == "judgeme"
    assert review.external_id == "465077605"
    assert (review.rating, review.title) == (2, "Fake?")
    assert review.body == "This is a fake, the logo is wrong"
    assert review.sku == "8302173290794"
    assert review.author == "Jo"
    assert review.created_at == datetime(2026, 3, 3, 10, 30, tzinfo=UTC)
    assert review.images == ["https://judgeme.imgix.net/shop/1652/original.jpg"]  # hidden one out
    assert review.order_id is None  # Judge.me's list names no order


def test_contact_details_of_the_reviewer_are_never_copied() -> None:
    raw = listed("reviews_page_1.json")[1]
    dumped = to_review(raw).model_dump_json()
    assert "@example.com" not in dumped
    assert "13800138000" not in dumped


def test_a_store_review_has_no_sku() -> None:
    raw = listed("reviews_page_2.json")[0]
    assert raw["product_external_id"] is None
    assert to_review(raw).sku is None


def test_sku_can_come_from_the_product_handle() -> None:
    raw = listed("reviews_page_2.json")[1]
    settings = JudgeMeSettings(sku_from="product_handle")
    assert to_review(raw, settings).sku == "fleece-hoodie"


def test_an_edited_review_keeps_its_creation_time() -> None:
    review = to_review(listed("reviews_page_3.json")[0])
    assert review.created_at < review.updated_at
    assert review.updated_at == datetime(2026, 3, 5, 7, 45, tzinfo=UTC)


def test_the_webhook_body_maps_the_same_way() -> None:
    body = json.loads((FIXTURES / "webhook_review_created.json").read_text())["body"]
    review = to_review(body["review"])
    assert (review.rating, review.body) == (5, "Very good product!")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating": None}, "rating"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": None}, "created_at"),
        ({"id": None}, "id"),
        ({"rating": "five"}, "rating"),
    ],
)
def test_a_malformed_review_is_refused_naming_the_field_and_the_review(
    change: dict[str, Any], field: str
) -> None:
    raw = {**listed("reviews_page_1.json")[0], **change}
    with pytest.raises(ValidationError) as info:
        to_review(raw)
    assert info.value.field == field
    assert info.value.payload is not None
    assert "judgeme review" in info.value.payload


def test_times_without_an_offset_are_utc_and_z_is_understood() -> None:
    assert parse_time("2026-03-01T08:00:00", field="x", payload="p").tzinfo is not None
    assert parse_time("2026-03-01T08:00:00Z", field="x", payload="p") == datetime(
        2026, 3, 1, 8, tzinfo=UTC
    )
    assert parse_time("2026-03-01T16:00:00+08:00", field="x", payload="p") == datetime(
        2026, 3, 1, 8, tzinfo=UTC
    )


@given(rating=st.integers(-5, 10), body=st.text(max_size=60))
def test_every_rating_from_one_to_five_maps_and_no_other(rating: int, body: str) -> None:
    raw = {**listed("reviews_page_1.json")[0], "rating": rating, "body": body}
    if 1 <= rating <= 5:
        review = to_review(raw)
        assert review.rating == rating
        assert review.body == body
    else:
        with pytest.raises(ValidationError):
            to_review(raw)
