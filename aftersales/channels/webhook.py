"""The ``webhook`` channel: each message as a signed HTTP POST to the shop's endpoint.

The body is compact JSON with sorted keys. Three headers go with it:

* ``X-Aftersales-Timestamp``: the Unix time of signing, in seconds;
* ``X-Aftersales-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with
  the shared secret, of ``"<timestamp>." + body``;
* ``Idempotency-Key``: the message's key, the same on every retry, so the
  receiver can drop a repeat. The header is not signed: a receiver drops a
  repeat by the ``idempotency_key`` inside the verified body (the same
  value, signed), or a replay with another header gets through.

Signing the timestamp with the body lets a receiver refuse a replayed old
request; :func:`verify` does the whole check (constant time, tolerance
window, several secrets during a rotation) so a receiver written in Python
need not reimplement it. It keeps no state: inside the window a replay
passes, and the body's key is what marks it a repeat, as it marks a resend
after a lost answer (new timestamp and signature, same key). Sending goes through the core's
:class:`~aftersales.http.ApiClient`, whose retry layer repeats timeouts and
5xx answers; what is left after its attempts surfaces as
:class:`~aftersales.errors.TransientError` (try again later) or
:class:`~aftersales.errors.RemoteRejectedError` (a 4xx: refused for good).
A 429 left after the attempts stays a
:class:`~aftersales.errors.RateLimitError` with the endpoint's
``Retry-After``. Two failures are the channel's, not the message's, and say so: credentials
refused (401/403) stay an :class:`~aftersales.errors.AuthenticationError`,
and an endpoint that could not be connected to at all is a
:class:`~aftersales.errors.ChannelUnavailableError`.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aftersales.errors import (
    AuthenticationError,
    ChannelUnavailableError,
    ConfigurationError,
    RateLimitError,
    RemoteError,
    RemoteRejectedError,
    SignatureError,
    TransientError,
)
from aftersales.http import ApiClient
from aftersales.interfaces import ChannelBase
from aftersales.models import Message, Receipt
from aftersales.signing import header_bytes, hmac_sha256

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookChannel",
    "WebhookSettings",
    "encode_body",
    "sign",
    "verify",
]

TIMESTAMP_HEADER = "X-Aftersales-Timestamp"
SIGNATURE_HEADER = "X-Aftersales-Signature"
_SCHEME = "v1"
#: A timestamp as sent: ASCII digits, no sign, no spaces inside.
_TIMESTAMP = re.compile(rb"[0-9]{1,15}")
#: Signatures one header may carry (a sender signs with each of its secrets).
_MAX_SIGNATURES = 8


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (``v1=<hex>``)."""
    digest = hmac_sha256(secret, str(int(timestamp)).encode() + b"." + body)
    return f"{_SCHEME}={digest.hex()}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify(
    secret: str | bytes | Iterable[str | bytes],
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> int:
    """Check a received webhook; returns its timestamp.

    Args:
        secret: the shared secret, or several (old and new) during a rotation.
        body: the raw request body, byte for byte as received.
        headers: the request headers (any letter case).
        tolerance: seconds a timestamp may differ from ``now`` either way.
        now: the receiver's clock (Unix seconds); the system clock when omitted.

    Raises:
        SignatureError: a header is missing or malformed (a timestamp other
            than ASCII digits, more than eight signatures, non-ASCII text),
            the timestamp is outside the tolerance, or no secret produces
            the signature; never another exception for hostile headers.
    """
    raw_ts = header_bytes(_header(headers, TIMESTAMP_HEADER))
    raw_sig = header_bytes(_header(headers, SIGNATURE_HEADER))
    if raw_ts is None or raw_sig is None:
        raise SignatureError("webhook signature or timestamp header missing")
    if not _TIMESTAMP.fullmatch(raw_ts):
        # ASCII digits only: int() would also read "１７…" or "1_7…" as the
        # same second, and the signed text must be the header as sent.
        raise SignatureError("webhook timestamp is not an integer")
    timestamp = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("webhook timestamp outside the allowed window")
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    given = [part.strip() for part in raw_sig.split(b",", _MAX_SIGNATURES)]
    if len(given) > _MAX_SIGNATURES:
        raise SignatureError("webhook signature header has too many signatures")
    matched = False
    for candidate in secrets:
        if not candidate:
            continue
        expected = sign(candidate, body, timestamp)
        for value in given:
            # Every comparison runs; no early exit that would time the match.
            matched |= hmac.compare_digest(value, expected.encode("ascii"))
    if not matched:
        raise SignatureError("webhook signature does not match")
    return timestamp


def encode_body(message: Message) -> bytes:
    """The exact JSON bytes posted for ``message`` (sorted keys, no spaces)."""
    payload = {
        "idempotency_key": message.idempotency_key,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "buyer_id": message.buyer_id,
        "order_id": message.order_id,
        "metadata": message.metadata,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str).encode("utf-8")


class WebhookSettings(BaseModel):
    """``[webhook]``: the signed-POST channel's endpoint and secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(default=None, description="the webhook channel's endpoint")
    secret: SecretStr | None = Field(default=None, description="the webhook's signing secret")


class WebhookChannel(ChannelBase):
    """Posts each message, signed, to one URL.

    Args:
        settings: the endpoint and the shared signing secret; each one left
            unset is read from ``AFTERSALES_WEBHOOK_URL`` and
            ``AFTERSALES_WEBHOOK_SECRET``.
        api: a ready :class:`~aftersales.http.ApiClient` (tests pass one
            with a recording ``sleep``); built with the core's retry defaults
            otherwise.
        name: the channel's name (default ``webhook``).
        clock: Unix-seconds clock used for the timestamp header.

    Raises:
        ConfigurationError: no URL or no secret.
    """

    name = "webhook"

    def __init__(
        self,
        settings: WebhookSettings | None = None,
        *,
        api: ApiClient | None = None,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name=name)
        settings = settings or WebhookSettings()
        given = settings.secret.get_secret_value() if settings.secret is not None else ""
        self.url = settings.url or os.environ.get("AFTERSALES_WEBHOOK_URL", "")
        secret = given or os.environ.get("AFTERSALES_WEBHOOK_SECRET", "")
        if not self.url:
            raise ConfigurationError("webhook channel needs a url (AFTERSALES_WEBHOOK_URL)")
        if not secret:
            raise ConfigurationError("webhook channel needs a secret (AFTERSALES_WEBHOOK_SECRET)")
        self._secret = secret
        self.client = api or ApiClient(self.name, secrets=[secret])
        self.client.add_secret(secret)
        self._now = clock

    def __repr__(self) -> str:
        return f"WebhookChannel(url={self.client.redact_url(self.url)!r})"

    def send(self, message: Message) -> Receipt:
        """POST ``message``; a retry re-sends the same body, signature and key.

        Raises:
            TransientError: the endpoint timed out, was unreachable or kept
                answering 5xx after the retries.
            RateLimitError: the endpoint kept answering 429 after the retries
                (``retry_after`` from its ``Retry-After``).
            RemoteRejectedError: the endpoint refused the message (4xx).
            AuthenticationError: the endpoint refused the credentials (401/403).
            ChannelUnavailableError: the endpoint could not be connected to.
        """
        body = encode_body(message)
        timestamp = int(self._now())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, body, timestamp),
        }
        try:
            response = self.client.request(
                "POST", self.url, data=body, headers=headers,
                idempotency_key=message.idempotency_key,
            )
        except AuthenticationError:
            raise  # the endpoint refuses the shop's credentials: no message can go
        except RateLimitError:
            raise  # the endpoint throttles every message: leave it alone for Retry-After
        except TransientError as exc:
            if getattr(exc, "_unsent", False) and exc.status is None:  # never connected
                raise ChannelUnavailableError("endpoint unreachable (connection failed)",
                                              adapter=self.name) from None
            raise
        except RemoteRejectedError:
            raise
        except RemoteError as exc:
            # The core's client leaves a bare 500 unrepeated and unclassified
            # (a marketplace's 500 may answer this very request); from the
            # shop's own endpoint any 5xx is its passing state, and the
            # signed key makes a later try safe.
            text = str(exc)
            if exc.retryable or (exc.status or 0) >= 500:
                raise TransientError(text, adapter=self.name, status=exc.status,
                                     code=exc.code, request_id=exc.request_id) from exc
            raise RemoteRejectedError(text, adapter=self.name, status=exc.status,
                                      code=exc.code, request_id=exc.request_id) from exc
        remote_id = response.headers.get("X-Request-Id") or message.idempotency_key
        return Receipt(channel=self.name, message_id=remote_id, accepted_at=datetime.now(UTC))
