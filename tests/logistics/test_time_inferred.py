"""An event's inferred time zone is stored with the event and read back, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aftersales_aftership import AfterShipCarrier, AfterShipSettings
from click.testing import CliRunner
from sqlalchemy import select

from aftersales.app import AfterSales
from aftersales.cli_support import CliState
from aftersales.logistics.cli import track
from aftersales.signing import hmac_sha256_base64
from aftersales.store.tables.core import TrackingEventRow

from .conftest import add_parcels

NUMBER = "9400111899223197428490"


@pytest.fixture
def app(db_url: str) -> Iterator[AfterSales]:
    carrier = AfterShipCarrier(AfterShipSettings(api_key="k", webhook_secret="whsec"))
    instance = AfterSales(db_url, marketplaces=[], carriers=[carrier], migrate=True)
    yield instance
    instance.close()


def test_time_inferred_is_stored_and_read_back(app: AfterSales) -> None:
    add_parcels(app, [NUMBER], carrier="usps")
    msg = {"tracking_number": NUMBER, "slug": "usps", "tag": "Delivered",
           "subtag": "Delivered_001", "checkpoints": [
               # no offset: read in New York's zone, and marked
               {"checkpoint_time": "2025-03-02T09:00:00", "message": "In transit",
                "tag": "InTransit", "subtag": "InTransit_001", "location": "BROOKLYN, NY"},
               {"checkpoint_time": "2025-03-03T11:31:00-05:00", "message": "Delivered",
                "tag": "Delivered", "subtag": "Delivered_001", "location": "BROOKLYN, NY"}]}
    body = json.dumps({"event": "tracking_update", "event_id": "e1", "msg": msg}).encode()
    headers = {"aftership-hmac-sha256": hmac_sha256_base64("whsec", body)}
    assert app.logistics.handle_push("aftership", body, headers) == 1

    with app.store.session() as session:
        stored = session.execute(select(TrackingEventRow.description,
                                        TrackingEventRow.time_inferred)
                                 .order_by(TrackingEventRow.occurred_at)).all()
    assert [tuple(r) for r in stored] == [("In transit", True), ("Delivered", False)]

    tracking = app.logistics.track(NUMBER)  # delivered: read from the store
    assert [(e.time, e.time_inferred) for e in tracking.events] == [
        (datetime(2025, 3, 2, 14, 0, tzinfo=UTC), True),
        (datetime(2025, 3, 3, 16, 31, tzinfo=UTC), False)]

    state = CliState(None, True)
    state._app = app
    shown = json.loads(CliRunner().invoke(track, [NUMBER], obj=state).output)
    assert [e["time_inferred"] for e in shown["events"]] == [True, False]
    state = CliState(None, False)
    state._app = app
    text = CliRunner().invoke(track, [NUMBER], obj=state).output
    assert "~2025-03-02T14:00" in text
    assert "~2025-03-03" not in text

