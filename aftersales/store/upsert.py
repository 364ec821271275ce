"""Set-based writes with the database's own upsert: a page of rows in one statement.

PostgreSQL and SQLite both take ``INSERT … ON CONFLICT (…) DO NOTHING / DO
UPDATE … WHERE …`` with ``RETURNING``. :func:`upsert_rows` writes a page of
rows that way, so de-duplicating the page against what is stored, and telling
which rows were written, is part of the one statement that writes them;
:func:`update_rows` updates a page of rows matched by key (and guard) in one
statement. Both return what the database says happened, never a guess.

On PostgreSQL a page goes as one JSON value (``SELECT … FROM
json_to_recordset(…)``): one statement text for every page size with one
parameter, instead of a multi-row ``VALUES`` with one placeholder per value
(which the driver parses again for every new page size, and which costs more
than the insert itself). On SQLite a
page goes as ``executemany``. Values pass through each column's own type
first, so what is stored is what the ORM would have stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, bindparam, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes
from sqlalchemy.types import TypeDecorator

from aftersales.store.nul import nul_free_json_dumps

__all__ = ["Guard", "native_insert", "update_rows", "upsert_rows"]

_BY_DIALECT: dict[str, Callable[..., Any]] = {"postgresql": pg_insert, "sqlite": sqlite_insert}

#: ``guard(table, excluded)``: the condition under which a conflicting row is updated.
Guard = Callable[[Table, Any], ColumnElement[bool]]


def native_insert(session: Session) -> Callable[..., Any] | None:
    """The dialect's ``insert`` construct with ``on_conflict_*``, or None if it has none."""
    return _BY_DIALECT.get(session.get_bind().dialect.name)


def upsert_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str] = (),
    key_where: ColumnElement[bool] | None = None,
    update: Sequence[str] = (),
    add: Sequence[str] = (),
    where: Guard | None = None,
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert ``rows`` (dicts with the same keys) in one statement; on a conflict, upsert.

    Args:
        key: the columns of a unique constraint: a row whose key is stored
            already is not inserted (``ON CONFLICT (key)``). Empty: plain insert.
        key_where: the predicate of a partial unique index on ``key``
            (``ON CONFLICT (key) WHERE …``: the database picks that index).
        update: on a conflict, these columns take the new row's value.
        add: on a conflict, these columns take the stored value plus the new
            row's (a version column: the new row carries how many changes it makes).
        where: on a conflict, update only where this holds (``guard(table,
            excluded)``, e.g. the stored copy is older); no ``update``/``add``
            means ``DO NOTHING``.
        returning: columns to return for every row inserted or updated (a row
            skipped by the conflict rule is not returned).

    Returns:
        The returned rows (none without ``returning``), in no promised order:
        match them to ``rows`` by key.

    Two rows of one call must not share a key when they update (PostgreSQL
    refuses to update one row twice in a statement).
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    insert: Any
    if dialect.name == "postgresql":
        insert = pg_insert(table).from_select(columns, _unnest(dialect, table, columns, rows))
    elif dialect.name == "sqlite":
        insert = sqlite_insert(table)
    else:  # pragma: no cover - the store runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"no native upsert on {dialect.name}")
    stmt: Any = insert
    if key:
        sets: dict[str, Any] = {c: insert.excluded[c] for c in update}
        sets.update({c: table.c[c] + insert.excluded[c] for c in add})
        guard = where(table, insert.excluded) if where is not None else None
        target = {"index_elements": list(key), "index_where": key_where}
        stmt = (insert.on_conflict_do_update(**target, set_=sets, where=guard)
                if sets else insert.on_conflict_do_nothing(**target))
    wanted = [table.c[c] for c in returning]
    if wanted:
        stmt = stmt.returning(*wanted)
    if dialect.name == "postgresql":
        result = session.execute(stmt)
    elif len(rows) == 1:
        result = session.execute(stmt.values(dict(rows[0])))
    else:
        result = session.execute(stmt, [dict(r) for r in rows])
    return list(result) if wanted else []


def update_rows(
    session: Session,
    table: Table,
    rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> int:
    """Update a page of rows in one statement; how many rows matched.

    Each item is ``(match, values)``: the row whose columns equal ``match``
    (its id and, for optimistic locking, the version read) gets ``values``.
    Every item must name the same columns. A row that no longer matches (its
    version moved on) is left alone and not counted, so the caller can tell.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    match, values = list(rows[0][0]), list(rows[0][1])
    if dialect.name == "postgresql":
        names = [f"m_{c}" for c in match] + values
        flat = [{**{f"m_{c}": m[c] for c in match}, **v} for m, v in rows]
        source = _unnest(dialect, table, names, flat, types={f"m_{c}": c for c in match})
        src = source.subquery("v")
        stmt = (update(table)
                .where(*(table.c[c] == src.c[f"m_{c}"] for c in match))
                .values({c: src.c[c] for c in values}))
        done = session.execute(stmt)
        return int(done.rowcount)  # type: ignore[attr-defined]
    stmt = (update(table)
            .where(*(table.c[c] == bindparam(f"m_{c}") for c in match))
            .values({c: bindparam(f"v_{c}") for c in values}))
    params = [{**{f"m_{c}": m[c] for c in match}, **{f"v_{c}": v[c] for c in values}}
              for m, v in rows]
    done = session.execute(stmt, params)
    return int(done.rowcount)  # type: ignore[attr-defined]


def _unnest(
    dialect: Dialect,
    table: Table,
    names: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    types: Mapping[str, str] | None = None,
) -> Any:
    """``SELECT v.a, v.b … FROM json_to_recordset(:page) AS v(a t, b t …)``: the page as one value.

    The page goes to the server as one JSON array (encoded in C, parsed by the
    server), and each column is read back in its own type, so the statement
    text is the same for every page size. ``types`` maps a name that is not a
    column of ``table`` to the column whose type it has. Rows come back, and
    are inserted (taking their ids), in the order given.
    """
    quote = dialect.identifier_preparer.quote
    defs: list[str] = []
    converters: list[Callable[[Any], Any]] = []
    for name in names:
        declared = table.c[(types or {}).get(name, name)].type
        impl = (declared.load_dialect_impl(dialect) if isinstance(declared, TypeDecorator)
                else declared.dialect_impl(dialect))
        converters.append(_converter(declared, dialect))
        defs.append(f"{quote(name)} {impl.compile(dialect=dialect)}")
    pairs = list(zip(names, converters, strict=True))
    page = nul_free_json_dumps([{n: convert(r[n]) for n, convert in pairs} for r in rows])
    source = text(f"json_to_recordset(CAST(:page AS JSON)) AS v({', '.join(defs)})").bindparams(
        bindparam("page", page, type_=sqltypes.NullType()))
    cols: list[Any] = [literal_column(f"v.{quote(n)}").label(n) for n in names]
    return select(*cols).select_from(source)


def _converter(declared: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """One value of a column as JSON: through the column type's own binding first."""
    if isinstance(declared, TypeDecorator) and \
            type(declared).process_bind_param is not TypeDecorator.process_bind_param:
        process = declared.process_bind_param

        def convert(value: Any) -> Any:
            value = process(value, dialect)
            return value.isoformat() if isinstance(value, datetime) else value

        return convert
    return lambda v: v.isoformat() if isinstance(v, datetime) else v
