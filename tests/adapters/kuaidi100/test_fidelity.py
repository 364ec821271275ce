"""Kuaidi100 against what it documents and really sends: subscription codes, stopped pushes,
sub-states that agree with their parents, https only."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import responses
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
from aftersales_kuaidi100.mapping import (
    PARENT,
    REFINEMENTS,
    STATE_TABLE,
    SUBSCRIBE_CODES,
    push_sign,
    subscribe_error,
    to_tracking,
)
from aftersales_kuaidi100.schemas import QueryResponse

from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    RemoteError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.models import ParcelStatus

from .conftest import SALT

PLATFORM = Path(__file__).parent / "fixtures" / "platform"
SUBSCRIBE_URL = "https://poll.kuaidi100.com/poll"


def doc(name: str) -> dict[str, Any]:
    """A payload Kuaidi100 wrote (``_source`` says where), as a fresh copy."""
    data: dict[str, Any] = json.loads((PLATFORM / f"{name}.json").read_text("utf-8"))
    assert data["_source"].strip()
    return copy.deepcopy(data)


def _push(param: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(param, ensure_ascii=False)
    body = urlencode({"param": text, "sign": push_sign(text, SALT)}).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded"}


def test_at_least_five_platform_payloads_name_their_source() -> None:
    assert len([doc(p.stem) for p in PLATFORM.glob("*.json")]) >= 5


# ---------------------------------------------------------------- subscription


def test_already_subscribed_501_is_a_success_sent_once(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(SUBSCRIBE_URL, json=doc("subscribe_duplicate_501")["body"])
    carrier.subscribe("3805420027268", "yunda", callback_url="https://example.com/kd100")
    assert len(mock.calls) == 1  # no retries of a "server error"


@pytest.mark.parametrize(("code", "kind"), [
    ("200", None), ("501", None), ("500", TransientError), ("600", AuthenticationError),
    ("601", AuthenticationError), ("700", RemoteRejectedError), ("701", RemoteRejectedError),
    ("702", RemoteRejectedError)])
def test_every_subscription_code_has_its_own_meaning(
    code: str, kind: type[RemoteError] | None
) -> None:
    assert set(SUBSCRIBE_CODES) == {"200", "500", "501", "600", "601", "700", "701", "702"}
    error = subscribe_error({"result": code == "200", "returnCode": code, "message": "x"})
    assert (type(error) if error else None) is kind
    if error is not None:
        assert error.code == code


def test_an_unknown_subscription_code_is_a_clear_error_not_retried() -> None:
    error = subscribe_error({"result": False, "returnCode": "999", "message": "?"})
    assert isinstance(error, RemoteError)
    assert error.code == "999"
    assert not error.retryable


def test_a_server_error_on_subscribe_is_retried_and_then_raised(
    mock: responses.RequestsMock, settings: Kuaidi100Settings
) -> None:
    carrier = Kuaidi100Carrier(settings, sleep=lambda s: None)
    for _ in range(3):
        mock.post(SUBSCRIBE_URL, json={"result": False, "returnCode": "500", "message": "服务器错误"})
    with pytest.raises(TransientError):
        carrier.subscribe("3805420027268", "yunda", callback_url="https://example.com/kd100")
    assert len(mock.calls) == 3


# ---------------------------------------------------------------- pushes


def test_a_shutdown_push_is_surfaced_and_the_delivered_parcel_parsed(
    carrier: Kuaidi100Carrier,
) -> None:
    [tracking] = carrier.parse_push(*_push(doc("push_shutdown_yunda_real")["param"]))
    assert tracking.push_stopped
    assert (tracking.number, tracking.carrier) == ("3805420027268", "yunda")
    assert tracking.status is ParcelStatus.DELIVERED
    assert len(tracking.events) == 3


def test_an_abort_push_is_surfaced(carrier: Kuaidi100Carrier) -> None:
    [tracking] = carrier.parse_push(*_push(doc("push_abort_no_trace_real")["param"]))
    assert tracking.push_stopped
    assert not tracking.status.is_terminal
    assert tracking.events == []


def test_a_polling_push_is_not_stopped(carrier: Kuaidi100Carrier) -> None:
    [tracking] = carrier.parse_push(*_push(doc("push_polling_doc_example")["param"]))
    assert not tracking.push_stopped
    assert (tracking.number, tracking.carrier, tracking.status) == (
        "V030344422", "yto", ParcelStatus.IN_TRANSIT)
    assert [e.location for e in tracking.events] == ["上海市", "上海市"]


def test_a_real_delivered_query_answer_maps() -> None:
    response = QueryResponse.model_validate(doc("query_yuantong_delivered_real")["body"])
    tracking = to_tracking(response, "884238800992987778", None)
    assert (tracking.carrier, tracking.status) == ("yto", ParcelStatus.DELIVERED)
    assert tracking.delivered_at is not None
    assert tracking.delivered_at.isoformat() == "2017-02-18T11:15:31+00:00"


# ---------------------------------------------------------------- states and settings


def test_every_advanced_state_has_a_parent_base_state() -> None:
    base = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "14"}
    assert set(PARENT) == set(STATE_TABLE) - base
    assert set(PARENT.values()) <= base


@pytest.mark.parametrize("code", sorted(PARENT))
def test_every_sub_state_agrees_with_its_parent_or_says_why_not(code: str) -> None:
    mine, parents = STATE_TABLE[code], STATE_TABLE[PARENT[code]]
    if code in REFINEMENTS:
        assert mine.status is not parents.status  # a stated refinement really is finer
    else:
        assert mine.status is parents.status, f"{code} disagrees with its parent {PARENT[code]}"


def test_autonumber_is_called_over_https(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post("https://www.kuaidi100.com/autonumber/auto", json=[])
    assert carrier.detect("YT9693083639795") == []
    assert mock.calls[0].request.url.startswith("https://")


@pytest.mark.parametrize("field", ["autonumber_url", "base_url"])
def test_plain_http_endpoints_are_refused(field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        Kuaidi100Settings.from_env({}, **{field: "http://www.kuaidi100.com/x"})
