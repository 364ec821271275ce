"""Portable SQL pieces the reports build on: the same answer on SQLite and PostgreSQL.

* :func:`epoch` turns a stored UTC time into whole seconds since 1970 (floored),
  so durations are integer subtraction on both backends;
* :func:`milli` turns money kept as exact text into integer thousandths of a
  unit, so sums are exact integers (never a float sum) on both backends;
* :func:`count_if` counts the rows where a condition holds;
* :func:`nearest_rank` picks a percentile by the nearest-rank rule with window
  functions, so no row is read back into Python;
* :func:`json_texts` lists the strings of a JSON array column as rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.sql.selectable import TableValuedAlias

__all__ = ["count_if", "epoch", "json_path_text", "json_texts", "milli", "nearest_rank"]


class epoch(FunctionElement[int]):
    """Whole seconds since 1970-01-01 UTC of a stored time (floored)."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    # The store keeps UTC text; strftime('%s') reads it as UTC and drops the fraction.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class milli(FunctionElement[int]):
    """Money kept as exact text, in integer thousandths of its unit.

    Every currency the library knows has at most three decimals, so this is
    exact; sums of it are integer sums on both backends.
    """

    type = BigInteger()
    inherit_cache = True
    name = "milli"


@compiles(milli, "sqlite")
def _milli_sqlite(element: milli, compiler: Any, **kw: Any) -> str:
    # A double holds any amount below 2**53 thousandths exactly enough that
    # rounding the product gives the exact integer.
    return f"CAST(ROUND(CAST({compiler.process(element.clauses, **kw)} AS REAL) * 1000) AS INTEGER)"


@compiles(milli)
def _milli_default(element: milli, compiler: Any, **kw: Any) -> str:
    inner = compiler.process(element.clauses, **kw)
    return f"CAST(ROUND(CAST({inner} AS NUMERIC) * 1000) AS BIGINT)"


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``: rows where ``condition`` holds."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def nearest_rank(value: Any, rank: Any, total: Any, percent: int) -> ColumnElement[Any]:
    """The ``percent``-th percentile by the nearest-rank rule, as an aggregate.

    ``rank`` is ``ROW_NUMBER()`` over the group ordered by ``value`` and
    ``total`` the group's ``COUNT(*)``: the percentile is the smallest value
    whose rank is at least ``percent``% of the count (integers only, so both
    backends pick the same row).
    """
    return func.min(case((rank * 100 >= total * percent, value)))


def json_path_text(column: Any, keys: tuple[str, ...], dialect: str) -> ColumnElement[str]:
    """The text at the path ``keys`` in the JSON ``column`` (``NULL`` where there is none).

    The keys are written into the SQL, so they must be plain names (the
    callers' own constants, never input).
    """
    if not keys or not all(k.isascii() and k.isidentifier() for k in keys):
        raise ValueError("JSON path keys are plain names")
    if dialect == "postgresql":
        path: ColumnElement[Any] = literal_column("'{" + ",".join(keys) + "}'::text[]")
        return column.op("#>>")(path)  # type: ignore[no-any-return]
    return func.json_extract(column, "$." + ".".join(keys))


def json_texts(column: Any, dialect: str) -> TableValuedAlias:
    """The strings of the JSON array in ``column``, one row each (column ``value``)."""
    if dialect == "postgresql":
        return func.jsonb_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")


