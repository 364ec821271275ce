"""AfterShip against what it documents and really sends: every sub-status, local times
without an offset, webhook event types."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aftersales_aftership import AfterShipCarrier
from aftersales_aftership.mapping import STATUS_TABLE, to_tracking, tracking_object
from aftersales_aftership.schemas import Checkpoint, TrackingObject

from aftersales.models import ParcelIssue, ParcelStatus
from aftersales.signing import hmac_sha256_base64

from .conftest import SECRET

PLATFORM = Path(__file__).parent / "fixtures" / "platform"


def doc(name: str) -> dict[str, Any]:
    """A payload AfterShip wrote (``_source`` says where), as a fresh copy."""
    data: dict[str, Any] = json.loads((PLATFORM / f"{name}.json").read_text("utf-8"))
    assert data["_source"].strip()
    return copy.deepcopy(data)


def _signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"aftership-hmac-sha256": hmac_sha256_base64(SECRET, raw)}


def test_at_least_five_platform_payloads_name_their_source() -> None:
    payloads = [doc(p.stem) for p in PLATFORM.glob("*.json")]
    assert len([p for p in payloads if "body" in p]) >= 5


# ---------------------------------------------------------------- the current lists


def test_every_tag_and_subtag_of_the_current_list_has_a_row() -> None:
    listed = doc("subtags_2026-07")
    assert set(listed["tags"]) | set(listed["subtags"]) <= set(STATUS_TABLE)
    for code in ("Exception_019", "Exception_020", "Exception_021"):
        assert code in STATUS_TABLE


@pytest.mark.parametrize(("code", "status", "issue"), [
    ("Exception_008", ParcelStatus.EXCEPTION, ParcelIssue.HELD),  # pick-up missed: it waits
    ("Exception_019", ParcelStatus.EXCEPTION, ParcelIssue.DELAYED),  # late flight
    ("Exception_020", ParcelStatus.EXCEPTION, ParcelIssue.OTHER),  # cancelled
    ("Exception_021", ParcelStatus.EXCEPTION, ParcelIssue.DAMAGED),  # disposed
])
def test_new_and_corrected_subtags(code: str, status: ParcelStatus, issue: ParcelIssue) -> None:
    tag = code.split("_", 1)[0]
    tracking = to_tracking(TrackingObject(tracking_number="1", tag=tag, subtag=code))
    assert (tracking.status, tracking.issue) == (status, issue)


# ---------------------------------------------------------------- local times


def test_a_local_checkpoint_time_is_read_in_the_place_zone_never_as_created_at() -> None:
    """AfterShip's own docs example: a Valencia scan fetched 44 days later."""
    body = doc("v4_trackings_doc_example_valencia")["body"]
    [raw] = body["data"]["trackings"]
    tracking = to_tracking(TrackingObject.model_validate(raw))
    [event] = tracking.events
    assert event.time == datetime(2014, 5, 12, 10, 2, tzinfo=UTC)  # 12:02 in Madrid (CEST)
    assert event.time_inferred


@pytest.mark.parametrize(("fields", "utc_hour"), [
    ({"country_region": "USA", "state": "NY"}, 16),  # 12:00 EDT
    ({"country_iso3": "USA", "location": "BROOKLYN, NY"}, 16),
    ({"location": "LAS VEGAS, NV"}, 19),  # no country: a US state reads as the US
    ({"country_region_name": "China"}, 4),
    ({"country_iso3": "DEU"}, 10),
    ({"location": "NL, Netherlands"}, 10),
    ({"city": "Shenzhen", "country_region": "CHN"}, 4),
])
def test_the_zone_comes_from_the_checkpoint_place(fields: dict[str, str], utc_hour: int) -> None:
    point = Checkpoint(checkpoint_time="2024-06-03T12:00:00", **fields)
    [event] = to_tracking(TrackingObject(tracking_number="1", checkpoints=[point])).events
    assert (event.time.hour, event.time_inferred) == (utc_hour, True)


def test_a_place_with_several_zones_and_no_region_is_read_as_utc_and_marked() -> None:
    point = Checkpoint(checkpoint_time="2024-06-03T12:00:00", country_region="USA",
                       created_at="2024-06-09T00:00:00+00:00")
    [event] = to_tracking(TrackingObject(tracking_number="1", checkpoints=[point])).events
    assert event.time == datetime(2024, 6, 3, 12, tzinfo=UTC)  # not created_at, six days on
    assert event.time_inferred


def test_the_doc_webhook_time_without_place_is_marked_inferred(carrier: AfterShipCarrier) -> None:
    [tracking] = carrier.parse_push(*_signed(doc("webhook_doc_example_naive_time")["body"]))
    [event] = tracking.events
    assert event.time_inferred
    assert event.time == datetime(2021, 1, 14, 0, 52, tzinfo=UTC)


def test_times_with_an_offset_are_kept_and_not_marked() -> None:
    body = doc("v4_get_tracking_postnl_recorded")["body"]
    tracking = to_tracking(TrackingObject.model_validate(tracking_object(body["data"])))
    assert (tracking.status, tracking.carrier) == (ParcelStatus.IN_TRANSIT, "postnl-3s")
    assert [e.time.isoformat() for e in tracking.events] == [
        "2021-03-20T14:29:27+00:00", "2021-03-22T17:33:57+00:00", "2021-03-25T09:59:00+00:00"]
    assert not any(e.time_inferred for e in tracking.events)


# ---------------------------------------------------------------- recorded answers


def test_recorded_new_tracking_is_pending() -> None:
    body = doc("v4_create_tracking_pending_recorded")["body"]
    tracking = to_tracking(TrackingObject.model_validate(tracking_object(body["data"])))
    assert (tracking.status, tracking.carrier, tracking.number) == (
        ParcelStatus.PENDING, "4px", "HH19260817")


def test_recorded_last_checkpoint_answer_reads_as_a_pending_china_post_parcel() -> None:
    body = doc("v4_last_checkpoint_china_post_recorded")["body"]
    tracking = to_tracking(TrackingObject.model_validate(tracking_object(body["data"])))
    assert (tracking.status, tracking.carrier, tracking.events) == (
        ParcelStatus.PENDING, "chinapost", [])


# ---------------------------------------------------------------- webhook event type


def test_the_webhook_event_type_is_read(carrier: AfterShipCarrier) -> None:
    body = doc("webhook_doc_example_naive_time")["body"]
    assert len(carrier.parse_push(*_signed(body))) == 1
    other = dict(body, event="tracking_deleted")
    assert carrier.parse_push(*_signed(other)) == []
