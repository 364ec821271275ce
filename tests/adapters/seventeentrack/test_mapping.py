"""17TRACK's pure rules: every status row, carrier keys, error codes, webhook signing."""

from __future__ import annotations

import pytest
from aftersales_seventeentrack import STATUS_TABLE, verify_webhook, webhook_sign
from aftersales_seventeentrack.mapping import carrier_for, error_for_code, key_for, to_tracking
from aftersales_seventeentrack.schemas import TRACK_ITEM, TrackItem

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.models import ParcelIssue, ParcelStatus

from .conftest import compact, load

S, R = ParcelStatus, ParcelIssue

EXPECTED = {
    "NotFound": (S.PENDING, None),
    "NotFound_Other": (S.PENDING, None),
    "NotFound_InvalidCode": (S.PENDING, None),
    "InfoReceived": (S.INFO_RECEIVED, None),
    "InTransit": (S.IN_TRANSIT, None),
    "InTransit_PickedUp": (S.PICKED_UP, None),
    "InTransit_Other": (S.IN_TRANSIT, None),
    "InTransit_Departure": (S.IN_TRANSIT, None),
    "InTransit_Arrival": (S.IN_TRANSIT, None),
    "InTransit_CustomsProcessing": (S.IN_TRANSIT, None),
    "InTransit_CustomsReleased": (S.IN_TRANSIT, None),
    "InTransit_CustomsRequiringInformation": (S.EXCEPTION, R.CUSTOMS),
    "Expired": (S.EXPIRED, None),
    "Expired_Other": (S.EXPIRED, None),
    "AvailableForPickup": (S.AVAILABLE_FOR_PICKUP, None),
    "AvailableForPickup_Other": (S.AVAILABLE_FOR_PICKUP, None),
    "OutForDelivery": (S.OUT_FOR_DELIVERY, None),
    "OutForDelivery_Other": (S.OUT_FOR_DELIVERY, None),
    "DeliveryFailure": (S.FAILED_ATTEMPT, None),
    "DeliveryFailure_Other": (S.FAILED_ATTEMPT, None),
    "DeliveryFailure_NoBody": (S.FAILED_ATTEMPT, None),
    "DeliveryFailure_Security": (S.FAILED_ATTEMPT, R.CUSTOMS),
    "DeliveryFailure_Rejected": (S.EXCEPTION, R.REFUSED),
    "DeliveryFailure_InvalidAddress": (S.FAILED_ATTEMPT, R.ADDRESS),
    "Delivered": (S.DELIVERED, None),
    "Delivered_Other": (S.DELIVERED, None),
    "Exception": (S.EXCEPTION, R.OTHER),
    "Exception_Other": (S.EXCEPTION, R.OTHER),
    "Exception_Returning": (S.RETURNING, None),
    "Exception_Returned": (S.RETURNED, None),
    "Exception_NoBody": (S.EXCEPTION, R.ADDRESS),
    "Exception_Security": (S.EXCEPTION, R.CUSTOMS),
    "Exception_Damage": (S.EXCEPTION, R.DAMAGED),
    "Exception_Rejected": (S.EXCEPTION, R.REFUSED),
    "Exception_Delayed": (S.EXCEPTION, R.DELAYED),
    "Exception_Lost": (S.EXCEPTION, R.LOST),
    "Exception_Destroyed": (S.EXCEPTION, R.DAMAGED),
    "Exception_Cancel": (S.EXCEPTION, R.OTHER),
    "Exception_Held": (S.EXCEPTION, R.HELD),
}


def test_every_documented_status_has_a_row() -> None:
    codes = load("status_codes")
    documented = set(codes["main_status"])
    for subs in codes["sub_status"].values():
        documented |= set(subs)
    assert documented <= set(STATUS_TABLE)
    assert set(STATUS_TABLE) == set(EXPECTED)


def _item(main: str, sub: str | None) -> TrackItem:
    data = load("gettrackinfo_response")["data"]["accepted"][0]
    data["track_info"]["latest_status"] = {"status": main, "sub_status": sub}
    return TRACK_ITEM.validate_python(data)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_status_row(code: str, expected: tuple[ParcelStatus, ParcelIssue | None]) -> None:
    main = code.split("_", 1)[0]
    tracking = to_tracking(_item(main, code if "_" in code else None))
    assert (tracking.status, tracking.issue) == expected
    assert tracking.raw_status == code


def test_an_unknown_sub_status_falls_back_to_its_main_status() -> None:
    tracking = to_tracking(_item("Exception", "Exception_Brandnew"))
    assert (tracking.status, tracking.issue) == (S.EXCEPTION, R.OTHER)


def test_a_sub_status_of_another_status_is_not_read() -> None:
    """A sub-status belongs to its main status; one naming another (delivered) contradicts it."""
    assert to_tracking(_item("InTransit", "Delivered_Other")).status is S.IN_TRANSIT


@pytest.mark.parametrize("vector", load("webhook_sign_vectors")["vectors"])
def test_webhook_sign_vectors(vector: dict[str, str]) -> None:
    if "raw_body" in vector:
        body = vector["raw_body"].encode()
    else:
        body = compact(load("webhook_tracking_updated"))
    assert webhook_sign(body, vector["security_key"]) == vector["sign"]
    assert verify_webhook(body, vector["sign"].upper(), vector["security_key"])
    assert not verify_webhook(body + b" ", vector["sign"], vector["security_key"])
    assert not verify_webhook(body, None, vector["security_key"])


def test_carrier_keys_round_trip() -> None:
    assert key_for("chinapost") == 3011
    assert carrier_for(3011) == "chinapost"
    assert key_for("nonesuch") is None
    assert key_for(None) is None
    assert carrier_for(999999, "ups") == "ups"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (-18010001, AuthenticationError),
        (-18010002, AuthenticationError),
        (-18010003, TransientError),
        (-18010004, AuthenticationError),
        (-18010005, AuthenticationError),
        (-18010014, RemoteRejectedError),
        (-18019907, RateLimitError),
        (-18019908, RateLimitError),
    ],
)
def test_error_codes(code: int, error: type[Exception]) -> None:
    found = error_for_code(code)
    assert isinstance(found, error)
    assert found.code == str(code)
