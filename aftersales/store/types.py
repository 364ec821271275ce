"""Column types that keep the core's rules in the database.

* :class:`UTCDateTime` refuses naive datetimes, stores UTC and gives back
  aware UTC datetimes on every backend (SQLite has no time zones).
* :class:`DecimalText` stores a Decimal as its exact text, so no backend ever
  turns money into a float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["DecimalText", "JSONType", "UTCDateTime"]

class JSONType(TypeDecorator[Any]):
    """JSON on every backend, JSONB on PostgreSQL."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(JSON())


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("refusing to store a naive datetime; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, one step from an aware datetime to SQLAlchemy's stored text.

        The text is exactly what SQLAlchemy's SQLite ``DATETIME`` writes
        (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), made by ``isoformat`` in C
        instead of two Python conversions: a tracking refresh binds tens of
        thousands of event times.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is UTC:  # the library's own times: drop the "+00:00"
                return value.isoformat(" ", "microseconds")[:26]
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError("refusing to store a naive datetime; pass an aware one")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal kept as exact text (money never becomes a float)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise ValueError("refusing to store a float as money")
        return str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
