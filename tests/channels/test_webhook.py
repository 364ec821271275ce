"""The webhook channel: signed POST with a timestamp, retried, with a public verify."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import responses

from aftersales.channels.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    WebhookSettings,
    encode_body,
    sign,
    verify,
)
from aftersales.errors import (
    AuthenticationError,
    ChannelUnavailableError,
    ConfigurationError,
    RateLimitError,
    RemoteRejectedError,
    SignatureError,
    TransientError,
)
from aftersales.http import ApiClient
from aftersales.models import Message

URL = "https://shop.example.com/hooks/aftersales"
SECRET = "whsec_test_0123456789"
NOW = 1_717_000_000


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def _channel(sleeps: list[float] | None = None) -> WebhookChannel:
    record = sleeps if sleeps is not None else []
    client = ApiClient("webhook", max_attempts=3, sleep=record.append)
    return WebhookChannel(WebhookSettings(url=URL, secret=SECRET), api=client,
                          clock=lambda: float(NOW))


def _message() -> Message:
    return Message(to="b1", subject="Hi", body="How was it? 好吗", idempotency_key="fu-42",
                   buyer_id="b1", order_id="A-1", metadata={"plan": "satisfaction"})


def test_known_signature_vector() -> None:
    # HMAC-SHA256(key="secret", msg="1700000000.{}") computed independently.
    import hashlib
    import hmac

    expected = hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("secret", b"{}", 1_700_000_000) == f"v1={expected}"


def test_post_is_signed_and_receiver_can_verify(mocked: responses.RequestsMock) -> None:
    mocked.post(URL, status=202, headers={"X-Request-Id": "rcv-1"})
    receipt = _channel().send(_message())
    request = mocked.calls[0].request
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    assert json.loads(body)["idempotency_key"] == "fu-42"
    assert json.loads(body)["body"] == "How was it? 好吗"
    assert request.headers["Idempotency-Key"] == "fu-42"
    assert request.headers[TIMESTAMP_HEADER] == str(NOW)
    assert verify(SECRET, body, dict(request.headers), now=NOW + 10) == NOW
    assert receipt.message_id == "rcv-1"
    assert receipt.channel == "webhook"


def test_5xx_is_retried_with_same_signature_then_succeeds(
    mocked: responses.RequestsMock,
) -> None:
    mocked.post(URL, status=503)
    mocked.post(URL, status=200)
    sleeps: list[float] = []
    _channel(sleeps).send(_message())
    first, second = (c.request for c in mocked.calls)
    assert first.headers[SIGNATURE_HEADER] == second.headers[SIGNATURE_HEADER]
    assert first.body == second.body
    assert len(sleeps) == 1


def test_5xx_until_attempts_run_out_is_transient(mocked: responses.RequestsMock) -> None:
    for _ in range(3):
        mocked.post(URL, status=502)
    with pytest.raises(TransientError):
        _channel().send(_message())


def test_4xx_is_rejected_without_retry(mocked: responses.RequestsMock) -> None:
    mocked.post(URL, status=422, json={"error": "unknown buyer"})
    with pytest.raises(RemoteRejectedError):
        _channel().send(_message())
    assert len(mocked.calls) == 1


def test_verify_refuses_tampering_staleness_and_missing_headers() -> None:
    body = encode_body(_message())
    headers = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: sign(SECRET, body, NOW)}
    assert verify(SECRET, body, headers, now=NOW) == NOW
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, body + b" ", headers, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify("other-secret", body, headers, now=NOW)
    with pytest.raises(SignatureError, match="window"):
        verify(SECRET, body, headers, now=NOW + 301)
    with pytest.raises(SignatureError, match="missing"):
        verify(SECRET, body, {TIMESTAMP_HEADER: str(NOW)}, now=NOW)
    with pytest.raises(SignatureError, match="integer"):
        verify(SECRET, body, {**headers, TIMESTAMP_HEADER: "yesterday"}, now=NOW)
    # the timestamp is signed: moving it breaks the signature
    moved = {**headers, TIMESTAMP_HEADER: str(NOW + 1)}
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, body, moved, now=NOW)


def test_verify_accepts_any_secret_during_rotation_and_lowercase_headers() -> None:
    body = b'{"a":1}'
    headers = {TIMESTAMP_HEADER.lower(): str(NOW),
               SIGNATURE_HEADER.lower(): sign("new-secret", body, NOW)}
    assert verify(["old-secret", "new-secret"], body, headers, now=NOW) == NOW


def test_configuration_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AFTERSALES_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("AFTERSALES_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="url"):
        WebhookChannel()
    with pytest.raises(ConfigurationError, match="secret"):
        WebhookChannel(WebhookSettings(url=URL))
    monkeypatch.setenv("AFTERSALES_WEBHOOK_URL", URL)
    monkeypatch.setenv("AFTERSALES_WEBHOOK_SECRET", SECRET)
    channel = WebhookChannel()
    assert channel.url == URL
    assert SECRET not in repr(channel)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({SIGNATURE_HEADER: "v1=\udcff"}, "does not match"),  # a JSON-escaped lone surrogate
        ({SIGNATURE_HEADER: "v1=" + "é" * 64}, "does not match"),
        ({TIMESTAMP_HEADER: "\udcff"}, "integer"),
        # int() reads these as NOW; the signed text would not be the header as sent
        ({TIMESTAMP_HEADER: "１７１７０００００００"}, "integer"),
        ({TIMESTAMP_HEADER: "1_717_000_000"}, "integer"),
        ({TIMESTAMP_HEADER: "+1717000000"}, "integer"),
        ({TIMESTAMP_HEADER: "9" * 5000}, "integer"),
        ({SIGNATURE_HEADER: ",".join(["v1=00"] * 100_000)}, "too many"),
    ],
)
def test_verify_refuses_hostile_headers_with_a_signature_error(
    headers: dict[str, str], message: str
) -> None:
    body = b'{"a":1}'
    sent = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: sign(SECRET, body, NOW), **headers}
    with pytest.raises(SignatureError, match=message):
        verify(SECRET, body, sent, now=NOW)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_the_channels_failure(
    mocked: responses.RequestsMock, status: int
) -> None:
    # A gateway (an SMS provider behind the webhook) refusing the shop's
    # credentials was a RemoteRejectedError, which the follow-ups read as
    # this one message's refusal: every queued follow-up failed for good.
    mocked.post(URL, status=status, json={"error": "bad token"})
    with pytest.raises(AuthenticationError):
        _channel().send(_message())


def test_an_endpoint_out_of_reach_is_the_channels_failure(
    mocked: responses.RequestsMock,
) -> None:
    refused = requests.exceptions.ConnectionError(
        "Failed to establish a new connection: [Errno 111] Connection refused")
    for _ in range(3):
        mocked.post(URL, body=refused)
    with pytest.raises(ChannelUnavailableError) as raised:
        _channel().send(_message())
    assert isinstance(raised.value, TransientError)  # still retryable for any other caller
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("status", [500, 501, 507, 599])
def test_any_5xx_is_transient_not_a_refusal(mocked: responses.RequestsMock, status: int) -> None:
    # The core's client does not repeat a bare 500 (a marketplace's 500 may
    # be its answer to this very request), and the channel turned it into
    # RemoteRejectedError: the shop's endpoint failing for a moment ended
    # the follow-up 'failed' for good. The receiver drops a repeat by the
    # signed key, so a later try is safe.
    mocked.post(URL, status=status, json={"error": "db down", "buyer": "Wang Fang"})
    with pytest.raises(TransientError) as raised:
        _channel().send(_message())
    assert raised.value.retryable
    assert raised.value.status == status
    assert "Wang Fang" not in str(raised.value)


def test_a_throttling_endpoint_is_a_rate_limit_with_its_retry_after(
    mocked: responses.RequestsMock,
) -> None:
    # A 429 left after the client's attempts came out as a TransientError,
    # so follow-ups took it as their own passing failure (each used an
    # attempt) instead of leaving the channel alone until Retry-After.
    for _ in range(3):
        mocked.post(URL, status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitError) as raised:
        _channel().send(_message())
    assert raised.value.retryable
    assert raised.value.retry_after == 120
    assert raised.value.status == 429
