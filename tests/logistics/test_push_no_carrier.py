"""A push that names no carrier is applied only when its number is one carrier's.

Digits-only waybills of ZTO, STO and SF share lengths, so two stores'
parcels (or two orders') may carry one number with two carriers. A push
whose item names no carrier cannot say which of them it is about: it is
refused (nothing written, one WARNING naming the provider, the number and
the carriers) and the parcels stay due for their refresh, which asks per
carrier. A parcel of no known carrier beside another carrier's is one more
it cannot tell apart. When the number's parcels are all of one carrier (or
all of none known) the push is theirs and is applied, as before.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from aftersales.models import ParcelStatus, Tracking, TrackingEvent

from .conftest import T0, ScriptedCarrier, add_parcels

NUMBER = "432112345678"  # fits ZTO, STO and SF alike


class Pusher(ScriptedCarrier):
    """Parses a test's push body: a JSON list of ``[number, carrier, status]``."""

    def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[Tracking]:
        return [Tracking(carrier=carrier, number=number, status=ParcelStatus(status),
                         events=[TrackingEvent(time=T0, status=ParcelStatus(status),
                                               description="scan")], provider=self.name)
                for number, carrier, status in json.loads(body)]


def _push(app: Any, *items: Sequence[Any]) -> int:
    return int(app.logistics.handle_push("primary", json.dumps(items).encode(), {}))


def _statuses(app: Any, ids: list[int]) -> list[str]:
    return [app.logistics.get(i).status.value for i in ids]


def test_a_push_without_carrier_for_a_number_two_carriers_hold_writes_nothing(
    make_app: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(Pusher())
    ids = add_parcels(app, [NUMBER], carrier="zto") + add_parcels(app, [NUMBER], carrier="sto")
    with caplog.at_level(logging.WARNING, logger="aftersales.logistics"):
        assert _push(app, (NUMBER, None, "delivered")) == 0
    assert _statuses(app, ids) == ["pending", "pending"]
    [line] = [r.getMessage() for r in caplog.records if NUMBER in r.getMessage()]
    assert all(word in line for word in ("primary", "sto", "zto"))
    # the same push naming its carrier goes to that carrier's parcel only
    assert _push(app, (NUMBER, "sto", "delivered")) == 1
    assert _statuses(app, ids) == ["pending", "delivered"]


def test_a_push_without_carrier_for_one_carriers_parcels_is_applied(make_app: Any) -> None:
    app = make_app(Pusher())
    one = add_parcels(app, [NUMBER], carrier="zto")
    unknown = add_parcels(app, ["sf 4321-1234 5678"], carrier=None)  # another number
    assert _push(app, (NUMBER, None, "in_transit")) == 1
    assert _statuses(app, one) == ["in_transit"]
    # a merged shipment: one carrier's parcel on two orders is one parcel
    both = add_parcels(app, ["ZT9876543210"] * 2, carrier="zto", direction="outbound")
    assert _push(app, ("ZT9876543210", None, "in_transit")) == 2
    assert _statuses(app, both) == ["in_transit", "in_transit"]
    assert _push(app, ("SF432112345678", None, "in_transit")) == 1
    assert _statuses(app, unknown) == ["in_transit"]


def test_a_parcel_of_no_known_carrier_beside_a_carriers_makes_the_push_ambiguous(
    make_app: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(Pusher())
    ids = add_parcels(app, [NUMBER], carrier="zto") + add_parcels(app, [NUMBER], carrier=None)
    with caplog.at_level(logging.WARNING, logger="aftersales.logistics"):
        assert _push(app, (NUMBER, None, "delivered")) == 0
    assert _statuses(app, ids) == ["pending", "pending"]
    assert any("unknown carrier" in r.getMessage() for r in caplog.records)
    assert _push(app, (NUMBER, "zto", "in_transit")) == 2  # as before: zto's, and the unknown
