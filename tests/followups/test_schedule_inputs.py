"""Hostile input to schedule and schedule_many: one named error, nothing written, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from aftersales.errors import ValidationError
from aftersales.followups.plans import FollowUpPlan

PLAN = FollowUpPlan(name="ask", channel="outbox", body="Dear {buyer.name}")

BAD: list[tuple[dict[str, Any], str]] = [
    ({"buyer_id": ""}, "buyer_id"),
    ({"buyer_id": 123}, "buyer_id"),
    ({"buyer_id": "b\x00"}, "buyer_id"),
    ({"buyer_id": "b\udc80"}, "buyer_id"),
    ({"buyer_id": "b" * 121}, "buyer_id"),
    ({"order_id": "o" * 121, "marketplace": "shop"}, "order_id"),
    ({"marketplace": "m" * 41}, "marketplace"),
    ({"rma_id": "r" * 41}, "rma_id"),
    ({"key": "k" * 201}, "key"),
    ({"context": [1, 2]}, "context"),
    ({"context": {"buyer": {"name": "a\udc80"}}}, "context.buyer.name"),
    ({"context": {"buyer": {"name": "a\x00b"}}}, "context.buyer.name"),
    ({"context": {"x": {1, 2}}}, "context.x"),
    ({"context": {"x": object()}}, "context.x"),
    ({"context": {"x": float("nan")}}, "context.x"),
    ({"context": {"x": datetime(2024, 1, 1)}}, "context.x"),
    ({"context": {"items": [{"sku": "a"}, {"sku": b"raw"}]}}, "context.items.1.sku"),
    ({"context": {1: "x"}}, "context"),
    # no size limit: a megabyte of context was stored and read again every tick
    ({"context": {"note": "x" * 16_400}}, "context"),
    ({"context": {"items": [{"sku": "é" * 9_000}]}}, "context"),  # 18 000 bytes of UTF-8
]


@pytest.mark.parametrize(("given", "field"), BAD)
def test_schedule_refuses_by_field_and_writes_nothing(
    make_app: Any, db_url: str, given: dict[str, Any], field: str
) -> None:
    # These were accepted (an empty buyer, a NUL, a lone surrogate on SQLite,
    # over-long ids SQLite does not check), failed as a StorageError after
    # the work began (a Decimal, a set: "not JSON serializable"; the lengths
    # on PostgreSQL), or raised a bare UnicodeEncodeError, AttributeError or
    # pydantic error (an int buyer id, after its row was written).
    app = make_app(db_url)
    app.followups.register(PLAN)
    args: dict[str, Any] = {"buyer_id": "b1", "key": "k1", **given}
    with pytest.raises(ValidationError, match=f"field '{field}'"):
        app.followups.schedule("ask", **args)
    with pytest.raises(ValidationError, match=f"row 2, field '{field}'"):
        app.followups.schedule_many("ask", [{"buyer_id": "b0", "key": "k0"}, args])
    assert app.followups.list() == []


def test_a_context_just_under_the_size_bound_is_kept(app: Any) -> None:
    app.followups.register(PLAN)
    note = "x" * (16 * 1024 - len('{"note":""}'))
    fu = app.followups.schedule("ask", buyer_id="b1", context={"note": note})
    assert fu.context["note"] == note


def test_decimal_and_aware_times_in_context_are_kept_as_text(make_app: Any,
                                                             db_url: str) -> None:
    # Money is Decimal everywhere in the library; a shop passing an order's
    # total as one must not meet "Object of type Decimal is not JSON serializable".
    app = make_app(db_url)
    app.followups.register(PLAN)
    at = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    fu = app.followups.schedule("ask", buyer_id="b1", key="k1", context={
        "order": {"total": Decimal("12.50"), "delivered_at": at}})
    assert fu.context["order"] == {"total": "12.50", "delivered_at": at.isoformat()}


def test_a_buyer_zone_that_is_not_a_name_falls_back_to_the_shop_clock(
    app: Any, clock: Any
) -> None:
    # A number as the buyer's time zone raised TypeError from ZoneInfo inside
    # dispatch_due, leaving the claimed batch leased and failing every tick.
    app.followups.register(PLAN)
    fid = app.followups.schedule("ask", buyer_id="b1", due_at=clock.now,
                                 context={"buyer": {"name": "Li", "timezone": 5}}).id
    report = app.followups.dispatch_due()
    assert (report.claimed, report.sent) == (1, 1)
    assert app.followups.get(fid).status.value == "sent"


def test_an_event_with_numeric_ids_schedules_with_text_ids(app: Any) -> None:
    # A shop's own event (JSON) carrying order 1001 as a number: the trigger
    # hook wrote the number and then failed building the model (SQLite), or
    # was refused as not text; the ids are text on the follow-up.
    app.followups.register(PLAN.model_copy(update={"trigger": "shop.delivered"}))
    with app.runtime.unit_of_work() as session:
        app.runtime.events.emit(session, "shop.delivered",
                                {"buyer_id": 77, "order_id": 1001, "marketplace": "shop"},
                                key="e1")
    (fu,) = app.followups.list()
    assert (fu.buyer_id, fu.order_id, fu.marketplace) == ("77", "1001", "shop")


def test_a_trigger_event_with_a_long_text_schedules_with_the_text_cut(
    app: Any, caplog: Any
) -> None:
    # A delivery event carrying 20 000 characters of note still schedules
    # its follow-up (the note cut), and one whose buyer id is too long is
    # skipped on one warning line instead of a traceback.
    import logging

    app.followups.register(FollowUpPlan(name="thanks", trigger="shop.delivered",
                                        channel="outbox", body="Thanks"))
    with caplog.at_level(logging.DEBUG), app.store.session() as session:
        app.runtime.events.emit(session, "shop.delivered",
                                {"buyer_id": "b1", "note": "n" * 20_000}, key="d:1")
        app.runtime.events.emit(session, "shop.delivered",
                                {"buyer_id": "b" * 300}, key="d:2")
    (fu,) = app.followups.list()
    assert fu.context["event"]["note"] == "n" * 1000
    assert not [r for r in caplog.records if r.exc_info]
    (line,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "shop.delivered skipped: field 'buyer_id'" in line
