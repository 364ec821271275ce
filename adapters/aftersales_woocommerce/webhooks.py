"""WooCommerce webhooks: signature check and parsing.

WooCommerce signs each delivery with ``X-WC-Webhook-Signature``: base64 of
the HMAC-SHA256 of the exact body, keyed with the webhook's secret after
WordPress decodes HTML entities in it (``&amp;`` → ``&``). On creation it
sends an unsigned ping (form body ``webhook_id=N``) that a receiver must
answer with 200, or the webhook never activates.

The delivery id (``X-WC-Webhook-Delivery-ID``) and the topic are headers
the signature does not cover: a receiver dedupes on the signed body
(:mod:`aftersales.webhook_receipts`), with :func:`signed_time` as the
body's own time where it has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aftersales.errors import SignatureError, ValidationError
from aftersales.models import Order, ReturnStatus
from aftersales.signing import body_time, header_text, verify_hmac_sha256_base64
from aftersales.webhook_body import json_body, raw_body
from aftersales.wire import read_payload, wire_int_id

from .mapping import NAME, map_order_status, order_from_wc
from .schemas import WcOrder

__all__ = ["OrderEvent", "is_ping", "parse_order_webhook", "signed_time", "verify_webhook"]


def verify_webhook(body: bytes, signature: str, secret: str) -> bool:
    """True when ``signature`` is WooCommerce's signature of the raw ``body`` under ``secret``.

    Constant-time; a missing or malformed signature is ``False``.
    """
    return verify_hmac_sha256_base64(body, signature, signing_key(secret))


#: What ``wp_specialchars_decode(..., ENT_QUOTES)`` decodes (wp-includes/formatting.php):
#: four named entities, five decimal ones with any leading zeros, three hex ones.
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#0*(60|62|38|34|39)|#[xX]0*(26|22|27));")
_DECODED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "60": "<", "62": ">", "38": "&",
            "34": '"', "39": "'", "26": "&", "22": '"', "27": "'"}


def signing_key(secret: str) -> str:
    """The key WooCommerce signs with: the stored secret after WordPress's
    ``wp_specialchars_decode(..., ENT_QUOTES)``, in one pass as ``strtr`` does
    (``&amp;lt;`` is ``&lt;``); any other spelling stays as written."""
    return _ENTITY.sub(lambda m: _DECODED[m.group(1) or m.group(2) or m.group(3)], secret)


def signed_time(body: bytes) -> datetime | None:
    """The latest of the body's ``date_modified_gmt`` / ``date_created_gmt`` (UTC), if any.

    Order bodies carry them; an ``order.deleted`` body (``{"id": N}``) does not.
    """
    return body_time(body, ("date_modified_gmt", "date_created_gmt"), naive=UTC)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    low = name.lower()
    return next((header_text(v) for k, v in headers.items()
                 if (header_text(k) or "").lower() == low), None)


def is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    """True for the unsigned activation ping (``webhook_id=N``, no ``X-WC-Webhook-*``)."""
    if any((header_text(k) or "").lower().startswith("x-wc-webhook-") for k in headers):
        return False
    prefix = b"webhook_id="
    return isinstance(body, bytes) and body.startswith(prefix) and body[len(prefix):].isdigit()


@dataclass(frozen=True)
class OrderEvent:
    """What an ``order.*`` webhook says.

    Attributes:
        topic: ``order.created``, ``order.updated``, ``order.deleted``, ….
        order_id: the order's id.
        order: the order, or ``None`` when the body is only ``{"id": N}``
            (deleted resources), has no line items, or lists refunds: the
            body has only each refund's total, not the lines it refunded,
            so such an order is read with ``get_order`` (which fetches them)
            rather than stored with fewer facts than the store has.
        return_status: what the order status means for its return request.
    """

    topic: str
    order_id: str
    order: Order | None
    return_status: ReturnStatus | None


def parse_order_webhook(
    body: bytes, headers: Mapping[str, str], *, secret: str, store: str = NAME
) -> OrderEvent:
    """Verify and parse an ``order.*`` webhook of ``store``.

    Raises:
        SignatureError: the signature is missing or wrong.
        ValidationError: the topic is not an order topic or the body is not an order.
    """
    body = raw_body(body, payload="woocommerce order webhook")
    signature = _header(headers, "X-WC-Webhook-Signature")
    if not signature:
        raise SignatureError("woocommerce webhook has no X-WC-Webhook-Signature header")
    if not verify_webhook(body, signature, secret):
        raise SignatureError("woocommerce webhook signature does not match")
    topic = (_header(headers, "X-WC-Webhook-Topic") or "").strip().lower()
    if not topic.startswith("order."):
        # the header is the sender's text: named, never echoed
        raise ValidationError("not an order topic", field="X-WC-Webhook-Topic",
                              payload="woocommerce order webhook")
    if len(topic) > 64 or not topic.isprintable():
        raise ValidationError("not a topic", field="X-WC-Webhook-Topic",
                              payload="woocommerce order webhook")
    data = json_body(body, payload="woocommerce order webhook")
    if not isinstance(data, dict) or "id" not in data:
        raise ValidationError("body has no order id", field="id",
                              payload="woocommerce order webhook")
    try:
        given = wire_int_id(data["id"])
    except ValueError:
        raise ValidationError("the order id must be a number", field="id",
                              payload="woocommerce order webhook") from None
    if set(data) == {"id"}:
        return OrderEvent(topic, str(given), None, None)
    wc = read_payload(WcOrder, data, payload="woocommerce order webhook")
    order = None
    if wc.line_items and not wc.refunds and (wc.date_created_gmt or wc.date_modified_gmt):
        order = order_from_wc(wc, store=store)
    return OrderEvent(topic, str(wc.id), order, map_order_status(wc.status))

