"""Replays of the webhook channel's requests: what verify can tell and what the receiver must.

``verify`` is stateless: a request captured and replayed inside the
tolerance window passes it, byte for byte. What tells a replay (or a
legitimate resend) from a new message is the ``idempotency_key`` inside
the signed body: the same on every resend of a message, while the
timestamp and signature change. The ``Idempotency-Key`` header carries the
same value but is not signed, so a replay can change it at will.
"""

from __future__ import annotations

import json

import responses

from aftersales.channels.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    WebhookSettings,
    verify,
)
from aftersales.http import ApiClient
from aftersales.models import Message

URL = "https://shop.example.com/hooks/aftersales"
SECRET = "whsec_replay_0123456789"


class Receiver:
    """A receiver written as the channel's docs say: verify, then drop a key seen before."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.seen: set[str] = set()
        self.handled: list[str] = []

    def __call__(self, body: bytes, headers: dict[str, str]) -> int:
        verify(SECRET, body, headers, now=self.now)
        key = json.loads(body)["idempotency_key"]  # signed; the header is not
        if key in self.seen:
            return 200  # acknowledged, not handled again
        self.seen.add(key)
        self.handled.append(key)
        return 200


def _sent(clock: float) -> tuple[bytes, dict[str, str]]:
    channel = WebhookChannel(WebhookSettings(url=URL, secret=SECRET),
                             api=ApiClient("webhook", max_attempts=1), clock=lambda: clock)
    message = Message(to="b1", subject="Hi", body="How was it?", idempotency_key="fu-7",
                      buyer_id="b1", order_id="A-1")
    with responses.RequestsMock() as mock:
        mock.post(URL, status=200)
        channel.send(message)
        request = mock.calls[0].request
    body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    return body, dict(request.headers)


def test_a_resend_after_a_lost_answer_is_signed_anew_with_the_same_signed_key() -> None:
    first_body, first = _sent(1_717_000_000)
    again_body, again = _sent(1_717_000_090)
    assert first_body == again_body
    assert first[TIMESTAMP_HEADER] != again[TIMESTAMP_HEADER]
    assert first[SIGNATURE_HEADER] != again[SIGNATURE_HEADER]
    receiver = Receiver(now=1_717_000_100)
    assert receiver(first_body, first) == 200
    assert receiver(again_body, again) == 200
    assert receiver.handled == ["fu-7"]


def test_a_replay_with_a_new_idempotency_header_is_still_handled_once() -> None:
    body, headers = _sent(1_717_000_000)
    receiver = Receiver(now=1_717_000_010)
    assert receiver(body, headers) == 200
    replay = {**headers, "Idempotency-Key": "fresh-key-by-the-attacker"}
    assert receiver(body, replay) == 200  # passes verify: inside the window, same bytes
    assert receiver.handled == ["fu-7"]
