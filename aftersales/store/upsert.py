"""The database's own upsert: ``INSERT … ON CONFLICT`` where the dialect has it.

PostgreSQL and SQLite both take ``ON CONFLICT (…) DO NOTHING / DO UPDATE``;
set-based writes use it so that de-duplicating a page of rows is part of the
one statement that writes them. Other dialects get ``None`` and the caller
falls back to reading first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

__all__ = ["native_insert"]

_BY_DIALECT: dict[str, Callable[..., Any]] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def native_insert(session: Session) -> Callable[..., Any] | None:
    """The dialect's ``insert`` construct with ``on_conflict_*``, or None if it has none."""
    return _BY_DIALECT.get(session.get_bind().dialect.name)
