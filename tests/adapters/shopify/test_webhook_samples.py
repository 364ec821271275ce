"""Shopify's own webhook samples (webhook reference, API 2025-01) through the adapter.

Each fixture names its source in ``_source``: an order as ``orders/create``
carries it (the REST Order), the status-only ``returns/close|reopen`` bodies,
a ``returns/request`` with no lines yet, and a ``fulfillments/create`` still
``pending`` at the fulfillment service.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aftersales_shopify import mapping
from aftersales_shopify.schemas import RestOrder
from aftersales_shopify.webhooks import parse_fulfillment_webhook, parse_returns_webhook

from aftersales.models import ReturnKind, ReturnLine, ReturnStatus
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import compute_refund

from .conftest import fx

SAMPLES = ("webhook_orders_create_sample", "webhook_returns_status_samples",
           "webhook_fulfillments_create_sample")


def _raw(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_every_sample_names_its_source() -> None:
    for name in SAMPLES:
        assert fx(name)["_source"].strip()


def test_the_orders_create_sample_is_refunded_in_full_for_what_the_buyer_paid() -> None:
    # No tax, an order-level discount of 20.00 Shopify did not allocate to lines,
    # and 10.00 shipping: 398.00 − 20.00 + 10.00 = 388.00, Shopify's total_price.
    order = mapping.order_from_rest(RestOrder.model_validate(fx(
        "webhook_orders_create_sample")["body"]))
    assert (order.currency, order.taxes_included, order.shop_currency) == ("USD", False, None)
    assert [(ln.external_id, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("866550311766439020", 1, Money("199.00", "USD")),
        ("141249953214522974", 1, Money("199.00", "USD"))]
    assert order.discount == Money("20.00", "USD")
    assert order.shipping == Money("10.00", "USD")
    assert order.tax == Money("0", "USD")

    everything = compute_refund(
        order, [ReturnLine(order_line_id=ln.external_id, quantity=ln.quantity)
                for ln in order.lines],
        kind=ReturnKind.RETURN, policy=ReturnPolicy(), refund_shipping=True)
    assert everything.total == order.total == Money("388.00", "USD")


@pytest.mark.parametrize(("topic", "status", "raw_status"), [
    ("returns/close", ReturnStatus.CLOSED, "CLOSED"),
    ("returns/reopen", ReturnStatus.APPROVED, "OPEN"),  # reopened: open again, as approved
    ("returns/request", ReturnStatus.REQUESTED, "REQUESTED"),
])
def test_the_return_status_samples_give_the_status_shopify_names(
    topic: str, status: ReturnStatus, raw_status: str,
) -> None:
    raw = _raw(fx("webhook_returns_status_samples")[topic])
    event = parse_returns_webhook(raw, {"X-Shopify-Topic": topic}, secret=None, verified=True)
    assert (event.topic, event.status, event.raw_status) == (topic, status, raw_status)
    assert event.external_id == "gid://shopify/Return/123134564567890"


def test_a_fulfillment_still_pending_at_its_service_is_no_parcel_yet() -> None:
    # Shopify's sample: created, with a UPS number, but the fulfillment service
    # has not taken it ("pending"): nothing has left, so no tracking starts.
    sample = fx("webhook_fulfillments_create_sample")["body"]
    order_id, shipments = parse_fulfillment_webhook(
        _raw(sample), {"X-Shopify-Topic": "fulfillments/create"}, secret=None, verified=True)
    assert (order_id, shipments) == ("820982911946154508", [])
    done = copy.deepcopy(sample)
    done["status"] = "success"  # the same fulfillment once it succeeded
    _, shipments = parse_fulfillment_webhook(
        _raw(done), {"X-Shopify-Topic": "fulfillments/update"}, secret=None, verified=True)
    assert [(s.tracking_number, s.carrier, s.line_ids) for s in shipments] == [
        ("1z827wk74630", "ups", ["866550311766439020", "141249953214522974"])]
