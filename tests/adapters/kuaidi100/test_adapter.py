"""Kuaidi100Carrier against the documented payloads, through a strict HTTP mock."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import responses
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
from responses import matchers

from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    RemoteRejectedError,
    ResponseParseError,
    SignatureError,
    TransientError,
    ValidationError,
)
from aftersales.interfaces import Capability, Carrier
from aftersales.models import ParcelStatus, TrackQuery

from .conftest import AUTONUMBER_URL, CUSTOMER, KEY, QUERY_URL, load

CST = timezone(timedelta(hours=8))
NUMBER = "YT9693083639795"


def expected_form(param: str) -> dict[str, str]:
    sign = hashlib.md5((param + KEY + CUSTOMER).encode()).hexdigest().upper()
    return {"customer": CUSTOMER, "sign": sign, "param": param}


def test_declares_what_it_does() -> None:
    carrier = Kuaidi100Carrier(Kuaidi100Settings())
    assert isinstance(carrier, Carrier)
    assert carrier.batch_size == 1
    assert carrier.capabilities == {Capability.DETECT_CARRIER, Capability.TRACK, Capability.PUSH}


def test_signed_query_success(mock: responses.RequestsMock, carrier: Kuaidi100Carrier) -> None:
    param = '{"com":"yuantong","num":"YT9693083639795","resultv2":"4","show":"0","order":"desc"}'
    mock.post(
        QUERY_URL,
        json=load("query_response_ok_resultv2_4_signed"),
        match=[matchers.urlencoded_params_matcher(expected_form(param))],
    )
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    tracking = result.tracking
    assert result.error is None
    assert tracking is not None
    assert (tracking.carrier, tracking.number, tracking.provider) == ("yto", NUMBER, "kuaidi100")
    assert tracking.status is ParcelStatus.DELIVERED
    assert tracking.delivered_at == datetime(2024, 5, 3, 18, 52, 32, tzinfo=CST)
    assert [e.status for e in tracking.events] == [
        ParcelStatus.PICKED_UP,
        ParcelStatus.IN_TRANSIT,
        ParcelStatus.OUT_FOR_DELIVERY,
        ParcelStatus.AVAILABLE_FOR_PICKUP,
        ParcelStatus.DELIVERED,
    ]
    assert tracking.events[1].location == "广东,深圳市"


def test_basic_response_without_event_codes(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, json=load("query_response_ok_basic"))
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.IN_TRANSIT
    assert result.tracking.events[0].time == datetime(2024, 5, 1, 21, 3, 11, tzinfo=CST)


def test_phone_suffix_is_sent_for_sf(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    param = (
        '{"com":"shunfeng","num":"SF1234567890123","phone":"5678",'
        '"resultv2":"4","show":"0","order":"desc"}'
    )
    mock.post(
        QUERY_URL,
        json=load("query_response_ok_basic"),
        match=[matchers.urlencoded_params_matcher(expected_form(param))],
    )
    carrier.track([TrackQuery(number="SF1234567890123", carrier="sf", phone_suffix="5678")])


def test_not_found_is_a_pending_tracking(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, json=load("query_response_error_500"))
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    assert result.error is None
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.PENDING
    assert result.tracking.events == []


def test_unknown_carrier_code_is_a_per_number_error(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, json=load("query_response_error_400"))
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    assert result.tracking is None
    assert result.error_code == "400"


def test_bad_key_raises_authentication_error_without_the_secret(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, json=load("query_response_error_503"))
    with pytest.raises(AuthenticationError) as info:
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    assert KEY not in str(info.value)
    assert CUSTOMER not in str(info.value)
    assert KEY not in (info.value.body or "")


def test_quota_used_up_raises_rate_limit_error(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, json=load("query_response_error_601"))
    with pytest.raises(RateLimitError):
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    assert len(mock.calls) == 3  # retried by the one retry layer, then given up


def test_http_429_is_throttling(mock: responses.RequestsMock, carrier: Kuaidi100Carrier) -> None:
    mock.post(QUERY_URL, status=429, body="", headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError) as info:
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    assert info.value.retry_after == 1.0


def test_server_busy_is_transient_and_retried(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, json=load("query_response_error_502"))
    mock.post(QUERY_URL, json=load("query_response_ok_basic"))
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    assert result.tracking is not None
    assert len(mock.calls) == 2


def test_malformed_json(mock: responses.RequestsMock, carrier: Kuaidi100Carrier) -> None:
    mock.post(QUERY_URL, body='{"message": "ok", "state": ', content_type="application/json")
    with pytest.raises(ResponseParseError, match="not valid JSON"):
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])


def test_html_error_page(mock: responses.RequestsMock, carrier: Kuaidi100Carrier) -> None:
    mock.post(QUERY_URL, body="<html><body>502 Bad Gateway</body></html>", status=502)
    with pytest.raises(TransientError):
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])


def test_html_page_with_200_is_a_parse_error(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(ResponseParseError, match="HTML"):
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])


def test_json_of_the_wrong_shape_is_a_parse_error(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(QUERY_URL, json={"data": "not a list"})
    with pytest.raises(ResponseParseError):
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])


def test_detect_uses_autonumber(mock: responses.RequestsMock, carrier: Kuaidi100Carrier) -> None:
    mock.post(
        AUTONUMBER_URL,
        json=load("autonumber_response_ok"),
        match=[matchers.urlencoded_params_matcher({"num": NUMBER, "key": KEY})],
    )
    assert carrier.detect(NUMBER) == ["yto"]


def test_detect_sends_the_number_folded_and_refuses_what_is_no_number(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(
        AUTONUMBER_URL,
        json=load("autonumber_response_ok"),
        match=[matchers.urlencoded_params_matcher({"num": NUMBER, "key": KEY})],
    )
    assert carrier.detect("yt 9693-0836 39795") == ["yto"]
    with pytest.raises(ValidationError, match="number"):
        carrier.detect("YT\x00" + "9" * 300)
    assert len(mock.calls) == 1


def test_track_without_carrier_detects_first(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(AUTONUMBER_URL, json=load("autonumber_response_ok"))
    mock.post(QUERY_URL, json=load("query_response_ok_basic"))
    [result] = carrier.track([TrackQuery(number=NUMBER)])
    assert result.tracking is not None
    assert result.tracking.carrier == "yto"


def test_autonumber_not_a_waybill_gives_a_per_number_error(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(AUTONUMBER_URL, json={"returnCode": "201", "message": "x", "result": False})
    [result] = carrier.track([TrackQuery(number="123")])
    assert result.tracking is None
    assert result.error_code == "201"


@pytest.mark.parametrize(("name", "error"), [("601", RateLimitError), ("701", AuthenticationError)])
def test_autonumber_errors(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier, name: str, error: type[Exception]
) -> None:
    mock.post(AUTONUMBER_URL, json=load(f"autonumber_response_error_{name}"))
    with pytest.raises(error):
        carrier.detect(NUMBER)


def test_more_than_one_number_is_refused_before_any_call(carrier: Kuaidi100Carrier) -> None:
    with pytest.raises(ValidationError, match="queries"):
        carrier.track([TrackQuery(number="a"), TrackQuery(number="b")])


def test_missing_credentials_raise_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("KUAIDI100_KEY", "KUAIDI100_CUSTOMER", "KUAIDI100_SALT"):
        monkeypatch.delenv(var, raising=False)
    carrier = Kuaidi100Carrier()  # constructing needs nothing
    with pytest.raises(ConfigurationError, match="KUAIDI100_KEY"):
        carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    with pytest.raises(ConfigurationError, match="KUAIDI100_SALT"):
        carrier.parse_push(b"param=x&sign=y", {})


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUAIDI100_KEY", KEY)
    monkeypatch.setenv("KUAIDI100_CUSTOMER", CUSTOMER)
    carrier = Kuaidi100Carrier()
    assert carrier.settings.credentials() == (KEY, CUSTOMER)
    assert KEY not in repr(carrier.settings)


def test_push_with_a_good_signature(carrier: Kuaidi100Carrier) -> None:
    body = urlencode(load("subscribe_push_callback_form")).encode()
    [tracking] = carrier.parse_push(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert (tracking.number, tracking.carrier) == (NUMBER, "yto")
    assert tracking.status is ParcelStatus.IN_TRANSIT
    assert tracking.events[0].raw_code == "1002"


def test_push_with_a_bad_signature(carrier: Kuaidi100Carrier) -> None:
    form = load("subscribe_push_callback_form") | {"sign": "0" * 32}
    with pytest.raises(SignatureError):
        carrier.parse_push(urlencode(form).encode(), {})
    unsigned = {"param": form["param"]}
    with pytest.raises(SignatureError):
        carrier.parse_push(urlencode(unsigned).encode(), {})


def test_push_that_is_not_a_push(carrier: Kuaidi100Carrier) -> None:
    with pytest.raises(ValidationError, match="param"):
        carrier.parse_push(b"hello=world", {})
    param = '{"status":"polling"}'
    signed = urlencode({"param": param, "sign": hashlib.md5(b'{"status":"polling"}mysalt')
                        .hexdigest().upper()})
    with pytest.raises(ValidationError, match="lastResult"):
        carrier.parse_push(signed.encode(), {})


def test_subscribe_sends_the_documented_form(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    mock.post(
        "https://poll.kuaidi100.com/poll",
        json=load("subscribe_response_ok"),
        match=[matchers.urlencoded_params_matcher(load("subscribe_request_form"))],
    )
    carrier.subscribe(NUMBER, "yto", callback_url="https://example.com/kd100/callback")


def test_subscribe_sends_the_number_as_the_carrier_writes_it(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier
) -> None:
    # A shop's spelling off the label: Kuaidi100 knows (and pushes) the folded form.
    mock.post(
        "https://poll.kuaidi100.com/poll",
        json=load("subscribe_response_ok"),
        match=[matchers.urlencoded_params_matcher(load("subscribe_request_form"))],
    )
    carrier.subscribe("yt 9693-0836 39795", "yto",
                      callback_url="https://example.com/kd100/callback")


@pytest.mark.parametrize("number", ["", "  ", "YT\x009693", "YT" + "9" * 200, "ＹＴ９６９３\u200b"])
def test_subscribe_refuses_what_is_no_tracking_number_before_any_call(
    mock: responses.RequestsMock, carrier: Kuaidi100Carrier, number: str
) -> None:
    with pytest.raises(ValidationError, match="number"):
        carrier.subscribe(number, "yto", callback_url="https://example.com/kd100/callback")
    assert len(mock.calls) == 0


def test_subscribe_refused(mock: responses.RequestsMock, carrier: Kuaidi100Carrier) -> None:
    mock.post("https://poll.kuaidi100.com/poll",
              json={"result": False, "returnCode": "700", "message": "POLL:不支持的快递公司"})
    with pytest.raises(RemoteRejectedError, match="bad subscription data") as info:
        carrier.subscribe(NUMBER, callback_url="https://example.com/cb")
    assert info.value.code == "700"
    assert len(mock.calls) == 1
