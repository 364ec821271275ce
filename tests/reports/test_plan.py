"""A report reads the rows of its window through an index, not the whole table.

A shop keeps years of orders, parcels, reviews, follow-ups and cases; a
report of one month must not read them all. On SQLite every statement the
reports run is explained (``EXPLAIN QUERY PLAN``): none may scan a whole
table that a window column filters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from aftersales.app import AfterSales

#: The tables a report filters by a time window, and that grow with the shop.
WINDOWED = ("orders", "cases", "follow_ups", "reviews", "shipments")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AfterSales]:
    with AfterSales(f"sqlite:///{tmp_path}/plan.db", marketplaces=[], carriers=[],
                    channels=["outbox"]) as instance:  # migrated: the migrations' indexes
        yield instance


@pytest.mark.parametrize("section", ["returns", "cases", "logistics", "reviews", "followups"])
def test_no_report_scans_a_whole_windowed_table(app: AfterSales, tmp_path: Path,
                                                section: str) -> None:
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((sql, params))

    event.listen(app.store.engine, "before_cursor_execute", seen)
    try:
        app.reports.section(section, since=datetime(2026, 1, 1, tzinfo=UTC),
                            until=datetime(2026, 2, 1, tzinfo=UTC), by="week")
    finally:
        event.remove(app.store.engine, "before_cursor_execute", seen)
    assert statements
    scans = set()
    with sqlite3.connect(tmp_path / "plan.db") as db:
        for sql, params in statements:
            for row in db.execute("EXPLAIN QUERY PLAN " + sql, params):
                words = str(row[3]).split()
                if words[:1] == ["SCAN"] and words[1] in WINDOWED:
                    scans.add(str(row[3]))
    assert scans == set()
