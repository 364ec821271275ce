"""A review source the tests control exactly, and an app wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import Page, Review
from aftersales.paging import Watermark, watermarked_pages

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


class FakeReviewShop(MarketplaceBase):
    """Reviews held in a dict; listing pages of ``page_size`` by (updated_at, id).

    ``fail_on_page`` makes the listing raise on that page (0-based);
    ``reply_error`` makes ``reply_review`` raise it.
    """

    name = "fake"
    capabilities = frozenset({Capability.LIST_REVIEWS, Capability.REPLY_REVIEW})
    reply_idempotent = True  # replied is keyed by idempotency key below

    def __init__(self, *, page_size: int = 2, replies: bool = True) -> None:
        self.reviews: dict[str, Review] = {}
        self.page_size = page_size
        self.fail_on_page: int | None = None
        self.reply_error: Exception | None = None
        self.reply_calls: list[tuple[str, str, str]] = []
        self.replied: dict[str, str] = {}
        if not replies:
            self.capabilities = frozenset({Capability.LIST_REVIEWS})

    def put(self, external_id: str, rating: int, body: str, *, at: timedelta = timedelta(0),
            sku: str | None = "SKU-1", **fields: Any) -> Review:
        """Add or edit a review; ``at`` is its change time after T0."""
        old = self.reviews.get(external_id)
        review = Review(
            marketplace=self.name,
            external_id=external_id,
            rating=rating,
            body=body,
            sku=sku,
            created_at=old.created_at if old else T0 + at,
            updated_at=T0 + at,
            **fields,
        )
        self.reviews[external_id] = review
        return review

    def list_reviews(self, cursor: str | None = None) -> Iterator[Page[Review]]:
        items = sorted(self.reviews.values(), key=lambda r: (r.updated_at, r.external_id))
        batches = [items[i : i + self.page_size] for i in range(0, len(items), self.page_size)]

        def guarded() -> Iterator[list[Review]]:
            for index, batch in enumerate(batches):
                if index == self.fail_on_page:
                    from aftersales.errors import TransientError

                    raise TransientError("listing failed", adapter=self.name, status=503)
                yield batch

        start = Watermark.from_cursor(cursor, adapter=self.name)
        return watermarked_pages(guarded(), lambda r: (r.updated_at, r.external_id), start)

    def reply_review(self, review: Review, text: str, *, idempotency_key: str) -> str:
        self.reply_calls.append((review.external_id, text, idempotency_key))
        if self.reply_error is not None:
            raise self.reply_error
        if idempotency_key in self.replied:
            return self.replied[idempotency_key]
        reply_id = f"R-{len(self.replied) + 1}"
        self.replied[idempotency_key] = reply_id
        current = self.reviews[review.external_id]
        self.reviews[review.external_id] = current.model_copy(
            update={"reply": text, "updated_at": current.updated_at + timedelta(hours=1)}
        )
        return reply_id


@pytest.fixture
def shop() -> FakeReviewShop:
    return FakeReviewShop()


def make_app(url: str, shop: MarketplaceBase, **options: Any) -> AfterSales:
    options.setdefault("clock", lambda: T0 + timedelta(days=30))
    app = AfterSales(url, marketplaces=[shop], carriers=[], channels=["outbox"],
                     migrate=False, **options)
    app.store.create_all()
    return app


@pytest.fixture
def review_app(tmp_path: Path, shop: FakeReviewShop) -> Iterator[AfterSales]:
    app = make_app(f"sqlite:///{tmp_path}/reviews.db", shop)
    yield app
    app.close()


@pytest.fixture(autouse=True)
def _no_call_inside_a_write(no_call_inside_a_write: list[str]) -> list[str]:
    """Every reviews test runs with the write-transaction guard on (tests/conftest.py)."""
    return no_call_inside_a_write
