"""Kuaidi100's pure rules: signing, every state code, carrier codes, error codes."""

from __future__ import annotations

import pytest
from aftersales_kuaidi100 import STATE_TABLE, push_sign, sign, verify_push
from aftersales_kuaidi100.mapping import carrier_for, com_for, error_for, query_param, to_tracking
from aftersales_kuaidi100.schemas import QueryResponse

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.models import ParcelIssue, ParcelStatus

from .conftest import load

S, R = ParcelStatus, ParcelIssue


@pytest.mark.parametrize("vector", load("sign_vectors")["vectors"])
def test_sign_matches_the_documented_vectors(vector: dict[str, str]) -> None:
    assert sign(vector["param"], vector["key"], vector["customer"]) == vector["sign"]


def test_push_sign_matches_the_callback_fixture() -> None:
    form = load("subscribe_push_callback_form")
    assert push_sign(form["param"], "mysalt") == form["sign"]
    assert verify_push(form["param"], form["sign"].lower(), "mysalt")  # any hex case
    assert not verify_push(form["param"], form["sign"], "othersalt")
    assert not verify_push(form["param"], "", "mysalt")


def test_query_param_is_compact_raw_utf8_in_a_fixed_order() -> None:
    assert query_param("shunfeng", "SF1", "5678", "4") == (
        '{"com":"shunfeng","num":"SF1","phone":"5678","resultv2":"4","show":"0","order":"desc"}'
    )


EXPECTED = {
    "0": (S.IN_TRANSIT, None),
    "1": (S.PICKED_UP, None),
    "2": (S.EXCEPTION, R.OTHER),
    "3": (S.DELIVERED, None),
    "4": (S.RETURNED, None),
    "5": (S.OUT_FOR_DELIVERY, None),
    "6": (S.RETURNING, None),
    "7": (S.IN_TRANSIT, None),
    "8": (S.IN_TRANSIT, None),
    "10": (S.IN_TRANSIT, None),
    "11": (S.IN_TRANSIT, None),
    "12": (S.IN_TRANSIT, None),
    "13": (S.EXCEPTION, R.CUSTOMS),
    "14": (S.EXCEPTION, R.REFUSED),
    "101": (S.INFO_RECEIVED, None),
    "102": (S.INFO_RECEIVED, None),
    "103": (S.PICKED_UP, None),
    "1001": (S.IN_TRANSIT, None),
    "1002": (S.IN_TRANSIT, None),
    "1003": (S.IN_TRANSIT, None),
    "501": (S.AVAILABLE_FOR_PICKUP, None),
    "301": (S.DELIVERED, None),
    "302": (S.DELIVERED, None),
    "303": (S.DELIVERED, None),
    "304": (S.DELIVERED, None),
    "401": (S.RETURNED, None),  # 已销单 under 4 退签
    "201": (S.EXCEPTION, R.DELAYED),
    "202": (S.EXCEPTION, R.DELAYED),
    "203": (S.EXCEPTION, R.REFUSED),
    "204": (S.FAILED_ATTEMPT, None),
    "205": (S.EXCEPTION, R.HELD),
    "206": (S.FAILED_ATTEMPT, R.ADDRESS),
    "207": (S.EXCEPTION, R.ADDRESS),
    "208": (S.EXCEPTION, R.HELD),
    "209": (S.EXCEPTION, R.DAMAGED),
    "210": (S.EXCEPTION, R.OTHER),
}


def _documented_codes() -> set[str]:
    table = load("state_codes")
    codes = set(table["base_states"]) | set(table["legacy_customs_states"])
    for group in table["advanced_states"].values():
        codes |= set(group)
    return codes


def test_every_documented_state_code_has_a_row() -> None:
    assert _documented_codes() == set(STATE_TABLE) == set(EXPECTED)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_state_row(code: str, expected: tuple[ParcelStatus, ParcelIssue | None]) -> None:
    body = load("query_response_ok_basic") | {"state": code}
    tracking = to_tracking(QueryResponse.model_validate(body), "YT9693083639795", "yto")
    assert (tracking.status, tracking.issue) == expected
    assert tracking.raw_status == code
    assert (tracking.delivered_at is not None) == (expected[0] is S.DELIVERED)


def test_an_unknown_state_is_an_exception_to_look_at() -> None:
    """A code Kuaidi100's table does not list is neither delivered nor quietly in transit."""
    body = load("query_response_ok_basic") | {"state": "999"}
    tracking = to_tracking(QueryResponse.model_validate(body), "n", None)
    assert (tracking.status, tracking.issue) == (S.EXCEPTION, R.OTHER)
    assert tracking.raw_status == "999"


@pytest.mark.parametrize(
    ("code", "com"), [("sf", "shunfeng"), ("yto", "yuantong"), ("chinapost", "youzhengguonei")]
)
def test_carrier_codes_round_trip(code: str, com: str) -> None:
    assert com_for(code) == com
    assert carrier_for(com) == code


def test_unmapped_codes_pass_through() -> None:
    assert com_for("huitongkuaidi") == "huitongkuaidi"
    assert carrier_for("zhaijisong") == "zhaijisong"
    assert com_for(None) is None


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("400", RemoteRejectedError),
        ("501", TransientError),
        ("502", TransientError),
        ("503", AuthenticationError),
        ("601", RateLimitError),
    ],
)
def test_error_codes(code: str, error: type[Exception]) -> None:
    found = error_for(load(f"query_response_error_{code}"))
    assert isinstance(found, error)
    assert found.code == code


def test_no_result_and_success_are_not_errors() -> None:
    assert error_for(load("query_response_error_500")) is None
    assert error_for(load("query_response_ok_basic")) is None
