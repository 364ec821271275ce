"""Checking what a caller hands to ``schedule`` / ``schedule_many`` before anything is written.

A follow-up's ids and template context are stored as they are and read
again by every worker tick, so a bad value must be refused at the door,
by name, the same way on SQLite and PostgreSQL: not accepted by one store
and refused by the other as a ``StorageError``, and never written to fail
later inside ``dispatch_due``. The ids must be non-blank text that fits
its column; the context must be a mapping that JSON can hold. Text may not
hold NUL (PostgreSQL cannot store it) or lone surrogates (not Unicode, so
no channel can send it).

A :class:`~decimal.Decimal` or an aware :class:`~datetime.datetime` /
:class:`~datetime.date` in the context is kept as its text (``"12.50"``,
ISO 8601), as the order's own fields are; anything else that is not JSON
(a set, bytes, an object, a naive time, NaN) is refused, naming its path.
A context larger than :data:`MAX_CONTEXT_BYTES` as compact UTF-8 JSON is
refused by name: it is stored on the row and read again by every tick.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from aftersales.errors import ValidationError
from aftersales.times import NAIVE, is_aware

__all__ = ["ID_LENGTHS", "MAX_CONTEXT_BYTES", "check_ids", "check_limit", "check_row_id",
           "check_text", "checked_context", "choice"]

E = TypeVar("E", bound=Enum)

#: The longest value each id column holds (the follow-ups table's lengths).
ID_LENGTHS = {"buyer_id": 120, "order_id": 120, "marketplace": 40, "rma_id": 40, "key": 200,
              "ref": 200}


#: The largest context a follow-up keeps: 16 KiB of compact UTF-8 JSON, room
#: for an order's fields and a few dozen items, not for a document.
MAX_CONTEXT_BYTES = 16 * 1024


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "text cannot hold a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text is not valid Unicode (a lone surrogate)"
    return None


def choice(kind: type[E], value: Any, field: str) -> E:
    """``value`` as a member of the enum ``kind``, given as the member or its name.

    Raises:
        ValidationError: ``value`` is neither, naming ``field`` and the choices.
    """
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(m.value for m in kind)
        raise ValidationError(f"must be one of {names}", field=field) from None


def check_text(value: Any, field: str) -> None:
    """Refuse a free-text value (a buyer's comment) that is not text every store can hold.

    Raises:
        ValidationError: ``value`` is not a string, or holds NUL or lone surrogates.
    """
    if not isinstance(value, str):
        raise ValidationError(f"must be text, not {type(value).__name__}", field=field)
    problem = _text_problem(value)
    if problem:
        raise ValidationError(problem, field=field)


def check_row_id(value: Any, field: str = "follow_up_id") -> int:
    """``value`` when it is a row id a store can hold (1 to 2**63 - 1).

    Raises:
        ValidationError: not a whole number in range (a bool, a string, a
            number past 2**63 - 1 that raised a bare ``OverflowError``).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("must be a whole number", field=field)
    if not 1 <= value <= 2**63 - 1:
        raise ValidationError("must be from 1 to 2**63 - 1", field=field)
    return value


def check_limit(value: Any, top: int = 10_000) -> int:
    """``value`` when it is a page size from 1 to ``top``.

    Raises:
        ValidationError: otherwise (SQLite read a limit of -1 as no limit at all).
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise ValidationError(f"must be a whole number from 1 to {top}", field="limit")
    return value


def check_ids(row: int | None = None, **ids: Any) -> None:
    """Refuse an id that is blank, not text, too long for its column, or not sendable text.

    ``buyer_id`` and ``key`` are given when required; the others may be ``None``.

    Raises:
        ValidationError: naming the id (and ``row`` when given).
    """
    for name, value in ids.items():
        if value is None and name not in ("buyer_id", "key"):
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("must be non-blank text", field=name, row=row)
        problem = _text_problem(value)
        if problem:
            raise ValidationError(problem, field=name, row=row)
        if len(value) > ID_LENGTHS[name]:
            raise ValidationError(f"longer than {ID_LENGTHS[name]} characters",
                                  field=name, row=row)


def checked_context(context: Any, row: int | None = None) -> dict[str, Any]:
    """``context`` as JSON-ready data: a copy, Decimals and aware times as text.

    Raises:
        ValidationError: ``context`` is not a mapping, holds a value JSON
            cannot (the field is its dotted path, ``context.items.1.sku``), or
            is larger than :data:`MAX_CONTEXT_BYTES` as JSON.
    """
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise ValidationError(f"must be a mapping of template fields, not "
                              f"{type(context).__name__}", field="context", row=row)
    out = dict(_value(context, "context", row))
    size = len(json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_CONTEXT_BYTES:
        raise ValidationError(f"larger than {MAX_CONTEXT_BYTES // 1024} KiB as JSON "
                              f"({size} bytes)", field="context", row=row)
    return out


def _value(value: Any, path: str, row: int | None) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        problem = _text_problem(value)
        if problem:
            raise ValidationError(problem, field=path, row=row)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("a number must be finite", field=path, row=row)
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError("a number must be finite", field=path, row=row)
        return str(value)
    if isinstance(value, datetime):
        if not is_aware(value):
            raise ValidationError(NAIVE, field=path, row=row)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"keys must be text, not {type(key).__name__}",
                                      field=path, row=row)
            problem = _text_problem(key)
            if problem:
                raise ValidationError(f"a key's {problem}", field=path, row=row)
            out[key] = _value(item, f"{path}.{key}", row)
        return out
    if isinstance(value, (list, tuple)):
        return [_value(item, f"{path}.{n}", row) for n, item in enumerate(value)]
    raise ValidationError(f"{type(value).__name__} is not a JSON value", field=path, row=row)
