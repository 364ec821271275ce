"""17TRACK against what it documents and really sends: event stages, every error code."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_seventeentrack import SeventeenTrackCarrier, webhook_sign
from aftersales_seventeentrack.mapping import ERROR_CODES, STAGES, error_for_code, to_tracking
from aftersales_seventeentrack.schemas import ENVELOPE

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.models import ParcelStatus, TrackQuery

from .conftest import BASE, TOKEN

PLATFORM = Path(__file__).parent / "fixtures" / "platform"


def doc(name: str) -> dict[str, Any]:
    """A payload 17TRACK wrote (``_source`` says where), as a fresh copy."""
    data: dict[str, Any] = json.loads((PLATFORM / f"{name}.json").read_text("utf-8"))
    assert data["_source"].strip()
    return copy.deepcopy(data)


def test_at_least_five_platform_payloads_name_their_source() -> None:
    assert len([doc(p.stem) for p in PLATFORM.glob("*.json")]) >= 5


# ---------------------------------------------------------------- stages


def test_doc_webhook_events_are_read_by_their_stage(carrier: SeventeenTrackCarrier) -> None:
    """The doc's own example: events have a stage and no sub_status."""
    body = json.dumps(doc("webhook_updated_doc_example")["body"]).encode()
    [tracking] = carrier.parse_push(body, {"sign": webhook_sign(body, TOKEN)})
    assert tracking.status is ParcelStatus.DELIVERED
    by_text = {e.description: (e.status, e.raw_code) for e in tracking.events}
    assert by_text["DELIVERED"] == (ParcelStatus.DELIVERED, "Delivered")
    assert by_text["Out For Delivery Today"] == (ParcelStatus.OUT_FOR_DELIVERY, "OutForDelivery")
    assert by_text["Arrived at Facility"] == (ParcelStatus.IN_TRANSIT, None)  # no stage either
    assert by_text[
        "Shipper created a label, UPS has not received the package yet."
    ] == (ParcelStatus.INFO_RECEIVED, "InfoReceived")
    assert tracking.delivered_at is not None
    assert tracking.delivered_at.isoformat() == "2022-04-04T23:35:22+00:00"


KEY_STAGES = ["InfoReceived", "PickedUp", "Departure", "Arrival", "AvailableForPickup",
              "OutForDelivery", "Delivered", "Returning", "Returned"]


@pytest.mark.parametrize("stage", KEY_STAGES)
def test_every_documented_key_stage_is_mapped(stage: str) -> None:
    assert set(STAGES) == set(KEY_STAGES)
    item = {"number": "X1", "track_info": {"latest_status": {"status": "InTransit"},
            "tracking": {"providers": [{"events": [
                {"time_utc": "2025-01-01T00:00:00Z", "description": "d", "stage": stage}]}]}}}
    event = to_tracking(item).events[0]  # type: ignore[arg-type]
    assert event.status is STAGES[stage].status
    assert event.raw_code == stage


def test_a_sub_status_still_wins_over_the_stage() -> None:
    item = {"number": "X1", "track_info": {"latest_status": {"status": "Exception"},
            "tracking": {"providers": [{"events": [
                {"time_utc": "2025-01-01T00:00:00Z", "description": "d", "stage": "Delivered",
                 "sub_status": "Exception_Returning"}]}]}}}
    assert to_tracking(item).events[0].status is ParcelStatus.RETURNING  # type: ignore[arg-type]


# ---------------------------------------------------------------- real answers


def test_real_v24_answer_without_utc_times_is_delivered(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(f"{BASE}/gettrackinfo", json=doc("gettrackinfo_v24_ups_delivered_real")["body"])
    [result] = carrier.track([TrackQuery(number="1Z005W760290052334", carrier="ups")])
    assert result.tracking is not None
    assert (result.tracking.status, result.tracking.carrier) == (ParcelStatus.DELIVERED, "ups")
    assert result.tracking.events[0].time.isoformat() == "2025-07-30T20:38:47+00:00"


def test_doc_register_answer_reports_the_refused_number() -> None:
    envelope = ENVELOPE.validate_python(doc("register_doc_example_format_invalid")["body"])
    [refused] = envelope["data"]["rejected"]
    assert refused["error"]["code"] == -18010012
    assert isinstance(error_for_code(-18010012), RemoteRejectedError)


def test_doc_not_registered_answer_registers_the_number(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(f"{BASE}/gettrackinfo", json=doc("stoptrack_doc_example_not_registered")["body"])
    mock.post(f"{BASE}/register", json={"code": 0, "data": {"accepted": [
        {"origin": 1, "number": "21213123123230", "carrier": 3011}], "rejected": []}})
    [result] = carrier.track([TrackQuery(number="21213123123230")])
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.PENDING


def test_doc_retrack_refusal_is_a_per_number_error(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(f"{BASE}/gettrackinfo", json=doc("retrack_doc_example_refused")["body"])
    [result] = carrier.track([TrackQuery(number="21213123123230")])
    assert (result.error_code, result.tracking) == ("-18019904", None)
    assert "only retrack stopped" in (result.error or "")


# ---------------------------------------------------------------- error codes


def test_an_undocumented_body_code_is_a_clear_error_naming_it_and_not_retried(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(f"{BASE}/gettrackinfo", json={"code": -18010099, "data": {"errors": [
        {"code": -18010099, "message": "something new"}]}})
    with pytest.raises(RemoteError) as info:
        carrier.track([TrackQuery(number="RR123456789CN", carrier="chinapost")])
    assert type(info.value) is RemoteError
    assert info.value.code == "-18010099"
    assert "undocumented code -18010099" in str(info.value)
    assert len(mock.calls) == 1


def test_an_undocumented_code_in_the_envelope_alone_is_named_too() -> None:
    error = error_for_code(-18999999)
    assert (type(error), error.code, error.retryable) == (RemoteError, "-18999999", False)


@pytest.mark.parametrize(("code", "kind", "retryable"), [
    (-18010001, AuthenticationError, False), (-18010002, AuthenticationError, False),
    (-18010003, TransientError, True), (-18010004, AuthenticationError, False),
    (-18010005, AuthenticationError, False), (-18010010, RemoteRejectedError, False),
    (-18010011, RemoteRejectedError, False), (-18010012, RemoteRejectedError, False),
    (-18010013, RemoteRejectedError, False), (-18010014, RemoteRejectedError, False),
    (-18010015, RemoteRejectedError, False), (-18010016, RemoteRejectedError, False),
    (-18010018, RemoteRejectedError, False), (-18010019, RemoteRejectedError, False),
    (-18010020, RemoteRejectedError, False), (-18019907, RateLimitError, False),
    (-18019908, RateLimitError, False),
])
def test_only_the_internal_error_is_retried(
    code: int, kind: type[RemoteError], retryable: bool
) -> None:
    error = error_for_code(code, "m")
    assert type(error) is kind
    assert error.retryable is retryable
    assert code in ERROR_CODES


def test_a_retried_internal_error_then_succeeds(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(f"{BASE}/gettrackinfo", json={"code": -18010003, "data": {"errors": [
        {"code": -18010003, "message": "Internal service error"}]}})
    mock.post(f"{BASE}/gettrackinfo", json=doc("gettrackinfo_v24_ups_delivered_real")["body"])
    [result] = carrier.track([TrackQuery(number="1Z005W760290052334", carrier="ups")])
    assert result.tracking is not None
    assert len(mock.calls) == 2
