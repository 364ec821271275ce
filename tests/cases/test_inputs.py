"""Text the cases tables cannot hold, refused by name the same way on both stores.

A NUL was stored on SQLite and failed as a StorageError on PostgreSQL; a
lone surrogate (not Unicode) raised a bare UnicodeEncodeError; a naive
``now`` failed the SLA tick as a StorageError. Each is now one
ValidationError naming the field, and nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from aftersales.app import AfterSales
from aftersales.cases.resolutions import Resolution
from aftersales.errors import ValidationError

BAD_TEXT = ("a\x00b", "a\udc80b")


def _case(app: AfterSales) -> int:
    case = app.cases.open(store="sandbox", buyer_id="b1", kind="complaint", subject="late")
    assert case.id is not None
    return case.id


CALLS: list[tuple[str, Any]] = [
    ("text", lambda app, cid, bad: app.cases.note(cid, f"hello {bad}")),
    ("note", lambda app, cid, bad: app.cases.investigate(cid, note=bad)),
    ("note", lambda app, cid, bad: app.cases.close(cid, note=bad)),
    ("note", lambda app, cid, bad: app.cases.set_cause(cid, "logistics.lost_parcel",
                                                       valid=True, note=bad)),
    ("note", lambda app, cid, bad: app.cases.propose(cid, Resolution("reship", note=bad))),
    ("text", lambda app, cid, bad: app.cases.receive_message(
        store="sandbox", buyer_id="b1", text=f"complaint {bad}", message_id="m1")),
    ("store", lambda app, cid, bad: app.cases.open(store=bad, buyer_id="b1",
                                                   kind="complaint", subject="x")),
    ("ref", lambda app, cid, bad: app.cases.link(cid, "return", bad)),
    ("buyer_id", lambda app, cid, bad: app.cases.list(buyer_id=bad)),
]


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["nul", "surrogate"])
@pytest.mark.parametrize(("field", "call"), CALLS)
def test_text_no_store_can_hold_is_refused_by_name(
    app: AfterSales, field: str, call: Any, bad: str
) -> None:
    cid = _case(app)
    before = [(e.reason, e.note) for e in app.cases.history(cid)]
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        call(app, cid, bad)
    assert [(e.reason, e.note) for e in app.cases.history(cid)] == before
    assert len(app.cases.list()) == 1


def test_a_naive_now_is_refused_by_name(app: AfterSales) -> None:
    _case(app)
    for run in (app.cases.tick, app.cases.run_sla):
        with pytest.raises(ValidationError, match="field 'now'"):
            run(datetime(2026, 3, 2, 12, 0))  # type: ignore[operator]


@pytest.mark.parametrize(("field", "call"), [
    ("limit", lambda app, cid: app.cases.list(limit="5")),  # a TypeError
    ("limit", lambda app, cid: app.cases.list(limit=True)),
    ("limit", lambda app, cid: app.cases.tick(limit="5")),  # a TypeError, logged as a failure
    ("limit", lambda app, cid: app.cases.run_sla(limit=0)),  # ran and did nothing
    ("limit", lambda app, cid: app.cases.catch_up(limit=-1)),
    ("reply", lambda app, cid: app.cases.note(cid, "not an answer", reply="no")),  # a reply
    ("valid", lambda app, cid: app.cases.set_cause(cid, "logistics.lost_parcel",
                                                   valid="no")),
])
def test_a_limit_or_flag_of_the_wrong_type_is_refused_by_name(
        app: AfterSales, field: str, call: Any) -> None:
    cid = _case(app)
    before = [(e.reason, e.note) for e in app.cases.history(cid)]
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        call(app, cid)
    assert [(e.reason, e.note) for e in app.cases.history(cid)] == before
    assert app.cases.get(cid).first_response_at is None
