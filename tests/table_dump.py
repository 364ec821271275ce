"""Tables as plain rows, to compare what two write paths stored (the set-based and the per-row)."""

from __future__ import annotations

import json
from collections.abc import Container, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from aftersales.app import AfterSales

Rows = dict[str, list[dict[str, Any]]]


def plain(value: Any) -> Any:
    """A stored value in a form that compares across databases.

    Times as UTC ISO text, Decimals as their stored text ("5.0" and "5.00"
    differ), JSON with sorted keys.
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def dump_tables(app: AfterSales, tables: Iterable[Any],
                skip: Container[str | tuple[str, str]]) -> Rows:
    """Every row of ``tables`` in key order, without the columns ``skip`` names
    (a column name, or a (table, column) pair): the store's wall-clock stamps."""
    out: Rows = {}
    with app.store.session() as s:
        for t in tables:
            rows = s.execute(select(t).order_by(*t.primary_key.columns)).mappings()
            out[t.name] = [{k: plain(v) for k, v in r.items()
                            if k not in skip and (t.name, k) not in skip} for r in rows]
    return out
