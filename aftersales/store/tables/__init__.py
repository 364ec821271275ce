"""Every table, imported so that ``Base.metadata`` is complete.

Importing this also masks every error column's assignments
(:mod:`aftersales.store.redacted`).
"""

from __future__ import annotations

from aftersales.store.redacted import guard_error_columns
from aftersales.store.tables import cases, core, followups, kb, logistics, returns, reviews
from aftersales.store.tables.base import Base

__all__ = ["Base", "cases", "core", "followups", "kb", "logistics", "returns", "reviews"]

guard_error_columns()
