"""FollowUpsService: scheduled follow-up visits (reached as ``app.followups``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aftersales.app import AfterSales

__all__ = ["FollowUpsService"]


class FollowUpsService:
    """Scheduled follow-up visits."""

    def __init__(self, app: AfterSales) -> None:
        self.app = app
