"""A parcel stored under a shop's spelling of its number is found by the carrier's spelling.

Shops type numbers as they read them off a label ("sf 1234-5678", "yt 9693
0836 39795"); providers push and answer the carrier's form ("SF12345678").
The store keeps each parcel's folded number (:func:`~aftersales.logistics.detect.number_key`)
beside the number as the shop wrote it, and pushes and look-ups match on the
folded one; the number shown stays the stored one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aftersales_aftership import AfterShipCarrier, AfterShipSettings
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings
from sqlalchemy import column, inspect, select, table

from aftersales.models import ParcelStatus
from aftersales.store.tables.core import ShipmentRow
from aftersales.store.types import UTCDateTime

from .conftest import ScriptedCarrier, add_parcels

ADAPTERS = Path(__file__).parents[1] / "adapters"


def _load(provider: str, name: str) -> Any:
    return json.loads((ADAPTERS / provider / "fixtures" / f"{name}.json").read_text("utf-8"))


def _compact(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _kuaidi100() -> tuple[Any, bytes, dict[str, str]]:
    carrier = Kuaidi100Carrier(Kuaidi100Settings(
        key="AbCdEf123456", customer="0123456789ABCDEF0123456789ABCDEF", salt="mysalt"))
    body = urlencode(_load("kuaidi100", "subscribe_push_callback_form")).encode()
    return carrier, body, {"Content-Type": "application/x-www-form-urlencoded"}


def _seventeentrack() -> tuple[Any, bytes, dict[str, str]]:
    carrier = SeventeenTrackCarrier(SeventeenTrackSettings(token="TESTSECURITYKEY"))
    body = _compact(_load("seventeentrack", "webhook_tracking_updated"))
    sign = _load("seventeentrack", "webhook_sign_vectors")["vectors"][1]["sign"]
    return carrier, body, {"Sign": sign, "Content-Type": "application/json"}


def _aftership() -> tuple[Any, bytes, dict[str, str]]:
    carrier = AfterShipCarrier(AfterShipSettings(api_key="asat_0123456789abcdef",
                                                 webhook_secret="testwebhooksecret"))
    body = _compact(_load("aftership", "webhook_tracking_update"))
    signature = _load("aftership", "webhook_signature_vectors")["vectors"][1]["signature"]
    return carrier, body, {"Aftership-Hmac-Sha256": signature}


#: Each provider's signed push fixture, and its number as a shop might have typed it.
PUSHES = {
    "kuaidi100": (_kuaidi100, "yt 9693-0836 39795", "yto", ParcelStatus.IN_TRANSIT),
    "seventeentrack": (_seventeentrack, "rr 123 456 789 cn", "chinapost",
                       ParcelStatus.DELIVERED),
    "aftership": (_aftership, "9400 1118 9922 3197 4284 90", "usps", ParcelStatus.DELIVERED),
}


@pytest.mark.parametrize("provider", sorted(PUSHES))
def test_a_push_finds_the_parcel_stored_with_spacing_dashes_and_lower_case(
    make_app: Any, provider: str
) -> None:
    build, stored, carrier_code, status = PUSHES[provider]
    carrier, body, headers = build()
    app = make_app(carrier)
    [parcel] = add_parcels(app, [stored], carrier=carrier_code)
    assert app.logistics.handle_push(provider, body, headers) == 1
    got = app.logistics.get(parcel)
    assert got.status is status
    assert got.tracking_number == stored  # shown as the shop wrote it


def test_a_look_up_by_the_carrier_spelling_finds_the_shop_spelling(make_app: Any) -> None:
    provider = ScriptedCarrier()
    app = make_app(provider)
    [parcel] = add_parcels(app, ["sf 1234-5678 9012"])
    tracking = app.logistics.track("SF123456789012")
    assert tracking.status is ParcelStatus.IN_TRANSIT
    assert provider.numbers == ["SF123456789012"]
    got = app.logistics.get(parcel)
    assert got.status is ParcelStatus.IN_TRANSIT  # the answer was stored on the parcel
    assert got.tracking_number == "sf 1234-5678 9012"
    app.logistics.track("Sf-1234 5678 9012")
    assert provider.calls == 1  # fresh in the store, whatever the spelling: no second call


def test_every_way_of_storing_a_parcel_keeps_its_folded_number(make_app: Any) -> None:
    app = make_app(ScriptedCarrier())
    add_parcels(app, ["ｓｆ 1234-5678", "", "SF\x00BAD"])
    with app.store.session() as session:
        keys = session.execute(select(ShipmentRow.tracking_number, ShipmentRow.tracking_key)
                               .order_by(ShipmentRow.id)).all()
    # a number that folds to no tracking number has no key: nothing can match it
    assert [tuple(k) for k in keys] == [("ｓｆ 1234-5678", "SF12345678"), ("", None),
                                        ("SF\x00BAD", None)]


def test_the_migration_folds_the_numbers_already_stored(db_url: str, clock: Any) -> None:
    from alembic import command
    from sqlalchemy import text

    from aftersales.app import AfterSales
    from aftersales.store import Store

    store = Store(db_url)
    store.upgrade("0001")
    # The table as revision 0001 made it (no tracking_key yet).
    old = table("shipments", *(column(n) for n in (
        "direction", "tracking_number", "carrier", "status", "terminal", "version")),
        column("created_at", UTCDateTime()), column("updated_at", UTCDateTime()))
    rows = [("sf 1234-5678 9012", "sf"), ("ＳＦ5555 6666 7777", "sf"), ("", None),
            *((f"yt {i:013d}", "yto") for i in range(1, 2501))]  # more than one chunk
    with store.engine.begin() as conn:
        conn.execute(old.insert(), [
            {"direction": "outbound", "tracking_number": n, "carrier": c, "status": "pending",
             "terminal": False, "version": 1, "created_at": clock.now, "updated_at": clock.now}
            for n, c in rows])
    store.upgrade()
    with store.engine.connect() as conn:
        keys = conn.execute(text(
            "SELECT tracking_number, tracking_key FROM shipments ORDER BY id")).all()
    assert [tuple(k) for k in keys[:4]] == [
        ("sf 1234-5678 9012", "SF123456789012"), ("ＳＦ5555 6666 7777", "SF555566667777"),
        ("", None), ("yt 0000000000001", "YT0000000000001")]
    assert keys[-1][1] == "YT0000000002500"
    store.dispose()

    provider = ScriptedCarrier()
    app = AfterSales(db_url, marketplaces=[], carriers=[provider], clock=clock)
    try:
        assert app.logistics.track("SF123456789012").status is ParcelStatus.IN_TRANSIT
        [parcel] = app.logistics.list(carrier="sf", status="in_transit")
        assert parcel.tracking_number == "sf 1234-5678 9012"
    finally:
        app.close()

    back = Store(db_url)
    command.downgrade(back.alembic_config(), "0001")
    columns = inspect(back.engine).get_columns("shipments")
    assert "tracking_key" not in {c["name"] for c in columns}
    back.dispose()


def test_a_fresh_stored_answer_is_the_asked_carriers_parcel(make_app: Any) -> None:
    # Digits-only waybills of two carriers may be one number: the stored answer
    # served for one carrier is its own parcel's, never the other carrier's.
    provider = ScriptedCarrier()
    app = make_app(provider)
    number = "773012345678"
    add_parcels(app, [number], carrier="zto")
    add_parcels(app, [number], carrier="yunda")
    provider.status = ParcelStatus.IN_TRANSIT
    assert app.logistics.track(number, "zto").carrier == "zto"
    provider.status = ParcelStatus.OUT_FOR_DELIVERY
    assert app.logistics.track(number, "yunda").carrier == "yunda"
    calls = provider.calls
    stored_zto = app.logistics.track(number, "zto")
    stored_yunda = app.logistics.track(number, "yunda")
    assert provider.calls == calls  # both fresh: read from the store
    assert (stored_zto.carrier, stored_zto.status) == ("zto", ParcelStatus.IN_TRANSIT)
    assert (stored_yunda.carrier, stored_yunda.status) == ("yunda",
                                                           ParcelStatus.OUT_FOR_DELIVERY)
