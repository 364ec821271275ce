"""Contact caps count per store: the same buyer id in two stores is capped in each on its own."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from aftersales.followups.contact_policy import MessageKind, Verdict
from aftersales.followups.plans import FollowUpPlan
from aftersales.store.tables.core import OutboxRow
from aftersales.store.tables.followups import ContactLogRow

#: Outbox plans are dispatched in batches; recorder plans one by one.
BATCHED = FollowUpPlan(name="batched", channel="outbox", body="Hi {buyer.name}")
SINGLE = FollowUpPlan(name="single", channel="recorder", body="Hi {buyer.name}")


@pytest.mark.parametrize("plan", [BATCHED, SINGLE], ids=["batch", "one-by-one"])
def test_the_same_buyer_id_in_two_stores_has_two_caps(app: Any, clock: Any,
                                                      plan: FollowUpPlan) -> None:
    app.followups.register(plan)
    ctx = {"buyer": {"name": "Li"}}
    made = {store: app.followups.schedule(plan.name, buyer_id="b1", marketplace=store,
                                          context=ctx, due_at=clock.now, key=f"{store}:1")
            for store in ("north", "south")}
    extra = app.followups.schedule(plan.name, buyer_id="b1", marketplace="north", context=ctx,
                                   due_at=clock.now, key="north:2")
    report = app.followups.dispatch_due()
    assert (report.sent, report.deferred) == (2, 1)
    assert {app.followups.get(f.id).status.value for f in made.values()} == {"sent"}
    assert app.followups.get(extra.id).last_error == "frequency cap reached"
    with app.store.session() as s:
        stores = sorted(s.scalars(select(ContactLogRow.store)))
    assert stores == ["north", "south"]
    # Each store's cap is used up, and a check without a store sees them all.
    for store in ("north", "south", None):
        decision = app.followups.check_contact("b1", MessageKind.FOLLOW_UP, store=store)
        assert decision.verdict is Verdict.DEFER
    assert app.followups.check_contact("b1", MessageKind.FOLLOW_UP,
                                       store="east").verdict is Verdict.SEND
    clock.advance(days=1)
    assert app.followups.dispatch_due().sent == 1


def test_a_contact_recorded_for_no_store_counts_in_every_store(app: Any, clock: Any) -> None:
    app.followups.register(SINGLE)
    assert app.followups.record_contact("b1", MessageKind.FOLLOW_UP, key="k0").allowed
    for store in ("north", "south"):
        app.followups.schedule("single", buyer_id="b1", marketplace=store,
                               context={"buyer": {"name": "Li"}}, due_at=clock.now)
    assert app.followups.dispatch_due().sent == 0
    assert app.followups.record_contact("b2", MessageKind.FOLLOW_UP, key="k1",
                                        store="north").allowed
    assert app.followups.check_contact("b2", MessageKind.FOLLOW_UP,
                                       store="south").verdict is Verdict.SEND
    clock.advance(days=1, hours=1)
    assert app.followups.dispatch_due().sent == 2


def test_a_follow_up_message_in_the_outbox_names_its_store(app: Any, clock: Any) -> None:
    app.followups.register(BATCHED)
    for store in ("north", None):
        app.followups.schedule("batched", buyer_id=f"b-{store}", marketplace=store,
                               context={"buyer": {"name": "Li"}}, due_at=clock.now)
    assert app.followups.dispatch_due().sent == 2
    with app.store.session() as s:
        rows = s.execute(select(OutboxRow.aggregate_id, OutboxRow.store)
                         .where(OutboxRow.topic == "message")).all()
    assert sorted(rows, key=repr) == sorted([("b-north", "north"), ("b-None", None)], key=repr)
