"""Plain statements straight to the database driver, many rows at once.

The set-based write paths (bulk approvals, tracking refreshes) write tens of
thousands of rows a run. Through SQLAlchemy Core each row's parameters are
built and converted in Python, which costs more than the database's own
work; here the statement is written once in the driver's paramstyle and the
rows go to ``executemany`` as tuples. Values of typed columns (times, JSON)
still go through the column type's own converter, looked up once, so the
database sees exactly what the ORM would have written.

Table and column names always come from our metadata, never from input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, FromClause
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

__all__ = ["Driver"]

#: Bound parameters per IN list: under every supported backend's limit.
IN_CHUNK = 900


class Driver:
    """Executes plain SQL with the driver's own paramstyle inside a session's transaction."""

    def __init__(self, session: Session) -> None:
        self.conn = session.connection()
        self.dialect: Dialect = self.conn.dialect
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self.quote = self.dialect.identifier_preparer.quote
        self._procs: dict[tuple[bool, str, str], Callable[[Any], Any]] = {}

    def value(self, column: ColumnElement[Any], value: Any) -> Any:
        """``value`` converted as the column's type would convert it."""
        return self.converter(column)(value)

    def converter(self, column: ColumnElement[Any]) -> Callable[[Any], Any]:
        """The column type's bind conversion for this dialect (looked up once)."""
        return self._processor(column, bind=True)

    def converts(self, column: ColumnElement[Any]) -> bool:
        """Whether the column's type converts a value on its way in (else it goes as is)."""
        return self.converter(column) is not _same

    def reads(self, column: ColumnElement[Any]) -> bool:
        """Whether the column's type converts a value on its way out (else it comes as is)."""
        return self.reader(column) is not _same

    def reader(self, column: ColumnElement[Any]) -> Callable[[Any], Any]:
        """The column type's result conversion for this dialect: what the ORM would read."""
        return self._processor(column, bind=False)

    def _processor(self, column: ColumnElement[Any], *, bind: bool) -> Callable[[Any], Any]:
        table = getattr(getattr(column, "table", None), "name", "")
        key = (bind, table, str(column.key))
        found = self._procs.get(key)
        if found is None:
            impl = column.type.dialect_impl(self.dialect)
            proc = (impl.bind_processor(self.dialect) if bind
                    else impl.result_processor(self.dialect, None))
            found = proc if proc is not None else _same
            self._procs[key] = found
        return found

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run one query written in the driver's paramstyle; rows as plain tuples, unconverted.

        Only for statements assembled from our metadata's names (never input).
        The transaction's own DBAPI cursor: no result objects in between.
        """
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return [tuple(r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def table_name(self, table: FromClause) -> str:
        """The table's quoted name, for a statement written in the driver's SQL."""
        return str(self.quote(table.description))  # a table's description is its name

    def insert(
        self, table: FromClause, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """``INSERT`` one row per tuple (values in the order of ``columns``)."""
        if not rows:
            return
        names = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join([self.mark] * len(columns))
        self.conn.exec_driver_sql(
            f"INSERT INTO {self.table_name(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608

    def update(
        self,
        table: FromClause,
        columns: Sequence[str],
        where: Sequence[str],
        rows: list[tuple[Any, ...]],
        *,
        bump: str | None = None,
    ) -> int:
        """``UPDATE`` per tuple: values for ``columns`` then for the ``where`` equalities.

        Args:
            bump: an integer column to add one to in the same statement
                (the optimistic-lock version).

        Returns:
            Rows changed, as the driver reports it for ``executemany``.
        """
        if not rows:
            return 0
        sets = [f"{self.quote(c)} = {self.mark}" for c in columns]
        if bump is not None:
            sets.append(f"{self.quote(bump)} = {self.quote(bump)} + 1")
        cond = " AND ".join(f"{self.quote(c)} = {self.mark}" for c in where)
        result = self.conn.exec_driver_sql(
            f"UPDATE {self.table_name(table)} SET {', '.join(sets)} WHERE {cond}",  # noqa: S608
            rows)
        return int(result.rowcount)

    def select_in(
        self, table: FromClause, columns: Sequence[str], key: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        """Rows whose ``key`` column is one of ``values`` (plain values back, no conversion).

        Asked in chunks, so no database's limit on bound parameters is reached.
        """
        names = ", ".join(self.quote(c) for c in columns)
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(values), IN_CHUNK):
            chunk = values[start:start + IN_CHUNK]
            marks = ", ".join([self.mark] * len(chunk))
            out.extend(self.fetch(
                f"SELECT {names} FROM {self.table_name(table)} "  # noqa: S608 - metadata
                f"WHERE {self.quote(key)} IN ({marks})", chunk))
        return out


def _same(value: Any) -> Any:
    return value
