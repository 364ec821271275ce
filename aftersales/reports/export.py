"""CSV and JSON export of report tables.

JSON keeps every stored and derived figure of every row; money is a string
(exact Decimal text), never a float. CSV writes one file per table, a header
row of column names and one line per row, in the same column order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from aftersales.atomic import write_whole
from aftersales.csv_cells import safe_cell
from aftersales.reports.rows import ReportTable

__all__ = ["to_json", "to_jsonable", "write_csv", "write_csv_files", "write_whole"]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_jsonable(tables: Iterable[ReportTable]) -> list[dict[str, Any]]:
    """Tables as JSON-ready dicts: ``{"name", "by", "columns", "rows": [{...}]}``."""
    return [{"name": t.name, "by": t.by, "columns": t.columns(),
             "rows": [{k: _plain(v) for k, v in row.items()} for row in t.as_dicts()]}
            for t in tables]


def to_json(tables: Iterable[ReportTable], *, indent: int | None = 2) -> str:
    """Tables as one JSON document (a list of tables)."""
    return json.dumps(to_jsonable(tables), ensure_ascii=False, indent=indent)


def write_csv(table: ReportTable, stream: IO[str]) -> None:
    """One table as CSV: a header of its columns, then its rows."""
    columns = table.columns()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in table.as_dicts():
        # Text cells (a SKU, a reason, a store name from a marketplace) that a
        # spreadsheet would run as a formula are written as text; numbers stay numbers.
        writer.writerow([safe_cell(row[c]) if isinstance(row[c], str)
                         else "" if row[c] is None else _plain(row[c]) for c in columns])


def write_csv_files(tables: Sequence[ReportTable], directory: Path, prefix: str) -> list[Path]:
    """Each table to ``directory/<prefix>-<table>.csv`` (UTF-8); returns the paths written.

    Each file is written whole (see :func:`aftersales.atomic.write_whole`): an interrupted run
    leaves the previous file or none, never half of one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tables:
        path = directory / f"{prefix}-{t.name}.csv"
        stream = io.StringIO(newline="")
        write_csv(t, stream)
        write_whole(path, stream.getvalue())
        paths.append(path)
    return paths
