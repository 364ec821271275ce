"""Reads, cancels, outcomes and opt-outs refuse what no store can hold, by name, on both stores.

A follow-up id past 2**63 - 1 raised a bare OverflowError; a lone surrogate
in a filter or an opt-out note a bare UnicodeEncodeError; a NUL in a cancel
reason or an opt-out note was kept on SQLite and failed on PostgreSQL; a
limit of -1 listed every follow-up on SQLite.
"""

from __future__ import annotations

from typing import Any

import pytest

from aftersales.errors import ValidationError
from aftersales.followups.plans import FollowUpPlan

CALLS: list[tuple[str, Any]] = [
    ("follow_up_id", lambda f, fid: f.get(2**63)),
    ("follow_up_id", lambda f, fid: f.get("1")),
    ("follow_up_id", lambda f, fid: f.cancel(2**70)),
    ("follow_up_id", lambda f, fid: f.record_outcome(-1, csat=3)),
    ("buyer_id", lambda f, fid: f.list(buyer_id="b\udc80")),
    ("buyer_id", lambda f, fid: f.list(buyer_id="b\x00")),
    ("plan", lambda f, fid: f.list(plan="p\udc80")),
    ("limit", lambda f, fid: f.list(limit=-1)),
    ("limit", lambda f, fid: f.list(limit=0)),
    ("reason", lambda f, fid: f.cancel(fid, reason="x\x00")),
    ("reason", lambda f, fid: f.cancel(fid, reason="x\udc80")),
    ("note", lambda f, fid: f.opt_out("b1", note="x\x00")),
    ("note", lambda f, fid: f.opt_out("b1", note="x\udc80")),
    ("store", lambda f, fid: f.record_contact("b1", "follow_up", key="k1", store="s\x00")),
    ("store", lambda f, fid: f.record_contact("b1", "follow_up", key="k1", store="s" * 81)),
    ("store", lambda f, fid: f.check_contact("b1", "follow_up", store="s\udc80")),
    ("channel", lambda f, fid: f.record_contact("b1", "follow_up", key="k1",
                                                channel="c" * 41)),
    ("source", lambda f, fid: f.record_contact("b1", "follow_up", key="k1",
                                               source="x\x00")),
    ("plan", lambda f, fid: f.metrics(plan="p\udc80")),
]


@pytest.mark.parametrize(("field", "call"), CALLS)
def test_refused_by_name_and_nothing_changes(
    make_app: Any, db_url: str, field: str, call: Any
) -> None:
    app = make_app(db_url)
    app.followups.register(FollowUpPlan(name="p", channel="outbox", body="hi"))
    fid = app.followups.schedule("p", buyer_id="b1").id
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        call(app.followups, fid)
    assert app.followups.get(fid).status.value == "scheduled"
    assert app.followups.check_contact("b1", "follow_up").allowed
