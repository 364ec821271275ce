"""Sync cursors: where each incremental listing of each source got to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from aftersales.store.tables.core import CursorRow

__all__ = ["get_cursor", "set_cursor"]


def get_cursor(session: Session, source: str, stream: str) -> str | None:
    """The saved cursor of ``stream`` (``"orders"``, ``"returns"``, …) for ``source``."""
    return session.scalar(
        select(CursorRow.cursor).where(CursorRow.source == source, CursorRow.stream == stream)
    )


def set_cursor(session: Session, source: str, stream: str, cursor: str | None) -> None:
    """Save the cursor in the caller's transaction, so it moves only with the data."""
    row = session.get(CursorRow, (source, stream))
    if row is None:
        session.add(CursorRow(source=source, stream=stream, cursor=cursor))
    else:
        row.cursor = cursor
