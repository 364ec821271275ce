"""SeventeenTrackCarrier against the documented payloads, through a strict HTTP mock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings, webhook_sign
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

from .conftest import BASE, TOKEN, compact, load

INFO = f"{BASE}/gettrackinfo"
REGISTER = f"{BASE}/register"


def test_declares_what_it_does() -> None:
    carrier = SeventeenTrackCarrier(SeventeenTrackSettings())
    assert isinstance(carrier, Carrier)
    assert carrier.batch_size == 40
    assert carrier.capabilities == {Capability.TRACK, Capability.PUSH}


def test_batch_with_accepted_and_unregistered_numbers(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(
        INFO,
        json=load("gettrackinfo_response"),
        match=[
            matchers.header_matcher({"17token": TOKEN}),
            matchers.json_params_matcher(load("gettrackinfo_request")),
        ],
    )
    mock.post(
        REGISTER,
        json={"code": 0, "data": {"accepted": [], "rejected": []}},
        match=[matchers.json_params_matcher([{"number": "LX000000000CN"}])],
    )
    delivered, unregistered = carrier.track(
        [
            TrackQuery(number="RR123456789CN", carrier="chinapost"),
            TrackQuery(number="LX000000000CN"),
        ]
    )
    tracking = delivered.tracking
    assert tracking is not None
    assert (tracking.carrier, tracking.status) == ("chinapost", ParcelStatus.DELIVERED)
    assert tracking.delivered_at == datetime(2024, 5, 10, 12, 34, tzinfo=UTC)
    assert [e.status for e in tracking.events] == [
        ParcelStatus.PICKED_UP,
        ParcelStatus.IN_TRANSIT,
        ParcelStatus.DELIVERED,
    ]
    assert tracking.events[-1].location == "BERLIN, DE"
    assert unregistered.tracking is not None
    assert unregistered.tracking.status is ParcelStatus.PENDING


def test_a_refused_number_does_not_fail_the_batch(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    body = load("gettrackinfo_response")
    body["data"]["rejected"][0]["error"] = {"code": -18019903, "message": "carrier not detected"}
    mock.post(INFO, json=body)
    queries = [TrackQuery(number="RR123456789CN"), TrackQuery(number="LX000000000CN")]
    ok, refused = carrier.track(queries)
    assert ok.tracking is not None
    assert refused.tracking is None
    assert refused.error_code == "-18019903"


def test_bad_key(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    error = {"code": -18010002, "message": "Invalid security key"}
    mock.post(INFO, json={"code": -18010002, "data": {"errors": [error]}})
    with pytest.raises(AuthenticationError) as info:
        carrier.track([TrackQuery(number="RR123456789CN")])
    assert TOKEN not in str(info.value)


def test_http_401(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    mock.post(INFO, status=401, body="")
    with pytest.raises(AuthenticationError):
        carrier.track([TrackQuery(number="RR123456789CN")])


def test_throttled(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    mock.post(INFO, status=429, body="", headers={"Retry-After": "2"})
    with pytest.raises(RateLimitError) as info:
        carrier.track([TrackQuery(number="RR123456789CN")])
    assert info.value.retry_after == 2.0
    assert len(mock.calls) == 3


def test_quota_exhausted(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    body = load("gettrackinfo_response")
    body["data"]["rejected"][0]["error"] = {"code": -18019908, "message": "quota"}
    mock.post(INFO, json=body)
    with pytest.raises(RateLimitError):
        carrier.track([TrackQuery(number="LX000000000CN")])


def test_batch_limit_exceeded_is_refused(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(INFO, json=load("response_batch_limit_exceeded"))
    with pytest.raises(RemoteRejectedError) as info:
        carrier.track([TrackQuery(number="RR123456789CN")])
    assert info.value.code == "-18010014"


def test_more_than_40_numbers_are_refused_before_any_call(carrier: SeventeenTrackCarrier) -> None:
    with pytest.raises(ValidationError, match="queries"):
        carrier.track([TrackQuery(number=f"RR{i:09d}CN") for i in range(41)])


def test_server_error_is_transient(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(INFO, json={"code": -18010003, "data": {}})
    with pytest.raises(TransientError):
        carrier.track([TrackQuery(number="RR123456789CN")])


def test_malformed_json(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    mock.post(INFO, body='{"code": 0, "data": {', content_type="application/json")
    with pytest.raises(ResponseParseError):
        carrier.track([TrackQuery(number="RR123456789CN")])


def test_html_error_page(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    mock.post(INFO, body="<html><h1>503 Service Unavailable</h1></html>", status=503)
    with pytest.raises(TransientError):
        carrier.track([TrackQuery(number="RR123456789CN")])
    assert len(mock.calls) == 3


def test_html_with_200(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    mock.post(INFO, body="<html>login</html>", content_type="text/html")
    with pytest.raises(ResponseParseError, match="HTML"):
        carrier.track([TrackQuery(number="RR123456789CN")])


def test_wrong_shape(mock: responses.RequestsMock, carrier: SeventeenTrackCarrier) -> None:
    mock.post(INFO, json={"code": 0, "data": {"accepted": {"no_number": 1}}})
    with pytest.raises(ResponseParseError):
        carrier.track([TrackQuery(number="RR123456789CN")])


def test_missing_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEVENTEENTRACK_TOKEN", raising=False)
    monkeypatch.delenv("SEVENTEENTRACK_WEBHOOK_KEY", raising=False)
    carrier = SeventeenTrackCarrier()
    with pytest.raises(ConfigurationError, match="SEVENTEENTRACK_TOKEN"):
        carrier.track([TrackQuery(number="RR123456789CN")])
    with pytest.raises(ConfigurationError):
        carrier.parse_push(b"{}", {"sign": "x"})


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEVENTEENTRACK_TOKEN", TOKEN)
    carrier = SeventeenTrackCarrier()
    assert carrier.settings.require_token() == TOKEN
    assert TOKEN not in repr(carrier.settings)


def test_push_with_a_good_signature(carrier: SeventeenTrackCarrier) -> None:
    body = compact(load("webhook_tracking_updated"))
    sign = load("webhook_sign_vectors")["vectors"][1]["sign"]
    [tracking] = carrier.parse_push(body, {"Sign": sign, "Content-Type": "application/json"})
    assert (tracking.number, tracking.carrier) == ("RR123456789CN", "chinapost")
    assert tracking.status is ParcelStatus.DELIVERED


def test_push_with_a_bad_signature(carrier: SeventeenTrackCarrier) -> None:
    body = compact(load("webhook_tracking_updated"))
    with pytest.raises(SignatureError):
        carrier.parse_push(body, {"sign": "0" * 64})
    with pytest.raises(SignatureError):
        carrier.parse_push(body, {})
    tampered = body.replace(b"Delivered_Other", b"InTransit_Other")
    with pytest.raises(SignatureError):
        carrier.parse_push(tampered, {"sign": load("webhook_sign_vectors")["vectors"][1]["sign"]})


def test_tracking_stopped_push_marks_the_number_stopped(carrier: SeventeenTrackCarrier) -> None:
    body = compact(load("webhook_tracking_stopped"))
    [tracking] = carrier.parse_push(body, {"sign": webhook_sign(body, TOKEN)})
    assert (tracking.number, tracking.carrier) == ("RR123456789CN", "chinapost")
    assert tracking.push_stopped
    assert (tracking.status, tracking.raw_status, tracking.events) == (
        ParcelStatus.PENDING, None, [])  # no track_info: nothing said of the parcel


def test_tracking_stopped_push_with_track_info_keeps_it(carrier: SeventeenTrackCarrier) -> None:
    hook = load("webhook_tracking_updated")
    hook["event"] = "TRACKING_STOPPED"
    body = compact(hook)
    [tracking] = carrier.parse_push(body, {"sign": webhook_sign(body, TOKEN)})
    assert tracking.push_stopped
    assert tracking.status is ParcelStatus.DELIVERED


def test_signed_garbage_is_a_validation_error(carrier: SeventeenTrackCarrier) -> None:
    body = b'{"hello": "world"}'
    with pytest.raises(ValidationError, match="17track"):
        carrier.parse_push(body, {"sign": webhook_sign(body, TOKEN)})


def test_a_refused_registration_is_a_per_number_error(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(INFO, json=load("gettrackinfo_response"))
    refusal = {"code": -18019903, "message": "carrier cannot be detected"}
    mock.post(REGISTER, json={"code": 0, "data": {"accepted": [], "rejected": [
        {"number": "LX000000000CN", "error": refusal}]}})
    _, refused = carrier.track([TrackQuery(number="RR123456789CN"),
                                TrackQuery(number="LX000000000CN")])
    assert refused.tracking is None
    assert refused.error_code == "-18019903"


def test_registration_already_done_is_pending(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(INFO, json=load("gettrackinfo_response"))
    body = load("register_response")
    body["data"]["rejected"][0]["number"] = "LX000000000CN"  # -18019901: already registered
    mock.post(REGISTER, json=body)
    _, again = carrier.track([TrackQuery(number="RR123456789CN"),
                              TrackQuery(number="LX000000000CN")])
    assert again.tracking is not None
    assert again.tracking.status is ParcelStatus.PENDING


def test_registration_out_of_quota(
    mock: responses.RequestsMock, carrier: SeventeenTrackCarrier
) -> None:
    mock.post(INFO, json=load("gettrackinfo_response"))
    quota = {"code": -18019908, "message": "quota exhausted"}
    mock.post(REGISTER, json={"code": 0, "data": {"rejected": [
        {"number": "LX000000000CN", "error": quota}]}})
    with pytest.raises(RateLimitError):
        carrier.track([TrackQuery(number="LX000000000CN")])
