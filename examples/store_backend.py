"""A small store backend: Shopify and WooCommerce webhooks plus a return portal endpoint.

Run it (Flask is the optional ``web`` extra: ``pip install "aftersales[web]"``)::

    export AFTERSALES_DATABASE_URL=sqlite:///aftersales.db
    export SHOPIFY_SHOP=example-shop SHOPIFY_ACCESS_TOKEN=shpat_... SHOPIFY_WEBHOOK_SECRET=...
    export WOOCOMMERCE_URL=https://shop.example.com WOOCOMMERCE_CONSUMER_KEY=ck_...
    export WOOCOMMERCE_CONSUMER_SECRET=cs_... WOOCOMMERCE_WEBHOOK_SECRET=...
    export STORE_BACKEND_TOKEN=$(python -c "import secrets; print(secrets.token_urlsafe(32))")
    flask --app examples.store_backend:create_app run

Endpoints:

* ``POST /webhooks/shopify``: ``returns/*`` and ``fulfillments/*`` topics,
  signed with ``X-Shopify-Hmac-Sha256``;
* ``POST /webhooks/woocommerce``: ``order.*`` topics signed with
  ``X-WC-Webhook-Signature``, and WooCommerce's unsigned activation ping;
* ``POST /returns``: the shop's own return portal opens a request
  (``Authorization: Bearer <STORE_BACKEND_TOKEN>``; an ``Idempotency-Key``
  header makes a double-click open one request).

What makes it safe to copy:

* every request body is limited (``max_body``, 1 MiB by default) and
  refused with 413 before it is read; JSON nested deeper than
  :data:`MAX_DEPTH` is refused with 400;
* the portal needs a bearer token from the settings, compared in constant
  time; the webhooks are verified against the raw body before anything else;
* every bad input is a 400 with a JSON error; a marketplace that is down or
  throttling, or a database that fails, is a 503 with ``Retry-After`` (the
  driver's words are not in the answer); no request gets a traceback, and
  anything unexpected is a 500 with a JSON error and no details;
* a signed body that was already handled is answered 200 (``duplicate``)
  and not handled again, whatever its delivery-id, topic or shop headers
  say: none of them is signed, so a captured body replayed under a fresh
  ``X-Shopify-Webhook-Id`` or ``X-WC-Webhook-Delivery-ID`` is still a
  repeat (:mod:`aftersales.webhook_receipts`). A body whose own signed time
  is older than the replay window (48 hours) is answered 200 (``stale``)
  and not handled. The body is claimed before it is handled, so two
  processes receiving it at once handle it once; a delivery whose handling
  failed is released, so the platform's retry is handled. A signed body
  under a topic not handled here is answered 200 (``ignored``) and not
  recorded, so a replay under a made-up topic cannot use it up.

A webhook is then treated as a doorbell: the backend asks the library to
pull what changed through the adapter's incremental listing, which is
idempotent too.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aftersales_shopify import ShopifyMarketplace, verify_webhook
from aftersales_shopify.webhooks import FULFILLMENT_TOPICS, RETURN_TOPICS, header
from aftersales_shopify.webhooks import signed_time as shopify_signed_time
from aftersales_woocommerce import WooCommerceMarketplace, is_ping
from aftersales_woocommerce.webhooks import signed_time as woocommerce_signed_time
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from aftersales import AfterSales
from aftersales.errors import (
    AfterSalesError,
    ConfigurationError,
    NotEligibleError,
    NotFoundError,
    RateLimitError,
    RemoteError,
    RemoteNotFoundError,
    SignatureError,
    StorageError,
    ValidationError,
)
from aftersales.models import ReturnKind, ReturnReason
from aftersales.webhook_receipts import Outcome, WebhookReceipts

__all__ = ["MAX_BODY", "MAX_DEPTH", "TOKEN_VARIABLE", "create_app"]

log = logging.getLogger("store_backend")

#: The environment variable holding the portal's bearer token.
TOKEN_VARIABLE = "STORE_BACKEND_TOKEN"
#: Request bodies larger than this are refused with 413 before they are read.
MAX_BODY = 1024 * 1024
#: JSON nested deeper than this is refused with 400.
MAX_DEPTH = 8
#: Seconds a client is asked to wait when a marketplace is down.
RETRY_AFTER = 30
#: What a Shopify topic looks like (``returns/request``); anything else is not echoed.
_TOPIC = re.compile(r"[a-z0-9_]{1,40}/[a-z0-9_]{1,40}")
_KINDS = tuple(k.value for k in ReturnKind)
_REASONS = frozenset(r.value for r in ReturnReason)


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


class BadInput(Exception):
    """A request the backend cannot use: answered 400 with the message."""


def create_app(aftersales: AfterSales | None = None, *, api_token: str | None = None,
               max_body: int = MAX_BODY) -> Flask:
    """The Flask application around one :class:`AfterSales`.

    Args:
        aftersales: the library facade; built from the environment when omitted,
            with the ``shopify`` and ``woocommerce`` marketplaces.
        api_token: the portal's bearer token; default ``STORE_BACKEND_TOKEN``.
        max_body: the largest request body accepted, in bytes.

    Raises:
        ConfigurationError: no token is set, or it is shorter than 16 characters.
    """
    token = api_token if api_token is not None else os.environ.get(TOKEN_VARIABLE, "")
    if len(token) < 16:
        raise ConfigurationError(f"set {TOKEN_VARIABLE} to a random token of 16+ characters")
    lib = aftersales or AfterSales(marketplaces=["shopify", "woocommerce"])
    web = Flask(__name__)
    web.config["AFTERSALES"] = lib
    web.config["MAX_CONTENT_LENGTH"] = max_body
    expected = f"Bearer {token}".encode()
    receipts = WebhookReceipts(lib.store, clock=lib.now)

    def market(name: str) -> Any:
        try:
            return lib.marketplace(name)
        except NotFoundError:
            return None

    @web.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return _error(exc.code or 400, exc.name.lower())

    @web.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.error("unexpected %s on %s", type(exc).__name__, request.path)
        return _error(500, "internal error")

    @web.post("/webhooks/shopify")
    def shopify_webhook() -> Any:
        shopify: ShopifyMarketplace | None = market("shopify")
        if shopify is None:
            return _error(404, "shopify is not configured")
        raw, headers = request.get_data(), dict(request.headers)
        if shopify.settings.webhook_secret is None:
            return _error(503, "set SHOPIFY_WEBHOOK_SECRET to receive Shopify webhooks")
        if not _shopify_signed(shopify, raw, headers):
            return _error(401, "signature missing or wrong")
        topic = (header(headers, "X-Shopify-Topic") or "").strip().lower()
        if topic not in RETURN_TOPICS | FULFILLMENT_TOPICS:
            # Signed, but not a topic handled here. Not recorded: the topic is
            # not signed, so this must not use up the body for its real topic;
            # and the sender's header is echoed only when it looks like one.
            shown = topic if _TOPIC.fullmatch(topic) else "?"
            return jsonify({"topic": shown, "ignored": True})

        def handle() -> Any:
            if topic in RETURN_TOPICS:
                event = shopify.parse_returns_webhook(raw, headers)
                lib.returns.sync()
                return {"topic": topic, "return": event.external_id,
                        "status": event.status.value if event.status else None}
            order_id, shipments = shopify.parse_fulfillment_webhook(raw, headers)
            changed = lib.sync_orders("shopify")
            return {"topic": topic, "order": order_id, "changed": changed,
                    "tracking": [s.tracking_number for s in shipments]}

        return _once(receipts, "shopify", shopify.name, raw, shopify_signed_time(raw), handle)

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
            return _error(503, str(exc))
        def handle() -> Any:
            changed = lib.sync_orders("woocommerce")
            return {"topic": event.topic, "order": event.order_id, "changed": changed,
                    "return_status": event.return_status.value if event.return_status
                    else None}

        return _once(receipts, "woocommerce", woo.name, raw, woocommerce_signed_time(raw),
                     handle)

    @web.post("/returns")
    def open_return() -> Any:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(401, "send Authorization: Bearer <token>")
        try:
            data = _json_object(request.get_data())
            fields = _return_fields(data)
            if fields["marketplace"] not in lib.marketplaces:
                raise BadInput(f"unknown marketplace; use one of {', '.join(lib.marketplaces)}")
            key = request.headers.get("Idempotency-Key")
            if key is not None and not 0 < len(key) <= 200:
                raise BadInput("Idempotency-Key must be 1 to 200 characters")
        except BadInput as exc:
            return _error(400, str(exc))

        def work() -> Any:
            created = lib.returns.request(**fields, idempotency_key=key)
            return jsonify({"rma_id": created.rma_id, "status": created.status.value,
                            "kind": created.kind.value}), 201

        return _answer(work)

    return web


def _answer(work: Callable[[], Any]) -> Any:
    """Run ``work`` and turn each library error into its HTTP answer."""
    try:
        return work()
    except NotEligibleError as exc:
        return _error(422, str(exc), reasons=exc.reasons)
    except (NotFoundError, RemoteNotFoundError) as exc:
        return _error(404, str(exc))
    except (ValidationError, SignatureError) as exc:
        return _error(400 if isinstance(exc, ValidationError) else 401, str(exc))
    except RateLimitError as exc:
        wait = int(exc.retry_after or RETRY_AFTER) + 1
        response, status = _error(503, "the marketplace is throttling us; try again later")
        response.headers["Retry-After"] = str(wait)
        return response, status
    except RemoteError as exc:
        if exc.retryable or exc.status is None or exc.status >= 500:
            response, status = _error(503, "the marketplace is unreachable; try again later")
            response.headers["Retry-After"] = str(RETRY_AFTER)
            return response, status
        return _error(502, str(exc))
    except ConfigurationError as exc:
        return _error(503, str(exc))
    except StorageError as exc:
        # the database failed (down, locked, a table missing): try again later;
        # the driver's words stay in the log, never in the answer
        log.error("storage failure on %s: %s", request.path, type(exc).__name__)
        response, status = _error(503, "storage unavailable; try again later")
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response, status
    except AfterSalesError as exc:
        return _error(409, str(exc))


def _once(receipts: WebhookReceipts, platform: str, store: str, raw: bytes,
          signed_at: datetime | None, handle: Callable[[], Any]) -> Any:
    """Handle a verified webhook body once; a repeat gets the first answer.

    Keyed by the signed body (see :mod:`aftersales.webhook_receipts`),
    never by a delivery-id header, which a replay can change at will.
    """

    def work() -> Any:
        claim, result = receipts.run(platform, store, raw, handle, signed_at=signed_at)
        if claim.outcome is Outcome.STALE:
            return jsonify({"stale": True})
        if claim.outcome is Outcome.IN_PROGRESS:
            return jsonify({"duplicate": True, "in_progress": True})
        if claim.outcome is Outcome.DUPLICATE:
            return jsonify({**(result or {}), "duplicate": True})
        return jsonify(result)

    return _answer(work)


def _nesting(raw: bytes) -> int:
    """How deep ``raw``'s JSON nests, counted without parsing (brackets in strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif byte in b"]}":
            depth -= 1
    return deepest


def _json_object(raw: bytes) -> dict[str, Any]:
    # The json module recurses once per level: refuse deep nesting before parsing.
    if _nesting(raw) > MAX_DEPTH:
        raise BadInput(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadInput("send a JSON object, UTF-8 encoded") from None
    if not isinstance(data, dict):
        raise BadInput("send a JSON object")
    return data


def _text(data: dict[str, Any], name: str, limit: int, *, required: bool = False,
          number_ok: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BadInput(f"missing field: {name}")
        return None
    if number_ok and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise BadInput(f"field {name!r} must be a string")
    if len(value) > limit:
        raise BadInput(f"field {name!r} is longer than {limit} characters")
    return value


def _quantity(line: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise BadInput(f"lines[{line[:40]!r}] must be a whole number from 1 to 10000")
    return value


def _return_fields(data: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("marketplace", "order_id", "lines") if not data.get(k)]
    if missing:
        raise BadInput(f"missing field(s): {', '.join(missing)}")
    raw_lines = data["lines"]
    if not isinstance(raw_lines, dict) or not 0 < len(raw_lines) <= 100:
        raise BadInput("field 'lines' must be an object of 1 to 100 {line id: quantity}")
    lines = {}
    for line, qty in raw_lines.items():
        if not line or len(line) > 120:
            raise BadInput("a line id must be 1 to 120 characters")
        lines[line] = _quantity(line, qty)
    reason = _text(data, "reason", 40)
    if reason is not None and reason not in _REASONS:
        raise BadInput(f"field 'reason' must be one of {', '.join(sorted(_REASONS))}")
    kind = _text(data, "kind", 20) or "return"
    if kind not in _KINDS:
        raise BadInput(f"field 'kind' must be one of {', '.join(_KINDS)}")
    evidence = data.get("evidence") or []
    if not isinstance(evidence, list) or len(evidence) > 20 or not all(
            isinstance(e, str) and len(e) <= 500 for e in evidence):
        raise BadInput("field 'evidence' must be a list of at most 20 strings")
    return {"marketplace": _text(data, "marketplace", 40, required=True),
            "order_id": _text(data, "order_id", 120, required=True, number_ok=True),
            "lines": lines, "kind": kind, "reason": reason,
            "buyer_note": _text(data, "note", 2000), "evidence": evidence}


def _shopify_signed(shopify: ShopifyMarketplace, raw: bytes, headers: dict[str, str]) -> bool:
    secret = shopify.settings.webhook_secret
    signature = header(headers, "X-Shopify-Hmac-Sha256") or ""
    return secret is not None and verify_webhook(raw, signature, secret.get_secret_value())


if __name__ == "__main__":  # pragma: no cover - manual run
    create_app().run(port=8000)
