"""ReviewsService: review sync, classification, alerts, metrics, replies (``app.reviews``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aftersales.app import AfterSales

__all__ = ["ReviewsService"]


class ReviewsService:
    """Review sync, classification, alerts, metrics and replies."""

    def __init__(self, app: AfterSales) -> None:
        self.app = app

    def sync(self) -> dict[str, int]:
        """Pull what changed on every marketplace; counts per marketplace."""
        return {}
