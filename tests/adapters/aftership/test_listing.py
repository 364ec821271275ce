"""How the adapter lists trackings by number, against what AfterShip documents of
``GET /trackings``.

AfterShip's official SDK (AfterShip/tracking-sdk-python, tracking/api/tracking.py,
generated from the API reference) documents the listing's ``created_at_min`` as
"Start date and time of trackings created ... (Defaults: 30 days ago)" with
"AfterShip only stores data of 120 days", ``limit`` as a page size (default 100,
max 200) and ``tracking_numbers`` as up to 50 numbers; the 2025-01 SDKs
(tracking-sdk-nodejs, branch 2025-01, GetTrackingsQuery / PaginationGetTrackingsResponse)
page with ``cursor`` and answer ``pagination.next_cursor`` and ``has_next_page``.
One number may be tracked under several couriers (one tracking per slug).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from aftersales_aftership import AfterShipCarrier

from aftersales.errors import ResponseParseError
from aftersales.models import ParcelStatus, TrackQuery

from .conftest import BASE, listing, load

NUMBER = "9400111899223197428490"
LIST = f"{BASE}/trackings"


def _tracking(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = copy.deepcopy(load("get_tracking_response_2025-01")["data"])
    obj.update(changes)
    return obj


def _query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_the_listing_reaches_back_over_what_aftership_keeps_not_its_30_day_default(
    mock: responses.RequestsMock, carrier: AfterShipCarrier,
) -> None:
    mock.get(LIST, json=listing(_tracking()))
    before = datetime.now(UTC)
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="usps")])
    assert result.tracking is not None
    sent = _query(mock.calls[0])
    since = datetime.fromisoformat(sent["created_at_min"][0])
    assert since.utcoffset() is not None
    assert since <= before - timedelta(days=119)  # a 45-day-old tracking is listed
    assert since >= before - timedelta(days=121)


def test_a_number_tracked_under_two_couriers_reads_the_asked_ones(
    mock: responses.RequestsMock, carrier: AfterShipCarrier,
) -> None:
    mock.get(LIST, json=listing(_tracking(), _tracking(slug="fedex", tag="InTransit",
                                                       subtag="InTransit_001")))
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="usps")])
    assert result.tracking is not None
    assert (result.tracking.carrier, result.tracking.status) == ("usps", ParcelStatus.DELIVERED)
    mock.replace(responses.GET, LIST, json=listing(
        _tracking(slug="fedex", tag="InTransit", subtag="InTransit_001"), _tracking()))
    [again] = carrier.track([TrackQuery(number=NUMBER, carrier="usps")])
    assert again.tracking is not None
    assert again.tracking.status is ParcelStatus.DELIVERED


def test_the_next_page_is_read_when_aftership_says_there_is_one(
    mock: responses.RequestsMock, carrier: AfterShipCarrier,
) -> None:
    other = "1Z999AA10123456784"
    first = listing(_tracking(slug="fedex"))
    first["data"]["pagination"] = {"total": 2, "next_cursor": "c2", "has_next_page": True}
    mock.get(LIST, json=first, match=[responses.matchers.query_param_matcher(
        {"tracking_numbers": f"{NUMBER},{other}"}, strict_match=False)])
    mock.get(LIST, json=listing(_tracking(tracking_number=other, slug="ups")),
             match=[responses.matchers.query_param_matcher({"cursor": "c2"},
                                                           strict_match=False)])
    one, two = carrier.track([TrackQuery(number=NUMBER, carrier="fedex"),
                              TrackQuery(number=other, carrier="ups")])
    assert one.tracking is not None
    assert two.tracking is not None  # listed on page 2: not created again
    assert two.tracking.carrier == "ups"
    assert "cursor" not in _query(mock.calls[0])


def test_a_listing_that_never_ends_is_an_error_not_a_loop(
    mock: responses.RequestsMock, carrier: AfterShipCarrier,
) -> None:
    page = listing(_tracking())
    page["data"]["pagination"] = {"total": 999, "next_cursor": "again", "has_next_page": True}
    mock.get(LIST, json=page)
    with pytest.raises(ResponseParseError, match="pages"):
        carrier.track([TrackQuery(number=NUMBER, carrier="usps")])
