"""SF Express and ZTO parcels are asked with the buyer's phone suffix; no other carrier's are.

Kuaidi100 shows an SF or ZTO waybill's scans only with the last four digits
of the sender's or recipient's phone (its ``phone`` parameter is required for
顺丰速运 and 中通快递, answer 408 without it): a refresh that never sent it
could not track those parcels there.
The suffix comes from the parcel's stored order, and goes only with the
carriers that check it (:data:`aftersales.logistics.service.PHONE_CHECKED`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import responses
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings

from aftersales.models import (
    Buyer,
    Order,
    OrderLine,
    ParcelStatus,
    Shipment,
    TrackQuery,
    TrackResult,
)
from aftersales.money import Money
from aftersales.store.orders import upsert_orders

from .conftest import ScriptedCarrier


class Recording(ScriptedCarrier):
    """Records each query's number, carrier and phone suffix."""

    def __init__(self) -> None:
        super().__init__("recording")
        self.queries: list[tuple[str, str | None, str | None]] = []

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        self.queries += [(q.number, q.carrier, q.phone_suffix) for q in queries]
        return super().track(queries)


def _order(app: Any, external_id: str, phone: str | None,
           parcels: Sequence[tuple[str, str]]) -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    order = Order(
        marketplace="sandbox", external_id=external_id, currency="CNY",
        buyer=Buyer(external_id=f"b-{external_id}", name="王小明", phone=phone),
        lines=[OrderLine(external_id="l-1", sku="TEE", quantity=1,
                         unit_price=Money(Decimal("10"), "CNY"))],
        shipping=Money(Decimal("0"), "CNY"), discount=Money(Decimal("0"), "CNY"),
        total=Money(Decimal("10"), "CNY"), placed_at=at, updated_at=at,
        shipments=[Shipment(tracking_number=n, carrier=c) for n, c in parcels])
    with app.store.session() as session:
        upsert_orders(session, [order])


def test_only_sf_and_zto_parcels_are_asked_with_the_phone_suffix(make_app: Any) -> None:
    provider = Recording()
    app = make_app(provider)
    _order(app, "o-1", "+86 138-1234-5678", [("SF1234567890123", "sf"),
                                             ("YT9693083639795", "yto"),
                                             ("73100012345678", "zto")])
    _order(app, "o-2", "138****4321", [("SF1234567890124", "sf")])  # masked by the platform
    _order(app, "o-3", None, [("SF1234567890125", "sf")])
    assert app.logistics.refresh().checked == 5
    assert sorted(provider.queries) == [
        ("73100012345678", "zto", "5678"), ("SF1234567890123", "sf", "5678"), ("SF1234567890124", "sf", "4321"),
        ("SF1234567890125", "sf", None), ("YT9693083639795", "yto", None)]


def test_a_look_up_of_a_stored_sf_parcel_sends_the_suffix_to_kuaidi100(make_app: Any) -> None:
    carrier = Kuaidi100Carrier(Kuaidi100Settings(
        key="AbCdEf123456", customer="0123456789ABCDEF0123456789ABCDEF"))
    app = make_app(carrier)
    _order(app, "o-1", "13812345678", [("sf 1234 5678 90123", "sf")])
    sent: list[dict[str, Any]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        sent.append(json.loads(parse_qs(request.body)["param"][0]))
        return 200, {}, json.dumps({"message": "ok", "status": "200", "state": "0",
                                    "nu": "SF1234567890123", "com": "shunfeng", "data": []})

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, "https://poll.kuaidi100.com/poll/query.do",
                          callback=answer)
        tracking = app.logistics.track("SF1234567890123")
    assert tracking.status is not ParcelStatus.EXCEPTION
    assert [(p["com"], p["num"], p.get("phone")) for p in sent] == [
        ("shunfeng", "SF1234567890123", "5678")]
