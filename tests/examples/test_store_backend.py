"""The example store backend: real-shaped webhooks posted with Flask's test client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings
from flask import Flask
from flask.testing import FlaskClient

from aftersales import AfterSales

ROOT = Path(__file__).resolve().parents[2]
SHOPIFY_FX = ROOT / "tests/adapters/shopify/fixtures"
WOO_FX = ROOT / "tests/adapters/woocommerce/fixtures"
SHOPIFY_ORDERS = "https://example-shop.myshopify.com/admin/api/2026-01/orders.json"
WOO_ORDERS = "https://example.com/wp-json/wc/v3/orders"
TOKEN = "portal-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("store_backend", ROOT / "examples/store_backend.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fx(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
    return data


def _json(response: Any) -> dict[str, Any]:
    data = response.get_json()
    assert isinstance(data, dict)
    return data


def _sign(secret: str, raw: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


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
    """The backend; ``http`` is active so no test can reach the network."""
    web: Flask = _load_example().create_app(lib, api_token=TOKEN)
    return web.test_client()


@pytest.fixture
def return_syncs(lib: AfterSales, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def sync() -> dict[str, int]:
        calls.append(1)
        return {}

    monkeypatch.setattr(lib.returns, "sync", sync)
    return calls


# ---------------------------------------------------------------- Shopify


def test_signed_shopify_returns_webhook_pulls_returns(
    client: FlaskClient, return_syncs: list[int]
) -> None:
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    got = client.post("/webhooks/shopify", data=hook["raw_body"], headers=hook["headers"])
    assert got.status_code == 200
    assert got.json == {"topic": "returns/request", "return": "gid://shopify/Return/3547267221",
                        "status": "requested"}
    assert return_syncs == [1]


@pytest.mark.parametrize("signature", ["kpvoDT3Q6f8v7xr/Krjp3AH4PvhqFDANjXIWY9KWXCo=", None])
def test_tampered_or_unsigned_shopify_webhooks_are_refused(
    client: FlaskClient, return_syncs: list[int], signature: str | None
) -> None:
    hook = _fx(SHOPIFY_FX, "webhook_returns_request")["request"]
    headers = {k: v for k, v in hook["headers"].items() if "Hmac" not in k}
    if signature:
        headers["X-Shopify-Hmac-Sha256"] = signature
    body = hook["raw_body"].replace("requested", "approved")
    got = client.post("/webhooks/shopify", data=body, headers=headers)
    assert got.status_code == 401
    assert return_syncs == []


def test_shopify_fulfillment_webhook_refreshes_the_order(
    client: FlaskClient, http: responses.RequestsMock, lib: AfterSales
) -> None:
    order = _fx(SHOPIFY_FX, "rest_orders_get")["response"]["body"]
    http.get(SHOPIFY_ORDERS, json={"orders": [order["order"]]})
    ful = _fx(SHOPIFY_FX, "rest_fulfillments_list_success")["response"]["body"]["fulfillments"][0]
    ful["updated_at"] = lib.now().isoformat()  # a delivery is recent: an old one is stale
    raw = json.dumps(ful).encode()
    got = client.post("/webhooks/shopify", data=raw, headers={
        "X-Shopify-Topic": "fulfillments/create", "X-Shopify-Hmac-Sha256": _sign("hush", raw),
        "X-Shopify-Shop-Domain": "example-shop.myshopify.com"})
    assert got.status_code == 200
    assert got.json == {"topic": "fulfillments/create", "order": "450789469", "changed": 1,
                        "tracking": ["123456789"]}


def test_a_signed_topic_we_do_not_handle_is_accepted_and_ignored(client: FlaskClient) -> None:
    raw = b'{"id": 1}'
    got = client.post("/webhooks/shopify", data=raw, headers={
        "X-Shopify-Topic": "products/update", "X-Shopify-Hmac-Sha256": _sign("hush", raw)})
    assert (got.status_code, got.json) == (200, {"topic": "products/update", "ignored": True})


def test_a_signed_but_malformed_return_is_a_400(client: FlaskClient,
                                                return_syncs: list[int]) -> None:
    raw = b'{"id": "x"}'
    got = client.post("/webhooks/shopify", data=raw, headers={
        "X-Shopify-Topic": "returns/request", "X-Shopify-Hmac-Sha256": _sign("hush", raw)})
    assert got.status_code == 400
    assert return_syncs == []


# ---------------------------------------------------------------- WooCommerce


def test_signed_woocommerce_order_webhook_refreshes_orders(
    client: FlaskClient, http: responses.RequestsMock
) -> None:
    order = _fx(WOO_FX, "orders_get")["response"]["body"]
    http.get(WOO_ORDERS, json=[order], headers={"X-WP-TotalPages": "1"})
    hook = _fx(WOO_FX, "webhook_order_updated")["request"]
    got = client.post("/webhooks/woocommerce", data=hook["raw_body"], headers=hook["headers"])
    assert got.status_code == 200
    assert got.json == {"topic": "order.updated", "order": "727", "changed": 1,
                        "return_status": "refunded"}


@pytest.mark.parametrize("signature", ["I+UcW8GemmxIvY3eKNaDScXVUPUAB0FkdH/Sj8YQ3Fd=", "", None])
def test_bad_or_missing_woocommerce_signatures_are_refused(
    client: FlaskClient, signature: str | None
) -> None:
    hook = _fx(WOO_FX, "webhook_order_updated")["request"]
    headers = {k: v for k, v in hook["headers"].items() if k != "X-WC-Webhook-Signature"}
    if signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    got = client.post("/webhooks/woocommerce", data=hook["raw_body"], headers=headers)
    assert got.status_code == 401


def test_the_woocommerce_activation_ping_gets_a_200(client: FlaskClient) -> None:
    ping = _fx(WOO_FX, "webhook_ping")["request"]
    got = client.post("/webhooks/woocommerce", data=ping["raw_body"], headers=ping["headers"])
    assert (got.status_code, got.json) == (200, {"ping": True})


# ---------------------------------------------------------------- the return portal


@pytest.mark.parametrize(("payload", "message"), [
    ("not json", "JSON object"),
    ({"marketplace": "woocommerce", "order_id": "727"}, "lines"),
])
def test_a_bad_return_request_is_a_400(client: FlaskClient, payload: Any, message: str) -> None:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    got = client.post("/returns", data=data, content_type="application/json", headers=AUTH)
    assert got.status_code == 400
    assert message in _json(got)["error"]


def test_the_portal_opens_a_return_once_per_idempotency_key(
    client: FlaskClient, http: responses.RequestsMock
) -> None:
    http.get(f"{WOO_ORDERS}/727", json=_fx(WOO_FX, "orders_get")["response"]["body"])
    payload = {"marketplace": "woocommerce", "order_id": "727", "lines": {"316": 1},
               "reason": "wrong_size", "note": "Size M is too small"}
    first = client.post("/returns", json=payload, headers={"Idempotency-Key": "portal-42", **AUTH})
    assert first.status_code == 201, first.json
    assert _json(first)["rma_id"]
    assert _json(first)["kind"] == "return"
    again = client.post("/returns", json=payload, headers={"Idempotency-Key": "portal-42", **AUTH})
    assert again.status_code == 201
    assert _json(again)["rma_id"] == _json(first)["rma_id"]


def test_the_portal_answers_404_for_an_unknown_order(
    client: FlaskClient, http: responses.RequestsMock
) -> None:
    err = _fx(WOO_FX, "error_404_invalid_order")["response"]
    http.get(f"{WOO_ORDERS}/999999", json=err["body"], status=404)
    got = client.post("/returns", json={"marketplace": "woocommerce", "order_id": "999999",
                                        "lines": {"1": 1}}, headers=AUTH)
    assert got.status_code == 404


def test_the_portal_explains_why_a_request_is_refused(
    client: FlaskClient, http: responses.RequestsMock
) -> None:
    http.get(f"{WOO_ORDERS}/727", json=_fx(WOO_FX, "orders_get")["response"]["body"])
    got = client.post("/returns", json={"marketplace": "woocommerce", "order_id": "727",
                                        "lines": {"no-such-line": 1}, "reason": "wrong_size"},
                      headers=AUTH)
    assert got.status_code == 422
    assert _json(got)["reasons"] == ["Line no-such-line is not part of order 727."]
