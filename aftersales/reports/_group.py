"""What a report groups by: a time bucket in the shop's zone, or a column."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, literal

from aftersales.errors import ValidationError
from aftersales.reports.periods import GRAINS, Scope, bucket

__all__ = ["NONE_KEY", "fill_periods", "key_of"]

#: The key of rows whose grouping column is empty (a line without a category).
NONE_KEY = "(none)"

_R = TypeVar("_R")


def key_of(by: str, scope: Scope, when: Any, columns: Mapping[str, Any]) -> ColumnElement[Any]:
    """The grouping expression for ``by``: a bucket of ``when``, or one of ``columns``.

    Raises:
        ValidationError: ``by`` is neither a grain nor one of ``columns``.
    """
    if by in GRAINS:
        return bucket(when, scope.periods(by))
    if by == "all":
        return literal("all")
    if by in columns:
        return func.coalesce(columns[by], NONE_KEY)
    known = ", ".join([*GRAINS, *columns, "all"])
    raise ValidationError(f"cannot group by {by!r}; choose one of {known}", field="by")


def fill_periods(by: str, scope: Scope, rows: Iterable[_R], key: Callable[[_R], str],
                 empty: Callable[[str], _R]) -> list[_R]:
    """Rows in key order; for a grain, every bucket of the window, empty ones included."""
    found = {key(r): r for r in rows}
    if by in GRAINS:
        return [found.get(p.label) or empty(p.label) for p in scope.periods(by)]
    return [found[k] for k in sorted(found)]
