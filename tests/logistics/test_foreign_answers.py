"""An answer about another number is never written onto the asked parcel.

The refresh pairs a batch's answers with its numbers by position. An
adapter that answers out of order, or lets through an item about another
parcel, would put one parcel's scans (and its ``parcel.delivered``, which
may receive a return) onto another. The core checks each answer against
the number its place asked (as adapters do through ``track_result``): a foreign one is a malformed item, a failure the report
names, and the parcel stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aftersales.models import ParcelStatus, TrackQuery, TrackResult

from .conftest import ScriptedCarrier, add_parcels

FIRST, SECOND = "SF0000000000001", "SF0000000000002"


class Reversed(ScriptedCarrier):
    """Answers every number, in the reverse order of the batch."""

    def track(self, queries: Sequence[TrackQuery]) -> list[TrackResult]:
        return list(reversed(super().track(queries)))


def test_answers_out_of_order_are_not_written_onto_each_other(make_app: Any) -> None:
    app = make_app(Reversed(statuses={FIRST: ParcelStatus.DELIVERED}))
    ids = add_parcels(app, [FIRST, SECOND])
    report = app.logistics.refresh()
    assert [app.logistics.get(i).status for i in ids] == [ParcelStatus.PENDING] * 2
    assert (report.checked, report.failed) == (0, 2)
    assert "another tracking number" in report.reasons[FIRST]

