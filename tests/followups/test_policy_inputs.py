"""The contact-policy API (opt-outs, holds, check/record contact) under bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.errors import ValidationError
from aftersales.followups.contact_policy import Verdict
from aftersales.store.tables.followups import ContactHoldRow, ContactLogRow, OptOutRow

BAD: list[tuple[Any, str]] = [
    (lambda f: f.opt_out("b1", "bogus"), "scope"),
    (lambda f: f.opt_out("", "*"), "buyer_id"),
    (lambda f: f.opt_out(None, "*"), "buyer_id"),
    (lambda f: f.opt_in("b1", "bogus"), "scope"),
    (lambda f: f.hold("b1", "bogus", "r1"), "kind"),
    (lambda f: f.hold("b1", "return", ""), "ref"),
    (lambda f: f.hold(" ", "return", "r1"), "buyer_id"),
    (lambda f: f.resolve_hold("b1", "bogus"), "kind"),
    (lambda f: f.check_contact("b1", "bogus"), "kind"),
    (lambda f: f.record_contact("b1", "bogus", key="k"), "kind"),
    (lambda f: f.record_contact("b1", "follow_up", key="k" * 201), "key"),
    (lambda f: f.record_contact("b1", "follow_up", key=""), "key"),
    (lambda f: f.list(status="bogus"), "status"),
]


@pytest.mark.parametrize(("call", "field"), BAD)
def test_bad_input_is_refused_by_field_and_writes_nothing(app: Any, call: Any,
                                                          field: str) -> None:
    # These raised a bare ValueError or AttributeError ('str' object has no
    # attribute 'value'), a StorageError (a None buyer), or were accepted (a
    # blank buyer opted out; a key longer than the contact log's column).
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        call(app.followups)
    with app.store.session() as s:
        for table in (OptOutRow, ContactHoldRow, ContactLogRow):
            assert s.scalar(select(func.count()).select_from(table)) == 0


def test_kinds_may_be_given_by_their_names(app: Any) -> None:
    f = app.followups
    f.hold("b1", "return", "r1")
    assert f.check_contact("b1", "review_request").verdict is Verdict.DEFER
    assert f.resolve_hold("b1", "return") == 1
    assert f.record_contact("b1", "follow_up", key="k1").allowed
    f.opt_out("b2", "review_request")
    assert f.check_contact("b2", "review_request").verdict is Verdict.REFUSE
