"""ReturnsService: returns, exchanges and refunds (reached as ``app.returns``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aftersales.app import AfterSales

__all__ = ["ReturnsService"]


class ReturnsService:
    """Returns, exchanges and refunds."""

    def __init__(self, app: AfterSales) -> None:
        self.app = app

    def sync(self) -> dict[str, int]:
        """Pull what changed on every marketplace; counts per marketplace."""
        return {}
