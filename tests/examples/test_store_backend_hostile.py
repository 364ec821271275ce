"""The example backend under bad requests: JSON errors, never a 500, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings
from flask import Flask
from flask.testing import FlaskClient

from aftersales import AfterSales
from aftersales.errors import ConfigurationError, TransientError
from tests.examples.test_store_backend import SHOPIFY_FX, WOO_FX, _fx, _load_example, _sign

TOKEN = "portal-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {"marketplace": "woocommerce", "order_id": "727", "lines": {"316": 1},
        "reason": "wrong_size"}


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[AfterSales]:
    shopify = ShopifyMarketplace(ShopifySettings(
        shop="example-shop", access_token="shpat_test_token", webhook_secret="hush"),
        sleep=lambda _: None)
    woo = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key="ck_1", consumer_secret="cs_1",
        webhook_secret="wc-secret-0123"), sleep=lambda _: None)
    app = AfterSales(f"sqlite:///{tmp_path}/a.db", marketplaces=[shopify, woo], carriers=[],
                     migrate=False)
    app.store.create_all()
    yield app
    app.close()


@pytest.fixture
def client(lib: AfterSales, http: responses.RequestsMock) -> FlaskClient:
    web: Flask = _load_example().create_app(lib, api_token=TOKEN, max_body=64 * 1024)
    return web.test_client()


def _nested(depth: int) -> str:
    return '{"lines": ' * depth + "1" + "}" * depth


BAD_PORTAL: list[tuple[str, Any]] = [
    ("not json", "not json"),
    ("a list", [1, 2]),
    ("a string", '"x"'),
    ("null", "null"),
    ("empty", ""),
    ("utf-16", json.dumps(GOOD).encode("utf-16")),
    ("invalid utf-8", b'{"marketplace": "\xff\xfe"}'),
    ("lines as a string", {**GOOD, "lines": "316"}),
    ("lines as a list", {**GOOD, "lines": [["316", 1]]}),
    ("lines empty", {**GOOD, "lines": {}}),
    ("quantity many", {**GOOD, "lines": {"316": "many"}}),
    ("quantity -3", {**GOOD, "lines": {"316": -3}}),
    ("quantity 0", {**GOOD, "lines": {"316": 0}}),
    ("quantity 1.5", {**GOOD, "lines": {"316": 1.5}}),
    ("quantity true", {**GOOD, "lines": {"316": True}}),
    ("quantity huge", {**GOOD, "lines": {"316": 10**30}}),
    ("quantity null", {**GOOD, "lines": {"316": None}}),
    ("101 lines", {**GOOD, "lines": {str(i): 1 for i in range(101)}}),
    ("long line id", {**GOOD, "lines": {"x" * 500: 1}}),
    ("marketplace a number", {**GOOD, "marketplace": 5}),
    ("marketplace unknown", {**GOOD, "marketplace": "nope"}),
    ("marketplace a list", {**GOOD, "marketplace": ["woocommerce"]}),
    ("order id an object", {**GOOD, "order_id": {"$ne": 1}}),
    ("order id long", {**GOOD, "order_id": "9" * 1000}),
    ("kind unknown", {**GOOD, "kind": "steal"}),
    ("kind a number", {**GOOD, "kind": 3}),
    ("reason unknown", {**GOOD, "reason": "because"}),
    ("note a list", {**GOOD, "note": ["x"]}),
    ("note long", {**GOOD, "note": "x" * 5000}),
    ("evidence a string", {**GOOD, "evidence": "http://x"}),
    ("evidence numbers", {**GOOD, "evidence": [1, 2]}),
    ("deeply nested", _nested(5000)),
    ("nested in a field", {**GOOD, "note": json.loads(_nested(7))}),
    ("missing all", {}),
    ("missing lines", {"marketplace": "woocommerce", "order_id": "727"}),
]


@pytest.mark.parametrize(("name", "payload"), BAD_PORTAL, ids=[n for n, _ in BAD_PORTAL])
def test_every_bad_portal_request_is_a_400_with_a_json_error(
        client: FlaskClient, name: str, payload: Any) -> None:
    data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    got = client.post("/returns", data=data, headers={**AUTH, "Content-Type": "application/json"})
    assert got.status_code == 400, (name, got.data[:200])
    body = got.get_json()
    assert isinstance(body, dict)
    assert body["error"]
    assert "Traceback" not in got.get_data(as_text=True)


@pytest.mark.parametrize("auth", [None, "", "Bearer", "Bearer wrong", f"bearer {TOKEN}",
                                  f"Bearer {TOKEN} ", f"Basic {TOKEN}", TOKEN,
                                  f"Bearer {TOKEN[:-1]}"])
def test_the_portal_needs_the_bearer_token(client: FlaskClient, auth: str | None) -> None:
    headers = {} if auth is None else {"Authorization": auth}
    got = client.post("/returns", json=GOOD, headers=headers)
    assert got.status_code == 401
    assert "Bearer" in got.get_json()["error"]


def test_the_backend_will_not_start_without_a_token(lib: AfterSales,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORE_BACKEND_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="STORE_BACKEND_TOKEN"):
        _load_example().create_app(lib)
    with pytest.raises(ConfigurationError):
        _load_example().create_app(lib, api_token="short")


def test_the_body_limit_refuses_before_reading(client: FlaskClient) -> None:
    big = b"x" * (64 * 1024 + 1)
    for path in ("/returns", "/webhooks/shopify", "/webhooks/woocommerce"):
        got = client.post(path, data=big, headers={**AUTH, "Content-Type": "application/json"})
        assert got.status_code == 413, path
        assert got.get_json() == {"error": "request entity too large"}


def test_a_signed_webhook_while_the_shop_is_down_is_a_503_with_retry_after(
        client: FlaskClient, lib: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> dict[str, int]:
        raise TransientError("connection refused", adapter="shopify")

    monkeypatch.setattr(lib.returns, "sync", down)
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    got = client.post("/webhooks/shopify", data=hook["raw_body"], headers=hook["headers"])
    assert got.status_code == 503
    assert int(got.headers["Retry-After"]) > 0
    assert "unreachable" in got.get_json()["error"]


def test_a_webhook_delivered_twice_is_handled_once(client: FlaskClient, lib: AfterSales,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(lib.returns, "sync", lambda: calls.append(1) or {})
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    first = client.post("/webhooks/shopify", data=hook["raw_body"], headers=hook["headers"])
    again = client.post("/webhooks/shopify", data=hook["raw_body"], headers=hook["headers"])
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json()["duplicate"] is True
    assert calls == [1]



# A replay: a captured signed body sent again with fresh (unsigned) headers.
SHOPIFY_REPLAYS = [
    {"X-Shopify-Webhook-Id": "fresh-delivery-by-the-attacker"},
    {"X-Shopify-Webhook-Id": "fresh-2", "X-Shopify-Event-Id": "fresh-event"},
    {"x-shopify-webhook-id": "fresh-3", "X-Shopify-Topic": "returns/approve"},
    {"X-Shopify-Triggered-At": "2099-01-01T00:00:00Z", "X-Shopify-Shop-Domain": "other.myshopify.com"},
]


@pytest.mark.parametrize("fresh", SHOPIFY_REPLAYS)
def test_a_shopify_body_replayed_with_fresh_headers_is_not_handled_again(
        client: FlaskClient, lib: AfterSales, monkeypatch: pytest.MonkeyPatch,
        fresh: dict[str, str]) -> None:
    calls: list[int] = []
    monkeypatch.setattr(lib.returns, "sync", lambda: calls.append(1) or {})
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    assert client.post("/webhooks/shopify", data=hook["raw_body"],
                       headers=hook["headers"]).status_code == 200
    replay = {k: v for k, v in hook["headers"].items() if "webhook-id" not in k.lower()}
    got = client.post("/webhooks/shopify", data=hook["raw_body"], headers={**replay, **fresh})
    assert got.status_code == 200
    assert got.get_json()["duplicate"] is True
    assert calls == [1]


def test_a_woocommerce_body_replayed_with_a_fresh_delivery_id_is_not_handled_again(
        client: FlaskClient, lib: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(lib, "sync_orders", lambda name: calls.append(name) or 0)
    hook = _fx(WOO_FX, "webhook_order_updated")["request"]
    assert client.post("/webhooks/woocommerce", data=hook["raw_body"],
                       headers=hook["headers"]).status_code == 200
    for n, topic in enumerate(["order.updated", "order.created", "order.restored"]):
        fresh = {**hook["headers"], "X-WC-Webhook-Delivery-ID": f"fresh-{n}",
                 "X-WC-Webhook-Topic": topic}
        got = client.post("/webhooks/woocommerce", data=hook["raw_body"], headers=fresh)
        assert got.status_code == 200
        assert got.get_json()["duplicate"] is True
    assert calls == ["woocommerce"]


def _stamped(path: str, topic: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    if "shopify" in path:
        return raw, {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": _sign("hush", raw)}
    return raw, {"X-WC-Webhook-Topic": topic,
                 "X-WC-Webhook-Signature": _sign("wc-secret-0123", raw)}


def test_a_body_signed_days_ago_is_acknowledged_and_not_handled(
        client: FlaskClient, lib: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(lib, "sync_orders", lambda name: calls.append(name) or 0)
    old = (lib.now() - timedelta(days=3)).isoformat()
    ful = {"id": 1, "order_id": 450789469, "status": "success", "created_at": old,
           "updated_at": old, "tracking_number": "1Z1"}
    raw, headers = _stamped("/webhooks/shopify", "fulfillments/update", ful)
    got = client.post("/webhooks/shopify", data=raw, headers=headers)
    assert (got.status_code, got.get_json()) == (200, {"stale": True})
    order = {**json.loads(_fx(WOO_FX, "webhook_order_updated")["request"]["raw_body"]),
             "date_modified_gmt": old[:19]}
    raw, headers = _stamped("/webhooks/woocommerce", "order.updated", order)
    got = client.post("/webhooks/woocommerce", data=raw, headers=headers)
    assert (got.status_code, got.get_json()) == (200, {"stale": True})
    assert calls == []


def test_a_failed_delivery_is_handled_again_when_retried(
        client: FlaskClient, lib: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes: list[Any] = [TransientError("down", adapter="shopify"), {}]

    def sync() -> dict[str, int]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return dict(outcome)

    monkeypatch.setattr(lib.returns, "sync", sync)
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    assert client.post("/webhooks/shopify", data=hook["raw_body"],
                       headers=hook["headers"]).status_code == 503
    again = client.post("/webhooks/shopify", data=hook["raw_body"], headers=hook["headers"])
    assert again.status_code == 200
    assert "duplicate" not in again.get_json()


def _bad_requests() -> list[tuple[str, str, bytes, dict[str, str]]]:
    shop = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    woo = _fx(WOO_FX, "webhook_order_updated")["request"]
    out: list[tuple[str, str, bytes, dict[str, str]]] = []
    for name, payload in BAD_PORTAL:
        data = payload if isinstance(payload, bytes) else (
            payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        out.append((f"portal {name}", "/returns", data, AUTH))
        out.append((f"portal unauthenticated {name}", "/returns", data, {}))
        signed = {"X-Shopify-Topic": "returns/request", "X-Shopify-Hmac-Sha256": _sign("hush", data)}
        out.append((f"shopify signed {name}", "/webhooks/shopify", data, signed))
        out.append((f"shopify fulfillment {name}", "/webhooks/shopify", data,
                    {**signed, "X-Shopify-Topic": "fulfillments/create"}))
        out.append((f"woo unsigned {name}", "/webhooks/woocommerce", data,
                    {"X-WC-Webhook-Topic": "order.updated"}))
    out.append(("shopify no headers", "/webhooks/shopify", shop["raw_body"].encode(), {}))
    out.append(("woo bad signature", "/webhooks/woocommerce", woo["raw_body"].encode(),
                {**woo["headers"], "X-WC-Webhook-Signature": "%%%"}))
    return out


def test_no_bad_request_gets_a_500(client: FlaskClient, http: responses.RequestsMock) -> None:
    http.assert_all_requests_are_fired = False  # which bad request gets how far varies
    http.get("https://example-shop.myshopify.com/admin/api/2026-01/orders.json", status=500)
    http.get("https://example.com/wp-json/wc/v3/orders", status=500)
    http.get("https://example.com/wp-json/wc/v3/orders/727", status=500)
    statuses = []
    for name, path, data, headers in _bad_requests():
        got = client.post(path, data=data, headers={"Content-Type": "application/json", **headers})
        statuses.append((name, got.status_code))
        assert got.status_code != 500, (name, got.data[:300])
        assert got.is_json, name
        assert "Traceback" not in got.get_data(as_text=True)
    assert len(statuses) >= 150


@pytest.mark.parametrize("topic", ["products/update", "returns/request, returns/approve",
                                   "x" * 5000])
def test_a_signed_body_under_a_topic_not_handled_does_not_use_up_the_body(
        client: FlaskClient, lib: AfterSales, monkeypatch: pytest.MonkeyPatch,
        topic: str) -> None:
    calls: list[int] = []
    monkeypatch.setattr(lib.returns, "sync", lambda: calls.append(1) or {})
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    first = client.post("/webhooks/shopify", data=hook["raw_body"],
                        headers={**hook["headers"], "X-Shopify-Topic": topic})
    assert first.status_code == 200
    assert first.get_json()["ignored"] is True
    assert len(first.get_data()) < 200  # the unsigned header is not echoed at length
    got = client.post("/webhooks/shopify", data=hook["raw_body"], headers=hook["headers"])
    assert got.status_code == 200
    assert "duplicate" not in got.get_json()
    assert calls == [1]


def test_a_signed_returns_update_change_set_is_handled(
        client: FlaskClient, lib: AfterSales, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(lib.returns, "sync", lambda: calls.append(1) or {})
    body = _fx(SHOPIFY_FX, "webhook_returns_update_sample")["body"]
    raw, headers = _stamped("/webhooks/shopify", "returns/update", body)
    got = client.post("/webhooks/shopify", data=raw, headers=headers)
    assert got.status_code == 200, got.get_data()
    assert got.get_json() == {"topic": "returns/update",
                              "return": "gid://shopify/Return/123134564567890", "status": None}
    assert calls == [1]


def test_a_database_that_fails_is_a_503_with_retry_after_and_no_details(
        client: FlaskClient, lib: AfterSales) -> None:
    with lib.store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE webhook_receipts")  # as a failing database would
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    got = client.post("/webhooks/shopify", data=hook["raw_body"], headers=hook["headers"])
    assert got.status_code == 503
    assert int(got.headers["Retry-After"]) > 0
    assert "webhook_receipts" not in got.get_data(as_text=True)
