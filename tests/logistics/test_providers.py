"""The three tracking adapters as the app meets them: by name, unconfigured, and via push."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aftersales_aftership import AfterShipCarrier, AfterShipSettings

from aftersales import registry
from aftersales.errors import ConfigurationError
from aftersales.events import Event
from aftersales.models import TrackQuery
from aftersales.signing import hmac_sha256_base64

from .conftest import add_parcels

ENV = ("KUAIDI100_KEY", "KUAIDI100_CUSTOMER", "KUAIDI100_SALT", "SEVENTEENTRACK_TOKEN",
       "SEVENTEENTRACK_WEBHOOK_KEY", "AFTERSHIP_API_KEY", "AFTERSHIP_WEBHOOK_SECRET")


@pytest.mark.parametrize("name", ["kuaidi100", "seventeentrack", "aftership"])
def test_built_by_name_without_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    carrier = registry.create(registry.CARRIERS, name)
    assert carrier.name == name
    with pytest.raises(ConfigurationError, match=name.upper()):
        carrier.track([TrackQuery(number="SF1234567890123", carrier="sf")])


def test_an_aftership_webhook_updates_the_stored_parcel(make_app: Any) -> None:
    secret = "whsec"
    carrier = AfterShipCarrier(AfterShipSettings(api_key="k", webhook_secret=secret))
    app = make_app(carrier)
    add_parcels(app, ["9400111899223197428490"], carrier="usps")
    seen: list[Event] = []
    app.on("parcel.delivered", seen.append)
    msg = {"tracking_number": "9400111899223197428490", "slug": "usps", "tag": "Delivered",
           "subtag": "Delivered_001", "checkpoints": [
               {"checkpoint_time": "2025-03-03T11:31:00-05:00", "message": "Delivered",
                "tag": "Delivered", "subtag": "Delivered_001", "location": "BROOKLYN, NY"}]}
    body = json.dumps({"event": "tracking_update", "event_id": "e1", "msg": msg}).encode()
    headers = {"aftership-hmac-sha256": hmac_sha256_base64(secret, body)}
    assert app.logistics.handle_push("aftership", body, headers) == 1
    assert app.logistics.handle_push("aftership", body, headers) == 1  # a retried webhook
    assert [e.payload["tracking_number"] for e in seen] == ["9400111899223197428490"]
    tracking = app.logistics.track("9400111899223197428490")  # terminal: from the store
    assert tracking.status.value == "delivered"
    assert [e.location for e in tracking.events] == ["BROOKLYN, NY"]


def test_kuaidi100_resolves_an_ambiguous_digits_only_number_once(make_app: Any, http: Any) -> None:
    from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
    from sqlalchemy import select

    from aftersales.logistics import detect_carrier
    from aftersales.store.tables.core import ShipmentRow

    number = "4311159956248"
    assert len(detect_carrier(number)) > 1  # Yunda and STO shapes both fit
    http.post("https://www.kuaidi100.com/autonumber/auto",
              json=[{"comCode": "yunda", "name": "韵达快递", "lengthPre": 13}])
    answer = {"message": "ok", "state": "0", "status": "200", "ischeck": "0", "com": "yunda",
              "nu": number, "data": [{"time": "2024-05-02 09:12:40",
                                      "ftime": "2024-05-02 09:12:40", "context": "在途"}]}
    http.post("https://poll.kuaidi100.com/poll/query.do", json=answer)
    carrier = Kuaidi100Carrier(Kuaidi100Settings(key="k", customer="c"), sleep=lambda _s: None)
    app = make_app(carrier)
    add_parcels(app, [number], carrier=None)
    report = app.logistics.refresh()
    assert report.checked == 1
    with app.store.session() as session:
        assert session.scalar(select(ShipmentRow.carrier)) == "yunda"  # no autonumber next time


def test_a_kuaidi100_abort_push_makes_an_unfinished_parcel_due_for_a_query(make_app: Any) -> None:
    """A stopped push (Kuaidi100 abort) means no more pushes: the parcel is queried instead."""
    from pathlib import Path
    from urllib.parse import urlencode

    from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
    from aftersales_kuaidi100.mapping import push_sign
    from sqlalchemy import select

    from aftersales.store.tables.core import ShipmentRow

    platform = Path(__file__).parents[1] / "adapters" / "kuaidi100" / "fixtures" / "platform"

    def push(name: str) -> tuple[bytes, dict[str, str]]:
        param = json.loads((platform / f"{name}.json").read_text("utf-8"))["param"]
        text = json.dumps(param, ensure_ascii=False)
        return urlencode({"param": text, "sign": push_sign(text, "salt")}).encode(), {}

    app = make_app(Kuaidi100Carrier(Kuaidi100Settings(key="k", customer="c", salt="salt")))
    stopped, delivered = add_parcels(app, ["3100447289887", "3805420027268"], carrier="yunda")
    assert app.logistics.handle_push("kuaidi100", *push("push_abort_no_trace_real")) == 1
    assert app.logistics.handle_push("kuaidi100", *push("push_shutdown_yunda_real")) == 1
    with app.store.session() as session:
        checked = dict(session.execute(select(ShipmentRow.id, ShipmentRow.last_checked_at)).all())
    assert checked[stopped] is None  # due at once: refreshed by query
    assert checked[delivered] is not None  # shut down after delivery: nothing left to do


def test_a_17track_stopped_push_makes_an_unfinished_parcel_due_and_changes_nothing_else(
    make_app: Any,
) -> None:
    """17TRACK's TRACKING_STOPPED: no more pushes come, so the parcel is queried instead."""
    from datetime import UTC, datetime
    from pathlib import Path

    from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings
    from aftersales_seventeentrack.mapping import webhook_sign
    from sqlalchemy import select, update

    from aftersales.store.tables.core import ShipmentRow

    fixtures = Path(__file__).parents[1] / "adapters" / "seventeentrack" / "fixtures"

    def push(name: str, number: str) -> tuple[bytes, dict[str, str]]:
        hook = json.loads((fixtures / f"{name}.json").read_text("utf-8"))
        hook.pop("_source", None)
        hook["data"]["number"] = number
        body = json.dumps(hook, separators=(",", ":")).encode()
        return body, {"sign": webhook_sign(body, "key")}

    carrier = SeventeenTrackCarrier(SeventeenTrackSettings(token="t", webhook_key="key"))
    app = make_app(carrier)
    moving, delivered = add_parcels(app, ["RR000000001CN", "RR123456789CN"], carrier="chinapost")
    checked_at = datetime(2025, 3, 1, tzinfo=UTC)
    with app.store.session() as session:
        session.execute(update(ShipmentRow).values(last_checked_at=checked_at,
                                                   status="in_transit"))
    assert app.logistics.handle_push("seventeentrack",
                                     *push("webhook_tracking_updated", "RR123456789CN")) == 1
    assert app.logistics.handle_push("seventeentrack",
                                     *push("webhook_tracking_stopped", "RR000000001CN")) == 0
    assert app.logistics.handle_push("seventeentrack",
                                     *push("webhook_tracking_stopped", "RR123456789CN")) == 0
    with app.store.session() as session:
        rows = {r.id: r for r in session.scalars(select(ShipmentRow))}
        state = {i: (r.status, r.last_checked_at) for i, r in rows.items()}
    assert state[moving] == ("in_transit", None)  # due at once; its status untouched
    assert state[delivered][0] == "delivered"
    assert state[delivered][1] is not None  # stopped after delivery: nothing left to do
