"""Hold events with values the contact tables cannot hold: skipped per event, one line each."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.store.tables.followups import ContactHoldRow

LONG_BUYER = "buyer-" + "x" * 294  # 300 characters: the column holds 120


def _emit(app: Any, events: list[tuple[str, dict[str, Any], str]]) -> None:
    with app.store.session() as s:
        for name, payload, key in events:
            app.events.emit(s, name, payload, key=key)


def _holds(app: Any) -> list[tuple[str, str, bool]]:
    with app.store.session() as s:
        return [(r.buyer_id, r.ref, r.resolved_at is None)
                for r in s.scalars(select(ContactHoldRow).order_by(ContactHoldRow.id))]


def _check_skipped(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        _emit(app, [
            ("return.requested", {"buyer_id": LONG_BUYER, "rma_id": "R1"}, "rr:long"),
            ("return.requested", {"buyer_id": "b2", "rma_id": "R" * 300}, "rr:longref"),
            ("return.requested", {"buyer_id": "b1", "rma_id": "R2"}, "rr:b1"),
        ])
        _emit(app, [("return.closed", {"buyer_id": LONG_BUYER, "rma_id": "R1"}, "rc:long")])
    # the good event of the same commit opened its hold; the others wrote nothing
    assert _holds(app) == [("b1", "R2", True)]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3, warnings
    for line in warnings:
        assert "\n" not in line
        assert "return." in line  # names the event
        assert "x" * 20 not in line  # never the value
        assert "R" * 20 not in line
    assert "'buyer_id'" in warnings[0]
    assert "'ref'" in warnings[1]


def test_a_too_long_buyer_or_ref_skips_its_hold_event_on_sqlite(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _check_skipped(app, caplog)


@pytest.mark.postgres
def test_a_too_long_buyer_or_ref_skips_its_hold_event_on_postgresql(
    make_app: Any, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _check_skipped(make_app(pg_url), caplog)


@pytest.mark.parametrize("order_id", ["A\x00B", "A\udc80", "A" * 300])
def test_an_unreadable_order_id_skips_its_event_on_one_line(
    app: Any, caplog: pytest.LogCaptureFixture, order_id: str
) -> None:
    # With no buyer id the buyer is looked up by the order: a surrogate
    # failed the look-up with a traceback; a NUL or an id wider than any
    # order was looked up for nothing. (PostgreSQL's outbox cannot record
    # such an event at all: its emitter is refused first.)
    with caplog.at_level(logging.DEBUG):
        _emit(app, [("return.requested", {"marketplace": "shop", "order_id": order_id,
                                          "rma_id": "R1"}, "rr:bad"),
                    ("return.requested", {"buyer_id": "b1", "rma_id": "R2"}, "rr:b1")])
    assert _holds(app) == [("b1", "R2", True)]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "return.requested skipped: field 'order_id'" in line
