"""A small store backend: Shopify and WooCommerce webhooks plus a return portal endpoint.

Run it (Flask is the optional ``web`` extra: ``pip install "aftersales[web]"``)::

    export AFTERSALES_DATABASE_URL=sqlite:///aftersales.db
    export SHOPIFY_SHOP=example-shop SHOPIFY_ACCESS_TOKEN=shpat_... SHOPIFY_WEBHOOK_SECRET=...
    export WOOCOMMERCE_URL=https://shop.example.com WOOCOMMERCE_CONSUMER_KEY=ck_...
    export WOOCOMMERCE_CONSUMER_SECRET=cs_... WOOCOMMERCE_WEBHOOK_SECRET=...
    flask --app examples.store_backend:create_app run

Endpoints:

* ``POST /webhooks/shopify``: ``returns/*`` and ``fulfillments/*`` topics,
  signed with ``X-Shopify-Hmac-Sha256``;
* ``POST /webhooks/woocommerce``: ``order.*`` topics signed with
  ``X-WC-Webhook-Signature``, and WooCommerce's unsigned activation ping;
* ``POST /returns``: the shop's own return portal opens a request
  (``Idempotency-Key`` header makes a double-click open one request).

A webhook is verified against the raw body before anything else, parsed
into the library's models, and then treated as a doorbell: the backend asks
the library to pull what changed through the adapter's incremental listing,
which is idempotent, so a webhook delivered twice (both platforms retry)
changes nothing twice.
"""

from __future__ import annotations

from typing import Any

from aftersales_shopify import ShopifyMarketplace, verify_webhook
from aftersales_shopify.webhooks import FULFILLMENT_TOPICS, RETURN_TOPICS, header
from aftersales_woocommerce import WooCommerceMarketplace, is_ping
from flask import Flask, Response, jsonify, request

from aftersales import AfterSales
from aftersales.errors import (
    AfterSalesError,
    ConfigurationError,
    NotEligibleError,
    NotFoundError,
    RemoteNotFoundError,
    SignatureError,
    ValidationError,
)

__all__ = ["create_app"]


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def create_app(aftersales: AfterSales | None = None) -> Flask:
    """The Flask application around one :class:`AfterSales`.

    Args:
        aftersales: the library facade; built from the environment when omitted,
            with the ``shopify`` and ``woocommerce`` marketplaces.
    """
    lib = aftersales or AfterSales(marketplaces=["shopify", "woocommerce"])
    web = Flask(__name__)
    web.config["AFTERSALES"] = lib

    def market(name: str) -> Any:
        try:
            return lib.marketplace(name)
        except NotFoundError:
            return None

    @web.post("/webhooks/shopify")
    def shopify_webhook() -> Any:
        shopify: ShopifyMarketplace | None = market("shopify")
        if shopify is None:
            return _error(404, "shopify is not configured")
        raw, headers = request.get_data(), dict(request.headers)
        if shopify.settings.webhook_secret is None:
            return _error(500, "set SHOPIFY_WEBHOOK_SECRET to receive Shopify webhooks")
        if not _shopify_signed(shopify, raw, headers):
            return _error(401, "signature missing or wrong")
        topic = (header(headers, "X-Shopify-Topic") or "").lower()
        try:
            if topic in RETURN_TOPICS:
                event = shopify.parse_returns_webhook(raw, headers)
                lib.returns.sync()
                return jsonify({"topic": topic, "return": event.external_id,
                                "status": event.status.value if event.status else None})
            if topic in FULFILLMENT_TOPICS:
                order_id, shipments = shopify.parse_fulfillment_webhook(raw, headers)
                changed = lib.sync_orders("shopify")
                return jsonify({"topic": topic, "order": order_id, "changed": changed,
                                "tracking": [s.tracking_number for s in shipments]})
        except SignatureError as exc:
            return _error(401, str(exc))
        except ValidationError as exc:
            return _error(400, str(exc))
        return jsonify({"topic": topic, "ignored": True})  # signed, but not subscribed here

    @web.post("/webhooks/woocommerce")
    def woocommerce_webhook() -> Any:
        woo: WooCommerceMarketplace | None = market("woocommerce")
        if woo is None:
            return _error(404, "woocommerce is not configured")
        raw, headers = request.get_data(), dict(request.headers)
        if is_ping(raw, headers):
            return jsonify({"ping": True})  # unsigned by design; must answer 200
        try:
            event = woo.parse_order_webhook(raw, headers)
        except SignatureError as exc:
            return _error(401, str(exc))
        except ValidationError as exc:
            return _error(400, str(exc))
        except ConfigurationError as exc:
            return _error(500, str(exc))
        changed = lib.sync_orders("woocommerce")
        return jsonify({"topic": event.topic, "order": event.order_id, "changed": changed,
                        "return_status": event.return_status.value if event.return_status
                        else None})

    @web.post("/returns")
    def open_return() -> Any:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _error(400, "send a JSON object")
        missing = [k for k in ("marketplace", "order_id", "lines") if not data.get(k)]
        if missing:
            return _error(400, f"missing field(s): {', '.join(missing)}")
        try:
            created = lib.returns.request(
                str(data["marketplace"]), str(data["order_id"]), data["lines"],
                kind=data.get("kind", "return"), reason=data.get("reason"),
                buyer_note=data.get("note"), evidence=data.get("evidence") or [],
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
        except NotEligibleError as exc:
            return _error(422, str(exc), reasons=exc.reasons)
        except (NotFoundError, RemoteNotFoundError) as exc:
            return _error(404, str(exc))
        except ValidationError as exc:
            return _error(400, str(exc))
        except AfterSalesError as exc:
            return _error(502, str(exc))
        return jsonify({"rma_id": created.rma_id, "status": created.status.value,
                        "kind": created.kind.value}), 201

    return web


def _shopify_signed(shopify: ShopifyMarketplace, raw: bytes, headers: dict[str, str]) -> bool:
    secret = shopify.settings.webhook_secret
    signature = header(headers, "X-Shopify-Hmac-Sha256") or ""
    return secret is not None and verify_webhook(raw, signature, secret.get_secret_value())


if __name__ == "__main__":  # pragma: no cover - manual run
    create_app().run(port=8000)
