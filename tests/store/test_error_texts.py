"""A failed write's error names what failed, never the row's values.

A statement that fails carries its parameters (a buyer's name, phone,
address), and PostgreSQL's DETAIL line repeats the failing row; neither may
reach the error text, its SQLAlchemy cause or a log line.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from aftersales.errors import StorageError
from aftersales.store import Base, Store
from aftersales.store.tables.core import AuditRow

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
BUYER = "张小凡"
STREET = "幸福路88号3栋502室"
NOTE = f"{BUYER} {STREET}"


@pytest.fixture
def store(db_url: str) -> Store:
    store = Store(db_url)
    Base.metadata.create_all(store.engine)
    return store


def _whole_story(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_a_refused_row_is_not_quoted_in_the_error_or_its_cause(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StorageError, match="integrity error") as info, \
            store.session() as session:
        session.add(AuditRow(entity="review", entity_id="r-1", actor=None, at=T0, note=NOTE))
        session.flush()
    story = _whole_story(info.value)
    assert BUYER not in story
    assert "幸福路" not in story
    assert BUYER not in caplog.text
    assert "\n" not in str(info.value)


def test_a_failed_statement_is_not_quoted_either(store: Store) -> None:
    with pytest.raises(StorageError, match="database error") as info, \
            store.session() as session:
        session.execute(text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": NOTE})
    story = _whole_story(info.value)
    assert BUYER not in story
    assert "幸福路" not in story
    assert "no_such_table" in str(info.value)  # what failed is still said
