"""A NUL character in stored text: kept on SQLite, U+FFFD on PostgreSQL, never a failed write."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aftersales.store import Base, Store
from aftersales.store.nul import NUL_STAND_IN, nul_free_json
from aftersales.store.tables.core import AuditRow
from aftersales.store.upsert import upsert_rows

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
HOSTILE = "坏\x00了 \\u0000 end\x00"


@pytest.fixture
def store(db_url: str) -> Store:
    store = Store(db_url)
    Base.metadata.create_all(store.engine)
    return store


def _expected(store: Store) -> str:
    if store.dialect == "postgresql":
        return HOSTILE.replace("\x00", NUL_STAND_IN)
    return HOSTILE


def test_text_and_json_with_a_nul_are_stored_through_the_orm(store: Store) -> None:
    with store.session() as session:
        session.add(AuditRow(entity="review", entity_id="r-1", actor="sync", at=T0,
                             note=HOSTILE, data={"text": HOSTILE, "list": [HOSTILE]}))
    with store.session() as session:
        row = session.scalars(select(AuditRow)).one()
    assert row.note == _expected(store)
    assert row.data == {"text": _expected(store), "list": [_expected(store)]}


def test_a_page_with_a_nul_is_stored_by_the_set_based_writer(store: Store) -> None:
    table = AuditRow.__table__
    rows = [{"entity": "review", "entity_id": f"r-{i}", "actor": "sync", "at": T0,
             "note": HOSTILE, "data": {"text": HOSTILE}} for i in range(3)]
    with store.session() as session:
        upsert_rows(session, table, rows)  # type: ignore[arg-type]
    with store.session() as session:
        stored = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
    assert [(r.note, r.data) for r in stored] == [
        (_expected(store), {"text": _expected(store)})] * 3


def test_only_escaped_nuls_change_in_json_text() -> None:
    text = json.dumps(["a\x00", "\\u0000", "\\\x00", "plain"])
    assert json.loads(nul_free_json(text)) == ["a\ufffd", "\\u0000", "\\\ufffd", "plain"]
