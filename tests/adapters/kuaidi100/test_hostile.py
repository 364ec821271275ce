"""Answers and pushes Kuaidi100 never documented, the way a broken gateway or an attacker
sends them.

Payloads are the documented ones (``query_response_ok_resultv2_4_signed``,
``subscribe_push_callback_form``, both after Kuaidi100's real-time query and
push documents) with one thing broken. Every bad answer is a one-line error
naming the payload and field, or a per-number error, never a tracking stored
against the asked parcel; no unknown code reads as delivered; nothing leaks.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
import responses
from aftersales_kuaidi100 import Kuaidi100Carrier, push_sign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales.errors import (
    AfterSalesError,
    RemoteError,
    ResponseParseError,
    SignatureError,
    ValidationError,
)
from aftersales.models import ParcelIssue, ParcelStatus, TrackQuery, TrackResult
from aftersales.testing import digest_comparisons

from .conftest import AUTONUMBER_URL, CUSTOMER, KEY, QUERY_URL, SALT, load

NUMBER = "YT9693083639795"
PII = ("张三", "13800138000", "北京市朝阳区建国路88号")


def _answer(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(load("query_response_ok_resultv2_4_signed"))
    body.update(changes)
    return body


def _track(carrier: Kuaidi100Carrier, answer: Any, **reply: Any) -> TrackResult:
    with responses.RequestsMock() as mock:
        if "body" in reply:
            mock.post(QUERY_URL, **reply)
        else:
            mock.post(QUERY_URL, json=answer, **reply)
        [result] = carrier.track([TrackQuery(number=NUMBER, carrier="yto")])
    return result


def _push(param: dict[str, Any] | str, sign: str | None = None) -> bytes:
    text = param if isinstance(param, str) else json.dumps(param, ensure_ascii=False)
    return urlencode({"param": text, "sign": push_sign(text, SALT) if sign is None else sign}
                     ).encode()


def _push_param(**last: Any) -> dict[str, Any]:
    param: dict[str, Any] = json.loads(load("subscribe_push_callback_form")["param"])
    param["lastResult"].update(last)
    return param


@pytest.mark.parametrize("state", ["99", "305", "-1", "x" * 300, "３"])
def test_an_unknown_state_is_an_exception_never_delivered(
        carrier: Kuaidi100Carrier, state: str) -> None:
    tracking = _track(carrier, _answer(state=state)).tracking
    assert tracking is not None
    assert (tracking.status, tracking.issue) == (ParcelStatus.EXCEPTION, ParcelIssue.OTHER)
    assert tracking.delivered_at is None


@pytest.mark.parametrize(("state", "ischeck", "status"), [
    ("3", "0", ParcelStatus.DELIVERED),  # the doc: rely on state, not on ischeck
    ("0", "1", ParcelStatus.IN_TRANSIT),
    ("4", "1", ParcelStatus.RETURNED),  # signed for by the sender: no delivery
    ("14", "1", ParcelStatus.EXCEPTION),
])
def test_state_decides_whatever_ischeck_says(
        carrier: Kuaidi100Carrier, state: str, ischeck: str, status: ParcelStatus) -> None:
    tracking = _track(carrier, _answer(state=state, ischeck=ischeck)).tracking
    assert tracking is not None
    assert tracking.status is status


@pytest.mark.parametrize(("body", "code"), [
    ({"result": False, "returnCode": "400", "message": "找不到对应公司"}, "400"),
    ({"result": False, "returnCode": "408", "message": "验证码错误"}, "408"),
    ({"result": "false", "returnCode": "400", "message": "找不到对应公司"}, "400"),
    ({"returnCode": "408", "message": "验证码错误"}, "408"),  # no result flag at all
    # the success answer's shape, with a failed status and nothing in it
    ({"message": "找不到对应公司", "nu": "", "ischeck": "0", "com": "", "status": "400",
      "state": "0", "data": []}, "400"),
])
def test_an_error_envelope_with_200_is_a_per_number_error(
        carrier: Kuaidi100Carrier, body: dict[str, Any], code: str) -> None:
    result = _track(carrier, body)
    assert result.tracking is None
    assert result.error_code == code


def test_no_result_yet_is_pending(carrier: Kuaidi100Carrier) -> None:
    body = {"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}
    tracking = _track(carrier, body).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.PENDING


@pytest.mark.parametrize("code", ["\n", "4\n00", "9" * 100_000, "<b>", " "])
def test_an_error_code_that_is_no_code_stays_out_of_the_error_text(
        carrier: Kuaidi100Carrier, code: str) -> None:
    for body in ({"result": False, "returnCode": code}, {"status": code, "message": "x"}):
        with pytest.raises(RemoteError) as caught:
            _track(carrier, body)
        said = str(caught.value)
        assert "\n" not in said
        assert len(said) < 200
        assert caught.value.code is None


def test_a_subscription_code_that_is_no_code_stays_out_of_the_error_text(
        carrier: Kuaidi100Carrier) -> None:
    with responses.RequestsMock() as mock:
        mock.post("https://poll.kuaidi100.com/poll",
                  json={"result": False, "returnCode": "7\n00", "message": "x"})
        with pytest.raises(RemoteError) as caught:
            carrier.subscribe(NUMBER, "yto", callback_url="https://example.com/cb")
    assert "\n" not in str(caught.value)
    assert caught.value.code is None


@pytest.mark.parametrize("body", [{}, {"message": "ok"}, {"status": "0", "message": "验证码错误"},
                                  {"result": True}])
def test_an_answer_that_is_no_answer_is_refused(
        carrier: Kuaidi100Carrier, body: dict[str, Any]) -> None:
    with pytest.raises(RemoteError):
        _track(carrier, body)


@pytest.mark.parametrize("reply", [
    {"body": "<html><body>系统维护中</body></html>", "content_type": "text/html"},
    {"body": '{"message":"ok","nu":"YT9693083639795","data":[{"time":"2024-'},
    {"body": "", "status": 200},
])
def test_html_and_truncated_answers_are_parse_errors(
        carrier: Kuaidi100Carrier, reply: dict[str, Any]) -> None:
    with pytest.raises(ResponseParseError):
        _track(carrier, None, **reply)


@pytest.mark.parametrize("changes", [{"nu": "YT0000000000001"}, {"com": "zhongtong"}])
def test_an_answer_for_another_parcel_is_not_stored_against_the_asked_one(
        carrier: Kuaidi100Carrier, changes: dict[str, Any]) -> None:
    result = _track(carrier, _answer(**changes))
    assert result.tracking is None
    assert result.error_code == "mismatch"


@pytest.mark.parametrize("com", ["y" * 200, "yuan\ntong", "<b>yuantong</b>", "圆通"])
def test_a_carrier_code_that_is_no_code_is_refused(carrier: Kuaidi100Carrier, com: str) -> None:
    with pytest.raises(ResponseParseError):
        _track(carrier, _answer(com=com))
    with pytest.raises(ValidationError):
        carrier.parse_push(_push(_push_param(com=com)), {})
    with responses.RequestsMock() as mock:
        mock.post(AUTONUMBER_URL, json=[{"comCode": com, "name": "x"}])
        with pytest.raises(ResponseParseError):
            carrier.detect(NUMBER)


def test_an_answer_of_the_wrong_shape_names_the_field_and_quotes_nothing(
        carrier: Kuaidi100Carrier) -> None:
    body = _answer()
    body["data"][0]["context"] = {"phone": PII[1]}
    with pytest.raises(ResponseParseError) as caught:
        _track(carrier, body)
    assert "data.0.context" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_the_same_number_in_other_spelling_is_the_asked_one(carrier: Kuaidi100Carrier) -> None:
    result = _track(carrier, _answer(nu=NUMBER.lower()))
    assert result.tracking is not None


@pytest.mark.parametrize("ftime", ["2999-01-01 00:00:00", "nonsense", "1999-12-31 23:59:59",
                                   "2024-13-45 25:61:61", 10**20, True])
def test_a_scan_time_that_is_no_time_is_a_per_number_error(
        carrier: Kuaidi100Carrier, ftime: Any) -> None:
    body = _answer()
    body["data"][2]["ftime"] = ftime
    result = _track(carrier, body)
    assert result.tracking is None
    assert result.error_code == "invalid"
    assert result.error is not None
    assert "data[2].ftime" in result.error
    assert "kuaidi100" in result.error


@pytest.mark.parametrize(("ftime", "utc_hour"), [
    ("2024-05-03 18:52:32", 10),  # China time, as documented
    ("2024-05-03T18:52:32+02:00", 16),  # an offset is honoured
    ("2024-05-03T10:52:32Z", 10),
    (1714733552, 10),  # epoch seconds
    ("1714733552000", 10),  # epoch milliseconds as digits
])
def test_scan_times_in_other_forms_are_read_exactly(
        carrier: Kuaidi100Carrier, ftime: Any, utc_hour: int) -> None:
    body = _answer()
    body["data"][0]["ftime"] = ftime
    tracking = _track(carrier, body).tracking
    assert tracking is not None
    assert tracking.delivered_at is not None
    assert tracking.delivered_at.tzinfo is not None
    assert tracking.delivered_at.utcoffset() is not None
    assert tracking.delivered_at.hour == utc_hour


def test_scans_out_of_order_or_twice_come_out_ordered(carrier: Kuaidi100Carrier) -> None:
    body = _answer()
    body["data"] = list(reversed(body["data"])) + body["data"][:2]
    tracking = _track(carrier, body).tracking
    assert tracking is not None
    times = [e.time for e in tracking.events]
    assert times == sorted(times)
    assert len(times) == len(set(times)) == len(_answer()["data"])
    assert tracking.status is ParcelStatus.DELIVERED


def test_nul_bytes_and_100_kb_texts_do_not_break_the_answer(carrier: Kuaidi100Carrier) -> None:
    body = _answer()
    body["data"][0]["location"] = "深" * 100_000
    body["data"][0]["context"] = "已签收\x00" * 20_000
    tracking = _track(carrier, body).tracking
    assert tracking is not None
    assert tracking.status is ParcelStatus.DELIVERED


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                      st.integers(), max_size=2)))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_value_of_any_field_is_read_or_refused_cleanly(
        carrier: Kuaidi100Carrier, value: Any) -> None:
    for field in ("state", "nu", "com", "ischeck", "data", "status"):
        body = _answer(**{field: value})
        try:
            result = _track(carrier, body)
        except AfterSalesError as exc:
            said = str(exc)
            assert "\n" not in said
            continue
        if result.tracking is not None:
            assert result.tracking.number.upper() == NUMBER
            if field == "state" and str(value) not in ("3", "301", "302", "303", "304"):
                assert result.tracking.status is not ParcelStatus.DELIVERED


# ---------------------------------------------------------------- pushes


def test_a_push_whose_sign_differs_in_any_way_is_refused(carrier: Kuaidi100Carrier) -> None:
    param = _push_param()
    good = push_sign(json.dumps(param, ensure_ascii=False), SALT)
    for sign in ["", " ", good[:-1], good + "0", "é" * 32, good[::-1], "0" * 32,
                 push_sign(json.dumps(param, ensure_ascii=False), "othersalt")]:
        with pytest.raises(SignatureError):
            carrier.parse_push(_push(param, sign), {})
    unsigned = urlencode({"param": json.dumps(param)}).encode()
    with pytest.raises(SignatureError):
        carrier.parse_push(unsigned, {})


def test_push_signatures_are_compared_in_constant_time(carrier: Kuaidi100Carrier) -> None:
    with digest_comparisons() as seen, pytest.raises(SignatureError):
        carrier.parse_push(_push(_push_param(), "0" * 32), {})
    assert seen


@pytest.mark.parametrize("last", [{"nu": ""}, {"nu": "   "}])
def test_a_signed_push_without_a_number_is_refused(
        carrier: Kuaidi100Carrier, last: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(_push(_push_param(**last)), {})
    assert caught.value.field == "lastResult.nu"


@pytest.mark.parametrize("ftime", ["2999-01-01 00:00:00", "昨天", "0000-00-00 00:00:00"])
def test_a_signed_push_with_a_time_that_is_no_time_is_refused_by_name(
        carrier: Kuaidi100Carrier, ftime: str) -> None:
    param = _push_param()
    param["lastResult"]["data"][0]["ftime"] = ftime
    with pytest.raises(ValidationError) as caught:
        carrier.parse_push(_push(param), {})
    assert caught.value.field == "data[0].ftime"
    assert caught.value.payload == "kuaidi100 push"


def test_a_signed_push_with_an_unknown_state_is_an_exception(carrier: Kuaidi100Carrier) -> None:
    [tracking] = carrier.parse_push(_push(_push_param(state="77")), {})
    assert tracking.status is ParcelStatus.EXCEPTION


@pytest.mark.parametrize("body", [b"\xff\xfe\x00", b"param=%7B&sign=x", b"", b"sign=abc",
                                  b"param=" + b"a" * 100_000])
def test_a_body_that_is_no_push_is_refused_without_a_traceback(
        carrier: Kuaidi100Carrier, body: bytes) -> None:
    with pytest.raises((ValidationError, SignatureError)) as caught:
        carrier.parse_push(body, {})
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- nothing leaks


def test_no_key_phone_name_or_address_reaches_a_log_or_an_error(
        carrier: Kuaidi100Carrier, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    words = f"收件人{PII[0]} 电话{PII[1]} 地址{PII[2]} key={KEY}"
    texts: list[str] = []
    with responses.RequestsMock() as mock:
        mock.post(QUERY_URL, json={"result": False, "returnCode": "408", "message": words})
        mock.post(QUERY_URL, json={"result": False, "returnCode": "601", "message": words})
        mock.post(QUERY_URL, json={"result": False, "returnCode": "601", "message": words})
        mock.post(QUERY_URL, json={"result": False, "returnCode": "601", "message": words})
        query = TrackQuery(number="SF1234567890123", carrier="sf", phone_suffix="4321")
        [result] = carrier.track([query])
        texts.append(str(result.error))
        with pytest.raises(RemoteError) as caught:
            carrier.track([query])
        texts += [str(caught.value), caught.value.body or ""]
    param = _push_param()
    param["lastResult"]["data"][0]["ftime"] = f"{PII[1]} {PII[0]}"
    with pytest.raises(ValidationError) as refused:
        carrier.parse_push(_push(param), {})
    texts.append(str(refused.value))
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        for secret in (KEY, CUSTOMER, SALT, *PII, "4321"):
            assert secret not in text, (secret, text)

