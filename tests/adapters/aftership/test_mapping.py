"""AfterShip's pure rules: every tag and subtag row, slugs, webhook HMAC, versions."""

from __future__ import annotations

import pytest
from aftersales_aftership import STATUS_TABLE, verify_webhook
from aftersales_aftership.mapping import carrier_for, slug_for, to_tracking, tracking_object
from aftersales_aftership.schemas import TrackingObject

from aftersales.models import ParcelIssue, ParcelStatus

from .conftest import compact, load

S, R = ParcelStatus, ParcelIssue

EXPECTED: dict[str, tuple[ParcelStatus, ParcelIssue | None]] = {
    "Pending": (S.PENDING, None),
    **{f"Pending_00{i}": (S.PENDING, None) for i in range(1, 7)},
    "InfoReceived": (S.INFO_RECEIVED, None),
    "InfoReceived_001": (S.INFO_RECEIVED, None),
    "InTransit": (S.IN_TRANSIT, None),
    "InTransit_001": (S.IN_TRANSIT, None),
    "InTransit_002": (S.PICKED_UP, None),
    **{f"InTransit_00{i}": (S.IN_TRANSIT, None) for i in range(3, 10)},
    "OutForDelivery": (S.OUT_FOR_DELIVERY, None),
    "OutForDelivery_001": (S.OUT_FOR_DELIVERY, None),
    "OutForDelivery_003": (S.OUT_FOR_DELIVERY, None),
    "OutForDelivery_004": (S.OUT_FOR_DELIVERY, None),
    "AttemptFail": (S.FAILED_ATTEMPT, None),
    "AttemptFail_001": (S.FAILED_ATTEMPT, None),
    "AttemptFail_002": (S.FAILED_ATTEMPT, R.ADDRESS),
    "AttemptFail_003": (S.FAILED_ATTEMPT, R.ADDRESS),
    "Delivered": (S.DELIVERED, None),
    **{f"Delivered_00{i}": (S.DELIVERED, None) for i in range(1, 6)},
    "AvailableForPickup": (S.AVAILABLE_FOR_PICKUP, None),
    "AvailableForPickup_001": (S.AVAILABLE_FOR_PICKUP, None),
    "Exception": (S.EXCEPTION, R.OTHER),
    "Exception_001": (S.EXCEPTION, R.OTHER),
    "Exception_002": (S.EXCEPTION, R.ADDRESS),
    "Exception_003": (S.EXCEPTION, R.REFUSED),
    "Exception_004": (S.EXCEPTION, R.CUSTOMS),
    "Exception_005": (S.EXCEPTION, R.DELAYED),
    "Exception_006": (S.EXCEPTION, R.HELD),
    "Exception_007": (S.EXCEPTION, R.ADDRESS),
    "Exception_008": (S.EXCEPTION, R.HELD),
    "Exception_009": (S.EXCEPTION, R.OTHER),
    "Exception_010": (S.RETURNING, None),
    "Exception_011": (S.RETURNED, None),
    "Exception_012": (S.EXCEPTION, R.DAMAGED),
    "Exception_013": (S.EXCEPTION, R.LOST),
    "Exception_016": (S.EXCEPTION, R.DELAYED),
    "Exception_017": (S.EXCEPTION, R.DELAYED),
    "Exception_018": (S.EXCEPTION, R.CUSTOMS),
    "Exception_019": (S.EXCEPTION, R.DELAYED),
    "Exception_020": (S.EXCEPTION, R.OTHER),
    "Exception_021": (S.EXCEPTION, R.DAMAGED),
    "Expired": (S.EXPIRED, None),
    "Expired_001": (S.EXPIRED, None),
}


def test_every_documented_tag_and_subtag_has_a_row() -> None:
    documented = load("tags_subtags")
    assert set(documented["tags"]) | set(documented["subtags"]) <= set(STATUS_TABLE)
    assert set(STATUS_TABLE) == set(EXPECTED)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_status_row(code: str, expected: tuple[ParcelStatus, ParcelIssue | None]) -> None:
    data = load("get_tracking_response_2025-01")["data"]
    tag = code.split("_", 1)[0]
    data |= {"tag": tag, "subtag": code if "_" in code else None}
    tracking = to_tracking(TrackingObject.model_validate(data))
    assert (tracking.status, tracking.issue) == expected
    assert tracking.raw_status == code


def test_an_unknown_subtag_falls_back_to_its_tag() -> None:
    data = load("get_tracking_response_2025-01")["data"] | {"tag": "Delivered", "subtag": "X_9"}
    assert to_tracking(TrackingObject.model_validate(data)).status is S.DELIVERED


@pytest.mark.parametrize(("tag", "subtag", "expected"), [
    ("InTransit", "Delivered_001", S.IN_TRANSIT),
    ("Delivered_001", "Delivered_001", S.EXCEPTION),
    ("Exception", "Delivered_003", S.EXCEPTION),
])
def test_a_subtag_of_another_tag_is_not_read(tag: str, subtag: str,
                                             expected: ParcelStatus) -> None:
    """A subtag belongs to its tag; one naming another tag (delivered) is a contradiction."""
    data = load("get_tracking_response_2025-01")["data"] | {"tag": tag, "subtag": subtag}
    for point in data["checkpoints"]:
        point |= {"tag": tag, "subtag": subtag}
    tracking = to_tracking(TrackingObject.model_validate(data))
    assert tracking.status is expected
    assert all(e.status is not S.DELIVERED for e in tracking.events)


@pytest.mark.parametrize("vector", load("webhook_signature_vectors")["vectors"])
def test_webhook_signature_vectors(vector: dict[str, str]) -> None:
    if "raw_body" in vector:
        body = vector["raw_body"].encode()
    else:
        body = compact(load("webhook_tracking_update"))
    assert verify_webhook(body, vector["signature"], vector["webhook_secret"])
    assert not verify_webhook(body, vector["signature"], "wrong-secret")
    assert not verify_webhook(body + b"\n", vector["signature"], vector["webhook_secret"])
    assert not verify_webhook(body, "not base64!", vector["webhook_secret"])
    assert not verify_webhook(body, "", vector["webhook_secret"])


def test_both_api_versions_parse_the_same() -> None:
    new = tracking_object(load("get_tracking_response_2025-01")["data"])
    old = tracking_object(load("get_tracking_response_2024-04_legacy")["data"])
    assert new is not None
    assert old is not None
    legacy = to_tracking(TrackingObject.model_validate(old))
    assert legacy.number == "9400111899223197428490"
    assert legacy.status is S.PICKED_UP
    assert legacy.carrier == "usps"


def test_slugs() -> None:
    assert slug_for("ems") == "china-ems"
    assert slug_for("zto") is None
    assert carrier_for("china-post") == "chinapost"
    assert carrier_for("royal-mail") == "royal-mail"
    assert carrier_for(None, "ups") == "ups"
