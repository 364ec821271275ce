"""Error columns never store a provider's words unmasked.

Every ORM attribute named ``error`` or ``last_error`` (``refunds.error``,
``deadlines.last_error``, ``follow_ups.last_error``, the review alerts' and
replies' ``last_error``) passes what is assigned to it through
:func:`aftersales.redact.redact_remote`, so an exception text written by any
code path, today's or a later one, reaches the database masked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import InstrumentedAttribute

from aftersales.redact import redact_remote
from aftersales.store.tables.base import Base

__all__ = ["ERROR_COLUMNS", "guard_error_columns"]

#: Attribute names treated as stored error texts.
ERROR_COLUMNS = frozenset({"error", "last_error"})

_guarded: set[tuple[type, str]] = set()


def _mask(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
    return redact_remote(value) if isinstance(value, str) and value else value


def guard_error_columns() -> None:
    """Mask every mapped error column's assignments (idempotent)."""
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        for name in ERROR_COLUMNS:
            attr = getattr(cls, name, None)
            if isinstance(attr, InstrumentedAttribute) and (cls, name) not in _guarded:
                event.listen(attr, "set", _mask, retval=True)
                _guarded.add((cls, name))
