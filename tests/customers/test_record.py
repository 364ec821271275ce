"""app.customers.get: every area in one view, money per currency, bounded queries, masked data."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.customers.repository import QUERIES
from aftersales.errors import NotFoundError, ValidationError
from aftersales.store.tables.core import OrderRow
from aftersales.store.tables.followups import (
    ContactHoldRow,
    ContactLogRow,
    FollowUpRow,
    OptOutRow,
)
from aftersales.store.tables.returns import RefundRow, ReturnLineRow, ReturnRow
from aftersales.store.tables.reviews import ReviewRow

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PHONE = "13812345678"
EMAIL = "zhang.wei@example.com"
NAME = "张伟"


@pytest.fixture
def app(db_url: str) -> Iterator[AfterSales]:
    with AfterSales(db_url, marketplaces=[], carriers=[], clock=lambda: NOW) as instance:
        yield instance


def _history(app: AfterSales, buyer: str, orders: int, *, store: str = "tmall",
             currency: str = "CNY", start: int = 0) -> None:
    """``orders`` orders; every other one returned (no reason) and refunded, each reviewed."""
    with app.store.session() as s:
        for n in range(start, start + orders):
            order_id = f"{store}-{buyer}-{n}"
            placed = NOW - timedelta(days=n + 1)
            s.add(OrderRow(marketplace=store, external_id=order_id, buyer_id=buyer,
                           buyer={"external_id": buyer, "name": NAME, "phone": PHONE,
                                  "email": EMAIL, "address": "上海市浦东新区1号"},
                           currency=currency, shipping=Decimal("0"), discount=Decimal("0"),
                           total=Decimal("100.00"), raw_status="TRADE_FINISHED", placed_at=placed,
                           remote_updated_at=placed))
            s.add(ReviewRow(marketplace=store, external_id=f"rv-{order_id}", rating=2 + n % 3,
                            body="一般", order_external_id=order_id, remote_created_at=placed,
                            remote_updated_at=placed, topics=[], complaints=[]))
            if n % 2 == 0:
                rma = f"RMA-{order_id}"
                s.add(ReturnRow(rma_id=rma, marketplace=store, order_external_id=order_id,
                                buyer_id=buyer, kind="return", status="refunded",
                                currency=currency, requested_amount=Decimal("100.00"),
                                lines=[ReturnLineRow(order_line_external_id="l1", quantity=1,
                                                     reason="no_reason",
                                                     inspection=["resellable"])]))
                s.flush()  # the refund's foreign key needs the request first
                s.add(RefundRow(rma_id=rma, order_external_id=order_id, marketplace=store,
                                currency=currency, amount=Decimal("100.00"), breakdown={},
                                idempotency_key=f"k-{rma}", status="paid", created_at=placed))


def _contact_state(app: AfterSales, buyer: str) -> None:
    with app.store.session() as s:
        s.add(FollowUpRow(plan="satisfaction", channel="outbox", buyer_id=buyer,
                          marketplace="tmall", order_external_id=f"tmall-{buyer}-0", due_at=NOW,
                          status="responded", idempotency_key=f"fu-{buyer}", csat=4))
        s.add(ContactLogRow(key=f"c-{buyer}", buyer_id=buyer, sent_at=NOW, kind="follow_up",
                            channel="outbox", source="satisfaction"))
        s.add(ContactHoldRow(buyer_id=buyer, kind="complaint", ref="C-1", opened_at=NOW))
        s.add(OptOutRow(buyer_id=buyer, scope="marketing", created_at=NOW))


def test_the_record_holds_every_area_with_money_per_currency(app: AfterSales) -> None:
    _history(app, "b1", 4)
    _history(app, "b1", 2, store="amazon-us", currency="USD")
    _history(app, "someone-else", 3)
    _contact_state(app, "b1")
    case = app.cases.open(store="tmall", buyer_id="b1", kind="complaint", order_id="tmall-b1-0")
    app.cases.open(store="tmall", buyer_id="someone-else", kind="complaint")
    record = app.customers.get("b1")
    assert [c.id for c in record.cases] == [case.id]
    assert len(record.orders) == 6
    assert len(record.returns) == 3
    assert len(record.refunds) == 3
    assert len(record.reviews) == 6
    assert len(record.follow_ups) == len(record.contacts) == 1
    assert {h.ref for h in record.holds} == {"C-1", f"case:{case.id}"}  # the case holds contact
    assert [o.scope for o in record.opt_outs] == ["marketing"]
    life = record.lifetime
    assert life.spent == {"CNY": Decimal("400.00"), "USD": Decimal("200.00")}
    assert life.refunded == {"CNY": Decimal("200.00"), "USD": Decimal("100.00")}
    assert life.net == {"CNY": Decimal("200.00"), "USD": Decimal("100.00")}
    assert life.average_csat == Decimal("4.00")
    assert record.orders[0].placed_at > record.orders[-1].placed_at  # newest first
    # 3 of 6 orders returned for the buyer's own reason, half the money back.
    assert record.returner.inputs["return_rate"] == "0.5000"
    assert record.returner.points == 80
    assert record.returner.level == "high"
    only_us = app.customers.get("b1", store="amazon-us")
    assert {o.store for o in only_us.orders} == {"amazon-us"}
    assert only_us.lifetime.spent == {"USD": Decimal("200.00")}


def test_unknown_and_bad_buyer_ids(app: AfterSales) -> None:
    with pytest.raises(NotFoundError):
        app.customers.get("nobody")
    for bad in ("", " ", "x" * 121):
        with pytest.raises(ValidationError):
            app.customers.get(bad)


@pytest.mark.parametrize(("buyer", "store", "field"), [
    ("b\ud800", None, "buyer_id"),  # a bare UnicodeEncodeError
    ("b\x00", None, "buyer_id"),
    (5, None, "buyer_id"),  # a TypeError
    ("b1", "shop\ud800", "store"),  # a bare UnicodeEncodeError
    ("b1", "shop\x00", "store"),  # a record for a store no column can hold
    ("b1", 5, "store"),  # pydantic's many-line error
])
def test_a_buyer_or_store_no_column_holds_is_refused_by_name(
        app: AfterSales, buyer: object, store: object, field: str) -> None:
    app.cases.open(store="shop", buyer_id="b1", kind="complaint")
    with pytest.raises(ValidationError, match=f"field '{field}'") as raised:
        app.customers.get(buyer, store=store)  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


def _statements(app: AfterSales, buyer: str) -> int:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(app.store.engine, "before_cursor_execute", count)
    try:
        app.customers.get(buyer)
    finally:
        event.remove(app.store.engine, "before_cursor_execute", count)
    return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])


def test_the_number_of_queries_does_not_grow_with_the_history(app: AfterSales) -> None:
    _history(app, "small", 1)
    _history(app, "large", 60)
    _contact_state(app, "small")
    _contact_state(app, "large")
    for n in range(5):
        app.cases.open(store="tmall", buyer_id="large", kind="complaint", order_id=f"o{n}")
    assert _statements(app, "small") == _statements(app, "large") == QUERIES


def test_personal_data_stays_out_of_logs_reprs_and_the_command_line(
        app: AfterSales, caplog: pytest.LogCaptureFixture) -> None:
    _history(app, "b1", 3)
    with caplog.at_level(logging.DEBUG):
        record = app.customers.get("b1")
    assert record.buyer is not None
    assert record.buyer.phone == PHONE  # the backend gets the real details
    shown = caplog.text + repr(record) + str(record) + json.dumps(record.as_dict(), default=str)
    runner = CliRunner()
    for args in (["customers", "show", "b1"], ["--json", "customers", "show", "b1"]):
        result = runner.invoke(main, ["--database-url", app.store.url, *args])
        assert result.exit_code == 0, result.output
        shown += result.output
    for secret in (PHONE, EMAIL, NAME, "浦东"):
        assert secret not in shown
    assert "***5678" in shown


def test_the_command_line_refuses_an_unknown_buyer_in_one_line(app: AfterSales) -> None:
    result = CliRunner().invoke(main, ["--database-url", app.store.url, "customers", "show",
                                       "nobody"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
