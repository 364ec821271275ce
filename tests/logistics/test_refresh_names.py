"""A refresh masks the names of the parcels' buyers in every log line and reason.

A provider's failure may quote the parcel's recipient ("package of Alice
Wong refused at the door"), which no pattern can tell from other words; the
buyer's name, known from the parcel's stored order, is masked wherever the
provider's words go (:func:`aftersales.redact.known_names`), and so are the
names the caller had in effect: the provider is called from the refresh's
worker threads, which run in a copy of the caller's context.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.errors import RemoteRejectedError
from aftersales.models import Buyer, Order, OrderLine, Shipment, TrackQuery, TrackResult
from aftersales.money import Money
from aftersales.redact import RedactingFilter, known_names
from aftersales.store.orders import upsert_orders
from aftersales.store.tables.core import OrderRow

from .conftest import ScriptedCarrier, numbers

BUYER = "Alice Wongsakul"
CALLER_KNOWS = "Zhang Weiming"
provider_log = logging.getLogger("aftersales.test.echoing_provider")


class Echoing(ScriptedCarrier):
    """A provider that logs, at DEBUG, and fails with, text naming the recipients."""

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        provider_log.debug("answer: parcel for %s (and %s) refused", BUYER, CALLER_KNOWS)
        raise RemoteRejectedError(f"door: {BUYER} refused it, then {CALLER_KNOWS}",
                                  adapter=self.name)


def _order_with_parcel(app: Any, number: str) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    order = Order(
        marketplace="sandbox", external_id="o-1", currency="CNY",
        buyer=Buyer(external_id="b-1", name=BUYER),
        lines=[OrderLine(external_id="l-1", sku="TEE", quantity=1,
                         unit_price=Money(Decimal("10"), "CNY"))],
        shipping=Money(Decimal("0"), "CNY"), discount=Money(Decimal("0"), "CNY"),
        total=Money(Decimal("10"), "CNY"), placed_at=at, updated_at=at,
        shipments=[Shipment(tracking_number=number, carrier="sf")])
    with app.store.session() as session:
        upsert_orders(session, [order])


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Any:
    masking = RedactingFilter()
    caplog.handler.addFilter(masking)
    with caplog.at_level(logging.DEBUG):
        yield caplog
    caplog.handler.removeFilter(masking)


def test_worker_threads_mask_the_buyer_and_the_callers_names(db_url: str, clock: Any,
                                                             records: Any) -> None:
    app = AfterSales(db_url, marketplaces=[], carriers=[Echoing("echo")], clock=clock)
    [number] = numbers(1)
    try:
        _order_with_parcel(app, number)
        with known_names(CALLER_KNOWS):
            report = app.logistics.refresh()
    finally:
        app.close()
    assert report.failed == 1
    logged = [r.getMessage() for r in records.records if r.name == provider_log.name]
    assert logged
    assert all("refused" in line for line in logged)  # the line itself is kept
    shown = " ".join(logged) + repr(report.reasons) + repr(report.unresolved)
    for name in (BUYER, "Wongsakul", CALLER_KNOWS):
        assert name not in shown


def test_a_look_up_masks_the_buyer_of_the_stored_parcel(make_app: Any, records: Any) -> None:
    app = make_app(Echoing("echo"))
    [number] = numbers(1)
    _order_with_parcel(app, number)
    with pytest.raises(RemoteRejectedError) as info:
        app.logistics.track(number)
    logged = " ".join(r.getMessage() for r in records.records if r.name == provider_log.name)
    assert "refused" in logged
    for text in (logged, str(info.value)):
        assert BUYER not in text
        assert "Wongsakul" not in text


def test_a_name_longer_than_any_persons_is_not_handed_on_for_masking(make_app: Any) -> None:
    # Masking text by each word of a 170,000-character "name" took seconds of CPU
    # per log line; a checkout can send one. A real name is kept.
    from aftersales.store.orders import MAX_MASKED_NAME, buyer_contacts_by_order

    app = make_app(Echoing("echo"))
    _order_with_parcel(app, numbers(1)[0])
    huge = " ".join(f"Wxy{i}" for i in range(20000))
    with app.store.session() as session:
        [order_id] = [row.id for row in session.scalars(select(OrderRow))]
        assert buyer_contacts_by_order(session, [order_id])[order_id].names == (BUYER,)
        row = session.get(OrderRow, order_id)
        assert row is not None
        row.buyer = {**row.buyer, "name": huge, "phone": "13812345678"}
    with app.store.session() as session:
        contact = buyer_contacts_by_order(session, [order_id])[order_id]
    assert contact.names == ()
    assert contact.phone_suffix == "5678"
    assert len(BUYER) <= MAX_MASKED_NAME < len(huge)
