"""WooCommerce webhook signatures against worked vectors, the ping, and order parsing."""

from __future__ import annotations

import base64
import json
from hashlib import sha256

import pytest
from aftersales_woocommerce import (
    WooCommerceMarketplace,
    WooCommerceSettings,
    is_ping,
    verify_webhook,
)
from aftersales_woocommerce.webhooks import parse_order_webhook
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import ConfigurationError, SignatureError, ValidationError
from aftersales.models import ReturnStatus
from aftersales.money import Money

from .conftest import body, fx

VECTOR = fx("webhook_order_updated")
RAW = VECTOR["request"]["raw_body"].encode()
HEADERS = VECTOR["request"]["headers"]


def _independent_sign(secret: bytes, message: bytes) -> str:
    """HMAC-SHA256 written out from RFC 2104, not through the hmac module."""
    key = (sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return base64.b64encode(sha256(bytes(b ^ 0x5C for b in key) + inner).digest()).decode()


def test_the_reference_vector_verifies_with_its_escaped_slashes() -> None:
    assert b"https:\\/\\/example.com" in RAW  # the exact bytes WordPress sent
    assert _independent_sign(b"wc-secret-0123", RAW) == VECTOR["expected"]["X-WC-Webhook-Signature"]
    assert verify_webhook(RAW, HEADERS["X-WC-Webhook-Signature"], VECTOR["request"]["secret"])
    # re-encoding the JSON changes the bytes, so the raw body must be used
    assert not verify_webhook(json.dumps(json.loads(RAW)).encode(),
                              HEADERS["X-WC-Webhook-Signature"], "wc-secret-0123")


@given(body=st.binary(max_size=300), secret=st.text(min_size=1, max_size=80).filter(
    lambda s: "&" not in s))
def test_agrees_with_an_independent_hmac(body: bytes, secret: str) -> None:
    good = _independent_sign(secret.encode(), body)
    assert verify_webhook(body, good, secret)
    assert not verify_webhook(body, good, secret + "x")


def test_the_secret_is_html_decoded_first_like_wordpress() -> None:
    sig = _independent_sign(b"a&b<c>\"d'", RAW)
    assert verify_webhook(RAW, sig, "a&amp;b&lt;c&gt;&quot;d&#039;")


def test_bad_and_missing_signatures_are_refused() -> None:
    bad = {**HEADERS, "X-WC-Webhook-Signature": _independent_sign(b"wrong", RAW)}
    with pytest.raises(SignatureError, match="does not match"):
        parse_order_webhook(RAW, bad, secret="wc-secret-0123")
    missing = {k: v for k, v in HEADERS.items() if k != "X-WC-Webhook-Signature"}
    with pytest.raises(SignatureError, match="no X-WC-Webhook-Signature"):
        parse_order_webhook(RAW, missing, secret="wc-secret-0123")


def test_good_signature_gives_the_order_event() -> None:
    event = parse_order_webhook(RAW, HEADERS, secret="wc-secret-0123")
    assert (event.topic, event.order_id, event.return_status) == (
        "order.updated", "727", ReturnStatus.REFUNDED)
    assert event.order is None  # the shortened vector body has no line items


def test_a_full_order_body_gives_the_order() -> None:
    raw = json.dumps(body("orders_get")).encode()
    headers = {**HEADERS, "X-WC-Webhook-Signature": _independent_sign(b"s3", raw)}
    event = parse_order_webhook(raw, headers, secret="s3")
    assert event.order is not None
    assert event.order.total == Money("29.35", "USD")


def test_an_order_with_refunds_is_left_to_get_order() -> None:
    # The docs' order 723 lists refunds 726 and 724 by total only; their lines come
    # from the order's refund list, so the body alone must not replace the order.
    raw = json.dumps(next(o for o in body("orders_list") if o["id"] == 723)).encode()
    headers = {**HEADERS, "X-WC-Webhook-Signature": _independent_sign(b"s4", raw)}
    event = parse_order_webhook(raw, headers, secret="s4")
    assert (event.order_id, event.order) == ("723", None)


def test_a_deleted_order_sends_only_its_id() -> None:
    raw = b'{"id":727}'
    headers = {**HEADERS, "X-WC-Webhook-Topic": "order.deleted",
               "X-WC-Webhook-Signature": _independent_sign(b"s", raw)}
    event = parse_order_webhook(raw, headers, secret="s")
    assert (event.order_id, event.order, event.return_status) == ("727", None, None)


def test_wrong_topic_and_bodies_are_validation_errors() -> None:
    for topic, raw, match in [("product.updated", b'{"id":1}', "X-WC-Webhook-Topic"),
                              ("order.updated", b"{oops", "not JSON"),
                              ("order.updated", b'{"x":1}', "order id"),
                              ("order.updated", b'{"id":1,"status":5}', "field 'status'")]:
        headers = {**HEADERS, "X-WC-Webhook-Topic": topic,
                   "X-WC-Webhook-Signature": _independent_sign(b"s", raw)}
        with pytest.raises(ValidationError, match=match):
            parse_order_webhook(raw, headers, secret="s")


def test_the_activation_ping_is_recognised_and_unsigned() -> None:
    ping = fx("webhook_ping")["request"]
    assert is_ping(ping["raw_body"].encode(), ping["headers"])
    assert not is_ping(RAW, HEADERS)
    assert not is_ping(b"webhook_id=12", {"X-WC-Webhook-Topic": "order.updated"})


def test_adapter_needs_a_webhook_secret() -> None:
    market = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key="k", consumer_secret="s"))
    with pytest.raises(ConfigurationError, match="WOOCOMMERCE_WEBHOOK_SECRET"):
        market.parse_order_webhook(RAW, HEADERS)


def test_adapter_verifies_with_its_configured_secret(market: WooCommerceMarketplace) -> None:
    assert market.parse_order_webhook(RAW, HEADERS).order_id == "727"
