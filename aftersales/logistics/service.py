"""LogisticsService: tracking look-ups, refreshes and anomalies (reached as ``app.logistics``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aftersales.app import AfterSales

__all__ = ["LogisticsService"]


class LogisticsService:
    """Tracking look-ups, refreshes and anomalies."""

    def __init__(self, app: AfterSales) -> None:
        self.app = app
