"""The SLA tick: each warning and breach once, pauses while awaiting the customer, escalation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.cases import Resolution
from aftersales.store.tables.core import OutboxRow
from tests.cases.conftest import Clock, an_order, make_app

POLICY = """
clock = "calendar"
warn_ratio = 0.5
[targets."*"."*"]
first_response = "2h"
resolution = "10h"
[escalation]
assignees = { 1 = "lead", 2 = "manager" }
repeat_cases = 2
high_value = "100000"
"""


@pytest.fixture
def sla_app(db_url: str, clock: Clock) -> Iterator[AfterSales]:
    app = make_app(db_url, clock, cases={"policy": POLICY})
    yield app
    app.close()


def _count(app: AfterSales, name: str) -> int:
    with app.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxRow)
                                  .where(OutboxRow.event_type == name)) or 0)


def test_warning_then_breach_once_each_and_the_breach_escalates(
        sla_app: AfterSales, clock: Clock) -> None:
    order, buyer = an_order(sla_app)
    case = sla_app.cases.open(store="sandbox", buyer_id=buyer, order_id=order,
                              kind="complaint", key="k")
    clock.advance(minutes=59)
    assert sla_app.cases.run_sla().warned == 0
    clock.advance(minutes=1)  # 1h: half of the 2h first-response target
    assert sla_app.cases.run_sla().warned == 1
    assert sla_app.cases.run_sla().warned == 0
    clock.advance(minutes=60)  # 2h: breached, exactly at the boundary
    report = sla_app.cases.run_sla()
    assert (report.breached, report.escalated) == (1, 1)
    for _ in range(3):
        sla_app.cases.run_sla()
    assert _count(sla_app, "case.sla_warning") == 1
    assert _count(sla_app, "case.sla_breached") == 1
    got = sla_app.cases.get(case.id)
    assert got.escalation == 1
    assert got.assignee == "lead"
    assert [e.reason for e in sla_app.cases.history(case.id)].count("escalated to level 1") == 1
    with sla_app.store.session() as session:
        alerts = session.scalar(select(func.count()).select_from(OutboxRow)
                                .where(OutboxRow.topic == "alert"))
    assert alerts == 1


def test_the_clock_pauses_while_awaiting_the_customer(sla_app: AfterSales,
                                                      clock: Clock) -> None:
    order, buyer = an_order(sla_app)
    case = sla_app.cases.open(store="sandbox", buyer_id=buyer, order_id=order,
                              kind="complaint", key="k")
    sla_app.cases.investigate(case.id)  # first response met
    clock.advance(hours=4)
    sla_app.cases.propose(case.id, Resolution("explanation", note="sorry"))
    assert sla_app.cases.get(case.id).status.value == "awaiting_customer"
    clock.advance(hours=100)  # the buyer takes days to answer: no breach
    assert sla_app.cases.run_sla().breached == 0
    sla_app.cases.transition(case.id, "investigating", reason="buyer answered")
    resolution = next(d for d in sla_app.cases.get(case.id).deadlines
                      if d.metric == "resolution")
    assert resolution.elapsed_seconds == 4 * 3600
    assert resolution.due_at == clock.now + timedelta(hours=6)
    clock.advance(hours=6)
    assert sla_app.cases.run_sla().breached == 1


def test_a_repeat_complainant_is_escalated_on_opening(sla_app: AfterSales) -> None:
    order, buyer = an_order(sla_app)
    kinds = ["complaint", "inquiry", "logistics"]
    cases = [sla_app.cases.open(store="sandbox", buyer_id=buyer, order_id=order, kind=k,
                                key=f"k{n}") for n, k in enumerate(kinds)]
    assert [c.escalation for c in cases] == [0, 0, 1]
    assert cases[2].assignee == "lead"


def test_resolving_meets_the_deadline_and_nothing_fires_after(sla_app: AfterSales,
                                                              clock: Clock) -> None:
    order, buyer = an_order(sla_app)
    case = sla_app.cases.open(store="sandbox", buyer_id=buyer, order_id=order,
                              kind="inquiry", key="k")
    sla_app.cases.note(case.id, "answered on chat", reply=True)
    sla_app.cases.propose(case.id, Resolution("explanation"), notify=False)
    sla_app.cases.resolve(case.id)
    clock.advance(days=30)
    assert sla_app.cases.run_sla().checked == 0
    assert all(d.status == "met" for d in sla_app.cases.get(case.id).deadlines)


@pytest.mark.parametrize(("currency", "total", "escalated"), [
    ("JPY", "5000", 0),  # 2000 would have been high value in any currency
    ("JPY", "50000", 1),
    ("CNY", "2500.00", 1),
    ("CNY", "1999.99", 0),
    ("USD", "90000.00", 0),  # no threshold for USD: value never escalates it
])
def test_a_high_value_threshold_is_per_currency(db_url: str, clock: Clock, currency: str,
                                                total: str, escalated: int) -> None:
    """``high_value`` as a table of currencies: an order is compared only with the
    threshold of its own currency, never with a number in another one."""
    from aftersales.cases.states import CaseChannel, CaseKind, Priority
    from aftersales.cases.triggers import Opening
    from aftersales.store.tables.core import OrderRow

    policy = '[escalation]\nassignees = { 1 = "lead" }\nrepeat_cases = 9\n' \
             'high_value = { CNY = "2000", JPY = "40000" }\n'
    app = make_app(db_url, clock, cases={"policy": policy})
    try:
        with app.store.session() as session:
            session.add(OrderRow(marketplace="sandbox", external_id="big-1", buyer_id="vip",
                                 buyer={}, currency=currency, shipping=Decimal(0),
                                 discount=Decimal(0), total=Decimal(total),
                                 placed_at=clock.now, remote_updated_at=clock.now, version=1))
        case = app.cases.open(store="sandbox", buyer_id="vip", order_id="big-1",
                              kind="complaint")
        assert (case.currency, case.escalation) == (currency, escalated)
        # the set-based path (events, imports) reads the same rule
        app.cases.open_many([Opening(
            store="sandbox", buyer_id="vip2", order_id="big-2", kind=CaseKind.COMPLAINT,
            channel=CaseChannel.PHONE, priority=Priority.NORMAL, subject="", key="big-2",
            source="test", data={}, links=[], order_total=Decimal(total), currency=currency)])
        assert [c.escalation for c in app.cases.list(buyer_id="vip2")] == [escalated]
    finally:
        app.close()


def test_a_high_value_table_names_currencies() -> None:
    from aftersales.cases.policy import load_policy
    from aftersales.errors import ValidationError

    for bad in ('{ yen = "40000" }', '{ JPY = "-1" }', '{ JPY = "abc" }'):
        with pytest.raises(ValidationError, match="high_value"):
            load_policy(f"[escalation]\nhigh_value = {bad}\n")
    plain = load_policy('[escalation]\nhigh_value = "2000"\n').escalation
    assert plain.is_high_value(Decimal("2000"), "CNY")  # one amount: every currency, as before
    assert not plain.is_high_value(None, "CNY")
