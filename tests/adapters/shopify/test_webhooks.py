"""Shopify webhook signatures against worked vectors, and parsing into the core's models."""

from __future__ import annotations

import base64
import json
from hashlib import sha256

import pytest
from aftersales_shopify import verify_webhook
from aftersales_shopify.webhooks import parse_fulfillment_webhook, parse_returns_webhook
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import SignatureError, ValidationError
from aftersales.models import ReturnReason, ReturnStatus

from .conftest import body, fx

VECTOR = fx("webhook_returns_request")


def _independent_sign(secret: bytes, message: bytes) -> str:
    """HMAC-SHA256 written out from RFC 2104, not through the hmac module."""
    block = 64
    key = sha256(secret).digest() if len(secret) > block else secret
    key = key.ljust(block, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return base64.b64encode(sha256(bytes(b ^ 0x5C for b in key) + inner).digest()).decode()


def test_the_reference_vector_verifies() -> None:
    req = VECTOR["request"]
    raw = req["raw_body"].encode()
    assert _independent_sign(b"hush", raw) == VECTOR["expected"]["X-Shopify-Hmac-Sha256"]
    assert verify_webhook(raw, req["headers"]["X-Shopify-Hmac-Sha256"], req["secret"])


@given(body=st.binary(max_size=300), secret=st.text(min_size=1, max_size=80))
def test_agrees_with_an_independent_hmac(body: bytes, secret: str) -> None:
    good = _independent_sign(secret.encode(), body)
    assert verify_webhook(body, good, secret)
    assert verify_webhook(body, f"  {good}\n", secret)  # header whitespace tolerated
    assert not verify_webhook(body + b"x", good, secret)


@pytest.mark.parametrize("signature", ["", "not base64 !!", "kpvoDT3Q6f8v7xr/Krjp3AH4PvhqFDAN"])
def test_bad_signatures_do_not_verify(signature: str) -> None:
    assert not verify_webhook(VECTOR["request"]["raw_body"].encode(), signature, "hush")


def test_a_long_secret_is_hashed_first_like_hmac_does() -> None:
    secret = "s" * 100
    assert verify_webhook(b"{}", _independent_sign(secret.encode(), b"{}"), secret)


def _headers(topic: str, raw: bytes, secret: str = "hush") -> dict[str, str]:
    return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": _independent_sign(
        secret.encode(), raw), "X-Shopify-Shop-Domain": "example-shop.myshopify.com"}


def test_good_signature_parses_the_full_request() -> None:
    raw = json.dumps(fx("webhook_returns_request_payload_sample")["body"]).encode()
    event = parse_returns_webhook(raw, _headers("returns/request", raw), secret="hush")
    assert event.status is ReturnStatus.REQUESTED
    assert event.request is not None
    assert event.request.lines[0].reason is ReturnReason.CHANGED_MIND


def test_lower_case_header_names_without_prefix_are_accepted() -> None:
    raw = VECTOR["request"]["raw_body"].encode()
    headers = {k.lower().removeprefix("x-"): v for k, v in VECTOR["request"]["headers"].items()}
    event = parse_returns_webhook(raw, headers, secret="hush")
    assert event.request is None  # the vector body has no line items
    assert event.topic == "returns/request"


def test_bad_signature_is_refused() -> None:
    raw = VECTOR["request"]["raw_body"].encode()
    headers = {**VECTOR["request"]["headers"], "X-Shopify-Hmac-Sha256": _independent_sign(
        b"other secret", raw)}
    with pytest.raises(SignatureError, match="does not match"):
        parse_returns_webhook(raw, headers, secret="hush")


def test_missing_signature_is_refused() -> None:
    raw = VECTOR["request"]["raw_body"].encode()
    headers = {k: v for k, v in VECTOR["request"]["headers"].items() if "Hmac" not in k}
    with pytest.raises(SignatureError, match="no X-Shopify-Hmac-Sha256"):
        parse_returns_webhook(raw, headers, secret="hush")


def test_a_tampered_body_is_refused() -> None:
    raw = VECTOR["request"]["raw_body"].replace("requested", "approved").encode()
    with pytest.raises(SignatureError):
        parse_returns_webhook(raw, VECTOR["request"]["headers"], secret="hush")


@pytest.mark.parametrize(("topic", "status"), [
    ("returns/approve", ReturnStatus.APPROVED), ("returns/decline", ReturnStatus.REJECTED),
    ("returns/close", ReturnStatus.CLOSED), ("returns/cancel", ReturnStatus.CANCELLED),
    ("returns/reopen", ReturnStatus.APPROVED),
])
def test_status_only_bodies_give_the_new_status(topic: str, status: ReturnStatus) -> None:
    raw_status = {"returns/approve": "open", "returns/decline": "declined",
                  "returns/close": "closed", "returns/cancel": "canceled",
                  "returns/reopen": "open"}[topic]
    raw = json.dumps({"id": 7, "admin_graphql_api_id": "gid://shopify/Return/7",
                      "order_id": 9, "status": raw_status}).encode()
    event = parse_returns_webhook(raw, _headers(topic, raw), secret="hush")
    assert (event.status, event.external_id, event.request) == (
        status, "gid://shopify/Return/7", None)


def test_a_wrong_topic_or_body_is_a_validation_error() -> None:
    raw = b'{"id": 1}'
    with pytest.raises(ValidationError, match="X-Shopify-Topic"):
        parse_returns_webhook(raw, _headers("orders/create", raw), secret="hush")
    with pytest.raises(ValidationError, match="not JSON"):
        parse_returns_webhook(b"{oops", _headers("returns/request", b"{oops"), secret="hush")
    with pytest.raises(ValidationError, match="field 'status'"):
        parse_returns_webhook(raw, _headers("returns/request", raw), secret="hush")


def test_fulfillment_webhook_gives_shipments() -> None:
    ful = body("rest_fulfillments_list_success")["fulfillments"][0]
    raw = json.dumps(ful).encode()
    order_id, ships = parse_fulfillment_webhook(
        raw, _headers("fulfillments/create", raw), secret="hush")
    assert order_id == "450789469"
    assert [(s.tracking_number, s.carrier) for s in ships] == [
        ("123456789", "my-custom-shipping-company")]
    with pytest.raises(SignatureError):
        parse_fulfillment_webhook(raw, {"X-Shopify-Topic": "fulfillments/create"}, secret="hush")
