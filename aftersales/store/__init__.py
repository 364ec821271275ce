"""Persistence: SQLAlchemy 2 tables, the :class:`Store` and the packaged migrations."""

from __future__ import annotations

from aftersales.store.database import Store
from aftersales.store.tables import Base

__all__ = ["Base", "Store"]
