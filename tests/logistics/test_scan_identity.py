"""A scan's identity (its fingerprint) is its time, status, text and place, not its code.

``raw_code`` is the provider's own vocabulary for a scan: Kuaidi100 calls
a pick-up ``1001``, 17TRACK ``InTransit_PickedUp``, AfterShip
``InTransit_002``. When a refresh falls back from one provider to another,
or a push from one follows a poll of the other, the same scan comes back
under another code; counting the code would store every scan of the parcel
twice. Two scans that differ only by code are one scan at one place and
time with one text, so nothing the shop can see is lost by keeping one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from aftersales.errors import TransientError
from aftersales.models import ParcelStatus, Tracking, TrackingEvent, TrackQuery, TrackResult
from aftersales.store.tables.core import TrackingEventRow

from .conftest import T0, Clock, ScriptedCarrier, add_parcels, numbers


class Coded(ScriptedCarrier):
    """Answers one pick-up scan under its own code."""

    def __init__(self, name: str, code: str) -> None:
        super().__init__(name)
        self.code = code
        self.down = False

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        if self.down:
            raise TransientError("down", adapter=self.name)
        scan = TrackingEvent(time=T0, status=ParcelStatus.PICKED_UP, description="已揽收",
                             location="深圳", raw_code=self.code)
        return [TrackResult(query=q, tracking=Tracking(
            carrier=q.carrier, number=q.number, status=ParcelStatus.PICKED_UP,
            events=[scan], provider=self.name)) for q in queries]


def test_one_scan_from_two_providers_is_stored_once(make_app: Any, clock: Clock) -> None:
    first, second = Coded("kuaidi100", "1001"), Coded("seventeentrack", "InTransit_PickedUp")
    app = make_app(first, second)
    add_parcels(app, numbers(1))
    assert app.logistics.refresh().checked == 1
    first.down = True
    clock.advance(timedelta(days=1))
    assert app.logistics.refresh().checked == 1  # answered by the second provider
    with app.store.session() as session:
        stored = session.execute(select(TrackingEventRow.description,
                                        TrackingEventRow.raw_code)).all()
    assert [tuple(row) for row in stored] == [("已揽收", "1001")]
