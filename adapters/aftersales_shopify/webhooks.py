"""Shopify webhooks: signature check and parsing into the core's models.

Topics read (webhook reference, API 2026-01, checked 2026-12-02):
``returns/request|approve|decline|cancel|close|reopen|process`` (a return,
whole or status-only), ``returns/update`` (a change set, see
:mod:`aftersales_shopify.changes`) and ``fulfillments/create|update``.

Shopify signs every webhook with ``X-Shopify-Hmac-Sha256``: base64 of the
HMAC-SHA256 of the raw body keyed with the app's client secret. Verify the
raw bytes before parsing them. Header names are matched case-insensitively
and also without the ``X-`` prefix, as Shopify's own libraries accept.

Nothing in a header is signed: not the topic, nor the delivery ids
(``X-Shopify-Webhook-Id``, ``X-Shopify-Event-Id``) Shopify's guide
("Ignore duplicate webhooks") suggests deduping by, nor
``X-Shopify-Triggered-At``. A receiver dedupes on the signed body
(:mod:`aftersales.webhook_receipts`), with :func:`signed_time` as the
body's own time where it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from aftersales.errors import ConfigurationError, SignatureError, ValidationError
from aftersales.models import ReturnRequest, ReturnStatus, Shipment
from aftersales.signing import body_time, header_text, verify_hmac_sha256_base64
from aftersales.webhook_body import json_body, raw_body
from aftersales.wire import read_payload

from .changes import ReturnChanges, WebhookReturnsUpdate, changes_from
from .mapping import NAME, gid, map_return_status, return_from_webhook, shipments_from_rest
from .schemas import WebhookFulfillment, WebhookReturn

__all__ = [
    "ReturnEvent",
    "header",
    "parse_fulfillment_webhook",
    "parse_returns_webhook",
    "signed_time",
    "verify_webhook",
]

RETURN_TOPICS = frozenset({
    "returns/request", "returns/approve", "returns/decline", "returns/cancel",
    "returns/close", "returns/reopen", "returns/process", "returns/update",
})
FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})


def verify_webhook(body: bytes, hmac_header: str, secret: str) -> bool:
    """True when ``hmac_header`` is Shopify's signature of the raw ``body`` under ``secret``.

    Constant-time; a missing or malformed header is ``False``.
    """
    return verify_hmac_sha256_base64(body, hmac_header, secret)


def signed_time(body: bytes) -> datetime | None:
    """The latest of the body's own ``updated_at`` / ``created_at``, ``None`` when it has none.

    Fulfillment and order bodies carry them; ``returns/*`` bodies do not
    (webhook reference samples, API 2025-01 and 2026-01).
    """
    return body_time(body, ("updated_at", "created_at"))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A Shopify header by name, case-insensitive, with or without its ``X-`` prefix."""
    wanted = {name.lower(), name.lower().removeprefix("x-")}
    for key, value in headers.items():
        if (header_text(key) or "").lower() in wanted:
            return header_text(value)
    return None


@dataclass(frozen=True)
class ReturnEvent:
    """What a ``returns/*`` webhook says.

    Attributes:
        topic: the webhook topic (``returns/approve``).
        external_id: the return's GID.
        status: its canonical status now; ``None`` for ``returns/update``,
            whose body carries no status.
        raw_status: Shopify's status, upper case (``None`` likewise).
        request: the full request when the body carries line items
            (request/approve/decline); ``None`` for status-only bodies and
            change sets.
        changes: what a ``returns/update`` changed; ``None`` for other topics.
    """

    topic: str
    external_id: str
    status: ReturnStatus | None
    raw_status: str | None
    request: ReturnRequest | None
    changes: ReturnChanges | None = None


def _check(body: bytes, headers: Mapping[str, str], secret: str | None, verified: bool) -> None:
    if verified:
        return  # the caller checked the signature itself, and says so
    if secret is None:
        # a missing secret must not read as "skip the check"
        raise ConfigurationError("shopify webhook: no webhook secret to verify it with; set "
                                 "SHOPIFY_WEBHOOK_SECRET (or pass verified=True for a body "
                                 "already verified)")
    signature = header(headers, "X-Shopify-Hmac-Sha256")
    if not signature:
        raise SignatureError("shopify webhook has no X-Shopify-Hmac-Sha256 header")
    if not verify_webhook(body, signature, secret):
        raise SignatureError("shopify webhook signature does not match")


_Hook = TypeVar("_Hook", bound=BaseModel)


def _topic(headers: Mapping[str, str]) -> str:
    return (header(headers, "X-Shopify-Topic") or "").strip().lower()


def _verified(
    body: bytes, headers: Mapping[str, str], secret: str | None, *,
    topics: frozenset[str], model: type[_Hook], kind: str, verified: bool,
) -> tuple[str, _Hook]:
    """Check the body's size, the signature and the topic, then parse the body as ``model``."""
    payload = f"shopify {kind} webhook"
    body = raw_body(body, payload=payload)
    _check(body, headers, secret, verified)
    topic = _topic(headers)
    if topic not in topics:
        # the header is the sender's text: named, never echoed
        raise ValidationError(f"not a {kind} topic", field="X-Shopify-Topic", payload=payload)
    return topic, read_payload(model, json_body(body, payload=payload), payload=payload)


def parse_returns_webhook(
    body: bytes, headers: Mapping[str, str], *, secret: str | None, store: str = NAME,
    verified: bool = False,
) -> ReturnEvent:
    """Verify with ``secret`` and parse a ``returns/*`` webhook of ``store``.

    ``returns/update`` gives an event with ``changes`` and no status. Only
    ``verified=True`` (the caller checked the signature itself) skips the
    check; a ``secret`` of ``None`` never does.

    Raises:
        ConfigurationError: ``secret`` is ``None`` and ``verified`` is not set.
        SignatureError: the signature is missing or wrong.
        ValidationError: the topic is not a returns topic or the body is not a return.
    """
    if _topic(headers) == "returns/update":
        _, update = _verified(body, headers, secret, topics=RETURN_TOPICS,
                              model=WebhookReturnsUpdate, kind="returns", verified=verified)
        return ReturnEvent(
            topic="returns/update",
            external_id=update.admin_graphql_api_id or gid("Return", update.id or ""),
            status=None, raw_status=None, request=None, changes=changes_from(update))
    topic, hook = _verified(body, headers, secret, topics=RETURN_TOPICS, model=WebhookReturn,
                            kind="returns", verified=verified)
    return ReturnEvent(
        topic=topic, external_id=hook.admin_graphql_api_id or gid("Return", hook.id),
        status=map_return_status(hook.status), raw_status=hook.status.upper(),
        request=return_from_webhook(hook, store=store),
    )


def parse_fulfillment_webhook(
    body: bytes, headers: Mapping[str, str], *, secret: str | None, verified: bool = False,
) -> tuple[str, list[Shipment]]:
    """Verify and parse a ``fulfillments/create|update`` webhook (``verified``: see
    :func:`parse_returns_webhook`).

    Returns:
        The order id and the shipments (one per tracking number).

    Raises:
        ConfigurationError: ``secret`` is ``None`` and ``verified`` is not set.
        SignatureError: the signature is missing or wrong.
        ValidationError: the topic or the body is not a fulfillment.
    """
    _, hook = _verified(body, headers, secret, topics=FULFILLMENT_TOPICS,
                        model=WebhookFulfillment, kind="fulfillment", verified=verified)
    if hook.order_id is None:
        raise ValidationError("fulfillment has no order_id", field="order_id",
                              payload="shopify fulfillment webhook")
    return str(hook.order_id), shipments_from_rest([hook])
