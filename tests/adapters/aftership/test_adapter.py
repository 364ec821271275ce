"""AfterShipCarrier against the documented payloads, through a strict HTTP mock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses
from aftersales_aftership import AfterShipCarrier, AfterShipSettings
from responses import matchers

from aftersales.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    ResponseParseError,
    SignatureError,
    TransientError,
    ValidationError,
)
from aftersales.interfaces import Capability, Carrier
from aftersales.models import ParcelStatus, TrackQuery

from .conftest import API_KEY, BASE, compact, listing, load

NUMBER = "9400111899223197428490"
LIST = f"{BASE}/trackings"
EST = timezone(timedelta(hours=-5))


def test_declares_what_it_does() -> None:
    carrier = AfterShipCarrier(AfterShipSettings())
    assert isinstance(carrier, Carrier)
    assert carrier.batch_size == 50
    assert carrier.capabilities == {Capability.TRACK, Capability.PUSH}


def test_listing_success(mock: responses.RequestsMock, carrier: AfterShipCarrier) -> None:
    mock.get(
        LIST,
        json=listing(load("get_tracking_response_2025-01")["data"]),
        match=[
            matchers.header_matcher({"as-api-key": API_KEY}),
            matchers.query_param_matcher({"tracking_numbers": NUMBER, "limit": "1"},
                                        strict_match=False),  # and created_at_min
        ],
    )
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="usps")])
    tracking = result.tracking
    assert tracking is not None
    assert (tracking.carrier, tracking.status, tracking.provider) == (
        "usps",
        ParcelStatus.DELIVERED,
        "aftership",
    )
    assert tracking.delivered_at == datetime(2025, 3, 3, 11, 31, tzinfo=EST)
    assert next(e.status for e in tracking.events) is ParcelStatus.PICKED_UP


def test_unknown_number_is_created_and_pending(
    mock: responses.RequestsMock, carrier: AfterShipCarrier
) -> None:
    mock.get(LIST, json=listing())
    mock.post(
        LIST,
        json=load("create_tracking_response_2025-01"),
        status=201,
        match=[matchers.json_params_matcher({"tracking_number": NUMBER, "slug": "usps"})],
    )
    [result] = carrier.track([TrackQuery(number=NUMBER, carrier="usps")])
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.PENDING


def test_already_existing_tracking_is_pending(
    mock: responses.RequestsMock, carrier: AfterShipCarrier
) -> None:
    mock.get(LIST, json=listing())
    mock.post(LIST, json=load("error_4003_tracking_already_exists"), status=400)
    [result] = carrier.track([TrackQuery(number=NUMBER)])
    assert result.tracking is not None
    assert result.tracking.status is ParcelStatus.PENDING


def test_invalid_number_is_a_per_number_error(
    mock: responses.RequestsMock, carrier: AfterShipCarrier
) -> None:
    mock.get(LIST, json=listing(load("get_tracking_response_2025-01")["data"]))
    bad = {"meta": {"code": 4005, "message": "invalid", "type": "BadRequest"}, "data": {}}
    mock.post(LIST, json=bad, status=400)
    ok, refused = carrier.track([TrackQuery(number=NUMBER), TrackQuery(number="XX")])
    assert ok.tracking is not None
    assert refused.tracking is None
    assert refused.error_code == "4005"


def test_bad_key(mock: responses.RequestsMock, carrier: AfterShipCarrier) -> None:
    mock.get(LIST, json=load("error_401_invalid_api_key"), status=401)
    with pytest.raises(AuthenticationError) as info:
        carrier.track([TrackQuery(number=NUMBER)])
    assert info.value.code == "401"
    assert API_KEY not in str(info.value)


def test_throttled_honours_rate_limit_reset(
    mock: responses.RequestsMock, carrier: AfterShipCarrier
) -> None:
    mock.get(
        LIST,
        json=load("error_429_too_many_requests"),
        status=429,
        headers={"X-RateLimit-Reset": "0"},
    )
    with pytest.raises(RateLimitError) as info:
        carrier.track([TrackQuery(number=NUMBER)])
    assert info.value.retry_after == 0.0
    assert len(mock.calls) == 3


def test_server_error_is_transient(mock: responses.RequestsMock, carrier: AfterShipCarrier) -> None:
    mock.get(LIST, body="<html><body>Bad gateway</body></html>", status=502)
    with pytest.raises(TransientError):
        carrier.track([TrackQuery(number=NUMBER)])


def test_html_page_with_200(mock: responses.RequestsMock, carrier: AfterShipCarrier) -> None:
    mock.get(LIST, body="<!doctype html><title>Login</title>", content_type="text/html")
    with pytest.raises(ResponseParseError, match="HTML"):
        carrier.track([TrackQuery(number=NUMBER)])


def test_malformed_json(mock: responses.RequestsMock, carrier: AfterShipCarrier) -> None:
    mock.get(LIST, body='{"meta": {"code": 200}, "data": {"trackings": [', status=200)
    with pytest.raises(ResponseParseError):
        carrier.track([TrackQuery(number=NUMBER)])


def test_wrong_shape(mock: responses.RequestsMock, carrier: AfterShipCarrier) -> None:
    mock.get(LIST, json={"meta": {"code": 200}, "data": {"trackings": {"slug": "x"}}})
    with pytest.raises(ResponseParseError):
        carrier.track([TrackQuery(number=NUMBER)])


def test_too_many_numbers(carrier: AfterShipCarrier) -> None:
    with pytest.raises(ValidationError, match="queries"):
        carrier.track([TrackQuery(number=str(i)) for i in range(51)])


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AFTERSHIP_API_KEY", raising=False)
    monkeypatch.delenv("AFTERSHIP_WEBHOOK_SECRET", raising=False)
    carrier = AfterShipCarrier()
    with pytest.raises(ConfigurationError, match="AFTERSHIP_API_KEY"):
        carrier.track([TrackQuery(number=NUMBER)])
    with pytest.raises(ConfigurationError, match="AFTERSHIP_WEBHOOK_SECRET"):
        carrier.parse_push(b"{}", {})


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSHIP_API_KEY", API_KEY)
    carrier = AfterShipCarrier()
    assert carrier.settings.require_api_key() == API_KEY
    assert API_KEY not in repr(carrier.settings)


def test_push_with_a_good_signature(carrier: AfterShipCarrier) -> None:
    body = compact(load("webhook_tracking_update"))
    signature = load("webhook_signature_vectors")["vectors"][1]["signature"]
    [tracking] = carrier.parse_push(body, {"Aftership-Hmac-Sha256": signature})
    assert tracking.number == NUMBER
    assert tracking.status is ParcelStatus.DELIVERED


def test_push_with_a_bad_signature(carrier: AfterShipCarrier) -> None:
    body = compact(load("webhook_tracking_update"))
    signature = load("webhook_signature_vectors")["vectors"][1]["signature"]
    with pytest.raises(SignatureError):
        carrier.parse_push(body.replace(b"Delivered", b"InTransit"), {
            "aftership-hmac-sha256": signature
        })
    with pytest.raises(SignatureError):
        carrier.parse_push(body, {})


def test_signed_body_that_is_not_a_webhook(carrier: AfterShipCarrier) -> None:
    vector = load("webhook_signature_vectors")["vectors"][0]
    # the first vector's msg has no tracking_number: signed, but not a usable webhook
    with pytest.raises(ValidationError, match="aftership"):
        carrier.parse_push(vector["raw_body"].encode(), {
            "aftership-hmac-sha256": vector["signature"]
        })


def test_calls_are_paced_to_the_documented_rate(mock: responses.RequestsMock) -> None:
    waits: list[float] = []
    settings = AfterShipSettings(api_key=API_KEY, requests_per_second=6.0)
    carrier = AfterShipCarrier(settings, sleep=waits.append)
    mock.get(LIST, json=listing(load("get_tracking_response_2025-01")["data"]))
    for _ in range(3):
        carrier.track([TrackQuery(number=NUMBER)])
    # the first call passes; the next two wait for a token (the fake sleep lets no
    # time pass, so the second wait adds up to two tokens' worth)
    assert len(waits) == 2
    assert 0 < waits[0] <= 1 / 6 + 1e-6
    assert waits[0] < waits[1] <= 2 / 6 + 1e-6
