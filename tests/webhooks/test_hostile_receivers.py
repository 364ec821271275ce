"""Every webhook and push receiver under an attacker's bodies and headers.

Each receiver (Shopify returns and fulfillments, WooCommerce orders,
AfterShip, 17TRACK, Kuaidi100, the sandbox carrier) gets bodies that are
correctly signed but hostile (duplicate keys, a byte order mark, UTF-16,
NaN, nesting past the parser, not bytes at all, larger than the limit) and
headers of every type a framework may hand over. The answer is always a
:class:`SignatureError` or a :class:`ValidationError` naming the payload,
never another exception, and neither it nor a DEBUG log line holds the
secret or the body's words.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aftersales_aftership import AfterShipCarrier, AfterShipSettings
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings, push_sign
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings
from aftersales_shopify import ShopifyMarketplace, ShopifySettings
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import SignatureError, ValidationError
from aftersales.sandbox import SandboxCarrier
from aftersales.webhook_body import MAX_BODY_BYTES

SECRET = "topsecret-0123456789"
WORDS = "ZHANGSAN13800138000"

Receiver = Callable[[bytes, dict[str, Any]], Any]


def _b64(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def _receivers() -> dict[str, tuple[Receiver, Callable[[bytes], dict[str, Any]]]]:
    shop = ShopifyMarketplace(ShopifySettings(shop="s", access_token="shpat_x",
                                              webhook_secret=SECRET))
    woo = WooCommerceMarketplace(WooCommerceSettings(
        url="https://e.example.com", consumer_key="ck", consumer_secret="cs",
        webhook_secret=SECRET))
    aft = AfterShipCarrier(AfterShipSettings(api_key="k", webhook_secret=SECRET))
    svt = SeventeenTrackCarrier(SeventeenTrackSettings(token="t", webhook_key=SECRET))
    sandbox = SandboxCarrier(secret=SECRET)
    return {
        "shopify returns": (shop.parse_returns_webhook, lambda b: {
            "X-Shopify-Topic": "returns/request", "X-Shopify-Hmac-Sha256": _b64(b)}),
        "shopify fulfillment": (shop.parse_fulfillment_webhook, lambda b: {
            "X-Shopify-Topic": "fulfillments/create", "X-Shopify-Hmac-Sha256": _b64(b)}),
        "woocommerce": (woo.parse_order_webhook, lambda b: {
            "X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": _b64(b)}),
        "aftership": (aft.parse_push, lambda b: {"aftership-hmac-sha256": _b64(b)}),
        "17track": (svt.parse_push, lambda b: {
            "sign": hashlib.sha256(b + b"/" + SECRET.encode()).hexdigest()}),
        "sandbox": (sandbox.parse_push, lambda b: {"X-Sandbox-Signature": sandbox.sign(b)}),
    }


RECEIVERS = _receivers()

HOSTILE_BODIES: dict[str, bytes] = {
    "duplicate keys": (b'{"id": 1, "event": "tracking_update", "event": "x", "id": "'
                       + WORDS.encode() + b'"}'),
    "byte order mark": b"\xef\xbb\xbf" + json.dumps(
        {"id": 1, "status": "requested", "event": "tracking_updated", "note": WORDS}).encode(),
    "utf-16": json.dumps({"id": 1, "status": "requested", "note": WORDS}).encode("utf-16"),
    "not utf-8": b'{"id": 1, "note": "\xff' + WORDS.encode() + b'"}',
    "NaN": b'{"id": 1, "event": "tracking_update", "amount": NaN, "note": "'
           + WORDS.encode() + b'"}',
    "nested past the parser": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "empty": b"",
}


def _no_secret_or_words(text: str) -> None:
    assert SECRET not in text
    assert WORDS not in text


@pytest.mark.parametrize("body_name", list(HOSTILE_BODIES))
@pytest.mark.parametrize("receiver", list(RECEIVERS))
def test_a_signed_hostile_body_is_refused_by_name(
        receiver: str, body_name: str, caplog: pytest.LogCaptureFixture) -> None:
    call, signed = RECEIVERS[receiver]
    body = HOSTILE_BODIES[body_name]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValidationError) as info:
        call(body, signed(body))
    assert info.value.payload, str(info.value)
    _no_secret_or_words(str(info.value))
    _no_secret_or_words(caplog.text)
    assert info.value.__cause__ is None or WORDS not in str(info.value.__cause__)


@pytest.mark.parametrize("receiver", list(RECEIVERS))
def test_a_body_that_is_not_bytes_is_refused_by_name(receiver: str) -> None:
    call, signed = RECEIVERS[receiver]
    with pytest.raises(ValidationError, match="raw body"):
        call('{"id": 1}', signed(b'{"id": 1}'))  # type: ignore[arg-type]


@pytest.mark.parametrize("receiver", list(RECEIVERS))
def test_a_body_over_the_limit_is_refused_before_it_is_hashed(
        receiver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    call, _ = RECEIVERS[receiver]
    hashed: list[int] = []
    real = hmac.new

    def counting(*args: Any, **kwargs: Any) -> Any:
        hashed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hmac, "new", counting)
    big = b" " * (MAX_BODY_BYTES + 1)
    with pytest.raises(ValidationError, match="larger than"):
        call(big, {"sign": "0" * 64, "X-Shopify-Topic": "returns/request"})
    assert hashed == []


HOSTILE_SIGNATURES: list[object] = ["\udcff", "\ud800abc", b"\xff\xfe", 12345, ["a"], None, "",
                                    "é" * 64, "x" * 100_000]
SIGNATURE_HEADERS = {"shopify returns": "X-Shopify-Hmac-Sha256",
                     "shopify fulfillment": "X-Shopify-Hmac-Sha256",
                     "woocommerce": "X-WC-Webhook-Signature", "aftership": "aftership-hmac-sha256",
                     "17track": "sign", "sandbox": "X-Sandbox-Signature"}


@pytest.mark.parametrize("signature", HOSTILE_SIGNATURES, ids=repr)
@pytest.mark.parametrize("receiver", list(RECEIVERS))
def test_a_hostile_signature_header_is_a_signature_error(receiver: str, signature: object) -> None:
    call, signed = RECEIVERS[receiver]
    body = b'{"id": 1}'
    headers = {**signed(body), SIGNATURE_HEADERS[receiver]: signature}
    with pytest.raises(SignatureError):
        call(body, headers)


def test_a_topic_header_given_as_bytes_is_read_as_text_and_other_types_are_refused() -> None:
    shop_call, shop_signed = RECEIVERS["shopify returns"]
    body = b'{"id":1,"status":"requested","order":{"id":2}}'
    event = shop_call(body, {**shop_signed(body), "X-Shopify-Topic": b"returns/request"})
    assert event.topic == "returns/request"
    woo_call, woo_signed = RECEIVERS["woocommerce"]
    assert woo_call(b'{"id": 7}', {**woo_signed(b'{"id": 7}'),
                                   "X-WC-Webhook-Topic": b"order.deleted"}).order_id == "7"
    for topic in (5, ["returns/request"], None):
        for call, signed, name in ((shop_call, shop_signed, "X-Shopify-Topic"),
                                   (woo_call, woo_signed, "X-WC-Webhook-Topic")):
            with pytest.raises(ValidationError) as info:
                call(body, {**signed(body), name: topic})
            assert info.value.field == name


def _kuaidi100() -> Kuaidi100Carrier:
    return Kuaidi100Carrier(Kuaidi100Settings(key="k", customer="c", salt=SECRET))


@pytest.mark.parametrize("param", [
    '{"status":"polling","status":"' + WORDS + '"}',
    '{"status":"polling","lastResult":{"nu":"SF1","data":[]},"x":NaN}',
    "\ufeff" + '{"status":"polling"}',
])
def test_kuaidi100_refuses_a_signed_param_that_is_not_strict_json(param: str) -> None:
    body = urlencode({"param": param, "sign": push_sign(param, SECRET)}).encode()
    with pytest.raises(ValidationError) as info:
        _kuaidi100().parse_push(body, {})
    assert info.value.payload == "kuaidi100 push"
    _no_secret_or_words(str(info.value))


@pytest.mark.parametrize("body", [
    b"param=%FF%FE&sign=00",                     # percent-escaped bytes that are not UTF-8
    b"param=\xff\xfe&sign=00",                   # raw bytes that are not UTF-8
    b'param={"a":1}&param={"a":2}&sign=00',      # the field twice: which one was signed?
    b'param={"a":1}&sign=00&sign=11',
])
def test_kuaidi100_refuses_a_form_it_cannot_read_one_way(body: bytes) -> None:
    with pytest.raises(ValidationError) as info:
        _kuaidi100().parse_push(body, {})
    assert info.value.payload == "kuaidi100 push"


def test_a_return_whose_status_is_written_twice_is_refused_not_read_as_the_last() -> None:
    call, signed = RECEIVERS["shopify returns"]
    body = b'{"id":1,"status":"declined","order":{"id":2},"status":"requested"}'
    with pytest.raises(ValidationError, match="twice"):
        call(body, signed(body))


def test_a_shopify_webhook_is_never_read_unverified_by_a_missing_secret() -> None:
    from aftersales_shopify.webhooks import parse_fulfillment_webhook, parse_returns_webhook

    from aftersales.errors import ConfigurationError

    body = b'{"id":1,"status":"requested","order":{"id":2}}'
    headers = {"X-Shopify-Topic": "returns/request"}  # no signature at all
    with pytest.raises(ConfigurationError, match="secret"):
        parse_returns_webhook(body, headers, secret=None)
    with pytest.raises(ConfigurationError, match="secret"):
        parse_fulfillment_webhook(body, {"X-Shopify-Topic": "fulfillments/create"}, secret=None)
    with pytest.raises(SignatureError):
        parse_returns_webhook(body, headers, secret="")
    # reading a payload already verified elsewhere is said out loud
    assert parse_returns_webhook(body, headers, secret=None, verified=True).topic == \
        "returns/request"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(value=JSON_VALUES)
def test_strict_reading_agrees_with_json_on_every_plain_document(value: object) -> None:
    from aftersales.webhook_body import json_body

    text = json.dumps(value, ensure_ascii=False).encode()
    assert json_body(text, payload="p") == json.loads(text)


def test_the_public_verify_functions_refuse_a_body_that_is_not_bytes_by_name() -> None:
    from aftersales_aftership import verify_webhook as aftership_verify
    from aftersales_seventeentrack import verify_webhook as seventeentrack_verify
    from aftersales_shopify import verify_webhook as shopify_verify
    from aftersales_woocommerce import verify_webhook as woocommerce_verify

    for verify in (aftership_verify, seventeentrack_verify, shopify_verify, woocommerce_verify):
        with pytest.raises(ValidationError) as info:
            verify('{"id": 1}', "c2lnbmF0dXJl", SECRET)  # type: ignore[arg-type]
        assert info.value.field == "body"
        assert verify(bytearray(b'{"id": 1}'), "c2lnbmF0dXJl", SECRET) is False  # type: ignore[arg-type]
