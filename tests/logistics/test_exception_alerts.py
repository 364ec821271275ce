"""``parcel.exception`` is announced once per parcel, scan time and issue kind.

A provider may change why a parcel is in trouble without a newer scan (the
carrier's investigation finds a "lost" parcel damaged): the shop, and the
cases area that opens a damage claim from the event, must hear of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from aftersales.models import (
    ParcelIssue,
    ParcelStatus,
    Tracking,
    TrackingEvent,
    TrackQuery,
    TrackResult,
)
from aftersales.store.tables.core import OutboxRow

from .conftest import T0, Clock, ScriptedCarrier, add_parcels, numbers


class Troubled(ScriptedCarrier):
    """Answers every number with an exception of ``issue`` and one scan at T0."""

    issue = ParcelIssue.LOST

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        scan = TrackingEvent(time=T0, status=ParcelStatus.EXCEPTION, description="problem")
        return [TrackResult(query=q, tracking=Tracking(
            carrier=q.carrier, number=q.number, status=ParcelStatus.EXCEPTION,
            issue=self.issue, events=[scan], provider=self.name)) for q in queries]


def test_a_new_issue_kind_alerts_again_and_the_same_one_does_not(make_app: Any,
                                                                   clock: Clock) -> None:
    provider = Troubled()
    app = make_app(provider)
    add_parcels(app, numbers(1))
    app.logistics.refresh()
    provider.issue = ParcelIssue.DAMAGED
    clock.advance(timedelta(days=1))
    app.logistics.refresh()
    clock.advance(timedelta(days=1))
    app.logistics.refresh()  # still damaged: nothing new to say
    with app.store.session() as session:
        sent = session.execute(select(OutboxRow.event_type, OutboxRow.payload)
                               .order_by(OutboxRow.id)).all()
    assert [(name, payload["issue"]) for name, payload in sent] == [
        ("parcel.exception", "lost"), ("parcel.exception", "damaged")]
