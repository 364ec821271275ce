"""Every table, imported so that ``Base.metadata`` is complete."""

from __future__ import annotations

from aftersales.store.tables import core, followups, logistics, returns, reviews
from aftersales.store.tables.base import Base

__all__ = ["Base", "core", "followups", "logistics", "returns", "reviews"]
