"""The gateway client: exact wire form, and every kind of failure TOP answers with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from aftersales_taobao.client import TaobaoClient, error_from_body, format_time

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteRejectedError,
    ResponseParseError,
    TransientError,
    ValidationError,
)

from .conftest import GATEWAY, NOW, SECRET, SESSION, FakeTop, Sleeps, body, fx, make_settings

REF_FIELDS = "refund_id,status"


@pytest.fixture
def client(sleeps: Sleeps) -> TaobaoClient:
    return TaobaoClient(make_settings(), clock=lambda: NOW, sleep=sleeps)


def _call(client: TaobaoClient, **kw: Any) -> dict[str, Any]:
    return client.call("taobao.refunds.receive.get", {"fields": REF_FIELDS}, **kw)


@pytest.mark.parametrize("name", ["refund_get", "refund_refuse", "rp_refunds_agree",
                                  "rp_returngoods_agree", "traderate_explain_add",
                                  "logistics_trace_search", "traderates_get"])
def test_wire_form_is_exactly_the_reference_request(client: TaobaoClient, name: str) -> None:
    form = dict(fx(name)["request"]["body_form"])
    common = {"method", "app_key", "session", "timestamp", "format", "v", "sign_method", "sign"}
    business = {k: v for k, v in form.items() if k not in common}
    assert client.signed_params(form["method"], business) == form


def test_success_returns_the_inner_response(http: responses.RequestsMock,
                                            client: TaobaoClient) -> None:
    top = FakeTop(http)
    top.queue("taobao.refund.get", body("refund_get"))
    inner = client.call("taobao.refund.get", {"fields": REF_FIELDS, "refund_id": "1"})
    assert inner["refund"]["status"] == "WAIT_SELLER_CONFIRM_GOODS"
    sent = top.calls[0]
    assert sent["session"] == SESSION
    assert sent["timestamp"] == "2024-05-20 10:00:00"
    assert (sent["format"], sent["v"], sent["sign_method"]) == ("json", "2.0", "md5")


@pytest.mark.parametrize("method", ["hmac", "hmac-sha256"])
def test_other_sign_methods_pass_the_gateway(http: responses.RequestsMock, method: str) -> None:
    top = FakeTop(http)
    top.queue("taobao.refund.get", body("refund_get"))
    client = TaobaoClient(make_settings(sign_method=method), clock=lambda: NOW)
    client.call("taobao.refund.get", {"refund_id": "1"})
    assert top.calls[0]["sign_method"] == method


def test_call_limit_waits_the_announced_ban_then_succeeds(
    http: responses.RequestsMock, client: TaobaoClient, sleeps: Sleeps
) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", body("error_app_call_limited"),
              body("refunds_receive_get"))
    inner = _call(client)
    assert inner["refunds"]["refund"][0]["refund_id"] == "123456789012345678"
    assert sleeps == [72.0]  # "This ban will last for 71 more seconds", plus one
    assert len(top.calls) == 2


def test_call_limit_on_a_write_is_also_retried(
    http: responses.RequestsMock, client: TaobaoClient, sleeps: Sleeps
) -> None:
    top = FakeTop(http)
    top.queue("taobao.rp.refunds.agree", body("error_app_call_limited"), body("rp_refunds_agree"))
    client.call("taobao.rp.refunds.agree", {"refund_infos": "1|1|1"}, write=True)
    assert sleeps == [72.0]  # a throttled call did nothing, so it is safe to send again


def test_a_ban_too_long_to_wait_goes_to_the_caller(
    http: responses.RequestsMock, client: TaobaoClient, sleeps: Sleeps
) -> None:
    limited = body("error_app_call_limited")
    limited["error_response"]["sub_msg"] = "This ban will last for 3600 more seconds"
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", limited)
    with pytest.raises(RateLimitError) as info:
        _call(client)
    assert info.value.retry_after == 3601.0
    assert sleeps == []
    assert len(top.calls) == 1


def test_daily_quota_without_a_stated_ban_waits_until_china_midnight() -> None:
    limited = body("error_app_call_limited")
    limited["error_response"]["sub_msg"] = "daily quota used up"
    error = error_from_body(limited, now=lambda: NOW)  # 10:00 in Shanghai
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 14 * 3600
    assert error.code == "7/accesscontrol.limited-by-app-access-count"


@pytest.mark.parametrize("code", [4, 5, 6, 8])
def test_every_call_limit_code_is_a_rate_limit(code: int) -> None:
    error = error_from_body({"error_response": {"code": code, "msg": "Call Limited"}})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 1.0


def test_isp_error_is_retried_on_a_read(
    http: responses.RequestsMock, client: TaobaoClient, sleeps: Sleeps
) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", body("error_isp_remote_service"),
              body("refunds_receive_get"))
    _call(client)
    assert len(top.calls) == 2
    assert len(sleeps) == 1


def test_isp_error_on_a_write_is_not_blindly_resent(
    http: responses.RequestsMock, client: TaobaoClient
) -> None:
    top = FakeTop(http)
    top.queue("taobao.refund.refuse", body("error_isp_remote_service"))
    with pytest.raises(TransientError, match=r"isp\.remote-service-error"):
        client.call("taobao.refund.refuse", {"refund_id": "1"}, write=True)
    assert len(top.calls) == 1


def test_isp_error_gives_up_after_the_attempts(
    http: responses.RequestsMock, client: TaobaoClient, sleeps: Sleeps
) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", *[body("error_isp_remote_service")] * 4)
    with pytest.raises(TransientError) as info:
        _call(client)
    assert info.value.request_id == "3xwd8ytm3gsr"
    assert len(top.calls) == 4
    assert len(sleeps) == 3


def test_isv_error_is_not_retried(http: responses.RequestsMock, client: TaobaoClient,
                                  sleeps: Sleeps) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", body("error_isv_invalid_parameter"))
    with pytest.raises(RemoteRejectedError) as info:
        _call(client)
    assert info.value.code == "15/isv.invalid-parameter"
    assert "page_size" in str(info.value)
    assert (len(top.calls), sleeps) == (1, [])


def test_bad_secret_is_an_authentication_error(http: responses.RequestsMock,
                                               sleeps: Sleeps) -> None:
    top = FakeTop(http)  # verifies with the real secret, answers code 25 to a bad sign
    client = TaobaoClient(make_settings(app_secret="wrong-secret"), clock=lambda: NOW,
                          sleep=sleeps)
    with pytest.raises(AuthenticationError, match="Invalid signature") as info:
        _call(client)
    assert info.value.request_id == "109wcmcgllsj1"
    assert (len(top.calls), sleeps) == (1, [])
    assert "wrong-secret" not in str(info.value)


@pytest.mark.parametrize(("code", "msg"), [(27, "Invalid session"), (26, "Missing session"),
                                           (29, "Invalid app Key"), (11, "Insufficient ISV")])
def test_session_and_key_errors_are_authentication_errors(
    http: responses.RequestsMock, client: TaobaoClient, code: int, msg: str
) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", {"error_response": {"code": code, "msg": msg}})
    with pytest.raises(AuthenticationError, match=msg) as info:
        _call(client)
    assert len(top.calls) == 1
    assert SESSION not in str(info.value) + str(info.value.body)
    assert SECRET not in str(info.value) + str(info.value.body)


def test_malformed_json_is_a_parse_error(http: responses.RequestsMock,
                                         client: TaobaoClient) -> None:
    http.add(responses.POST, GATEWAY, body='{"refunds_receive_get_response": {"refunds": [',
             content_type="application/json")
    with pytest.raises(ResponseParseError, match="not valid JSON"):
        _call(client)


def test_html_error_page_with_200_is_a_parse_error(http: responses.RequestsMock,
                                                   client: TaobaoClient) -> None:
    http.add(responses.POST, GATEWAY, body="<html><body>系统繁忙</body></html>",
             content_type="text/html")
    with pytest.raises(ResponseParseError, match="HTML"):
        _call(client)


def test_html_bad_gateway_is_transient_and_retried(
    http: responses.RequestsMock, client: TaobaoClient, sleeps: Sleeps
) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", (502, "<html>502 Bad Gateway</html>"),
              body("refunds_receive_get"))
    _call(client)
    assert len(top.calls) == 2


def test_answer_without_the_response_object_is_a_parse_error(
    http: responses.RequestsMock, client: TaobaoClient
) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", {"something_else": {}})
    with pytest.raises(ResponseParseError, match="refunds_receive_get_response"):
        _call(client)


def test_read_timeout_on_a_read_is_retried(http: responses.RequestsMock, client: TaobaoClient,
                                           sleeps: Sleeps) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", requests.exceptions.ReadTimeout("slow"),
              body("refunds_receive_get"))
    _call(client)
    assert len(top.calls) == 2


def test_timestamps_are_china_time() -> None:
    assert format_time(datetime(2024, 5, 19, 16, 30, tzinfo=UTC)) == "2024-05-20 00:30:00"
    with pytest.raises(ValidationError, match="aware"):
        format_time(datetime(2024, 5, 19, 16, 30))


def test_success_bodies_are_not_errors() -> None:
    assert error_from_body(body("refund_get")) is None
    assert error_from_body([1, 2]) is None


def test_secrets_never_reach_the_log(http: responses.RequestsMock, client: TaobaoClient,
                                     caplog: pytest.LogCaptureFixture) -> None:
    top = FakeTop(http)
    top.queue("taobao.refunds.receive.get", body("error_isp_remote_service"),
              body("refunds_receive_get"))
    with caplog.at_level("DEBUG", logger="aftersales"):
        _call(client)
    text = caplog.text
    assert "taobao" in text  # something was logged
    for secret in (SECRET, SESSION, top.calls[0]["sign"]):
        assert secret not in text
