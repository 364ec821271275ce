"""Shopify's own payloads through the adapter's own paths, and its current value lists.

Every fixture used here names its source in ``_source``. The value lists
below are Shopify's Admin API 2026-01 enums, read on shopify.dev on
2026-12-02; each test enumerates one list against the adapter's table.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from aftersales_shopify import ShopifyMarketplace, ShopifySettings, mapping
from aftersales_shopify.adapter import return_fields
from aftersales_shopify.webhooks import parse_fulfillment_webhook, parse_returns_webhook

from aftersales.errors import ValidationError
from aftersales.models import ParcelStatus, ReturnKind, ReturnReason, ReturnStatus
from aftersales.money import Money

from .conftest import GraphQL, Sleeps, body, fx, rest_url
from .test_webhooks import _headers

#: ``FulfillmentStatus`` (GraphQL; REST sends the same words in lower case).
FULFILLMENT_STATUSES = ["SUCCESS", "CANCELLED", "ERROR", "FAILURE", "PENDING", "OPEN"]
#: ``FulfillmentEventStatus`` in 2026-01, plus ``PICKED_UP`` from ``unstable``.
FULFILLMENT_EVENT_STATUSES = [
    "ATTEMPTED_DELIVERY", "CARRIER_PICKED_UP", "CONFIRMED", "DELAYED", "DELIVERED", "FAILURE",
    "IN_TRANSIT", "LABEL_PRINTED", "LABEL_PURCHASED", "OUT_FOR_DELIVERY", "READY_FOR_PICKUP",
    "PICKED_UP",
]
#: REST ``Fulfillment.shipment_status`` values.
REST_SHIPMENT_STATUSES = [
    "label_printed", "label_purchased", "attempted_delivery", "ready_for_pickup", "confirmed",
    "in_transit", "out_for_delivery", "delivered", "failure",
]


def _fulfillment_hook(name: str) -> list[Any]:
    """A single-fulfillment answer replayed as a ``fulfillments/update`` webhook body."""
    raw = json.dumps(body(name)["fulfillment"]).encode()
    order_id, ships = parse_fulfillment_webhook(
        raw, _headers("fulfillments/update", raw), secret="hush")
    assert order_id == "450789469"
    return ships


def _returns_hook(name: str) -> Any:
    data = fx(name)
    raw = json.dumps(data["body"]).encode()
    return parse_returns_webhook(raw, _headers(data["topic"], raw), secret="hush")


# ------------------------------------------------------------ Shopify's payloads


def test_every_new_fixture_names_its_source() -> None:
    for name in ("rest_fulfillments_list_success", "rest_fulfillment_failure",
                 "rest_fulfillment_cancelled", "rest_fulfillment_update_tracking",
                 "webhook_returns_update_sample", "webhook_returns_approve_sample",
                 "webhook_returns_cancel_sample", "webhook_returns_decline_sample",
                 "graphql_return_reason_definition"):
        assert fx(name)["_source"].strip()


def test_a_successful_fulfillment_becomes_a_shipment(
    market: ShopifyMarketplace, http: responses.RequestsMock
) -> None:
    http.get(rest_url("rest_fulfillments_list"), json=body("rest_fulfillments_list_success"))
    (ship,) = market.list_shipments("450789469")
    assert (ship.tracking_number, ship.carrier, ship.external_id) == (
        "123456789", "my-custom-shipping-company", "1069019878")
    assert ship.line_ids == ["518995019"]
    assert ship.shipped_at is not None
    assert ship.shipped_at.utcoffset() is not None


def test_a_failed_fulfillment_is_no_shipment() -> None:
    assert _fulfillment_hook("rest_fulfillment_failure") == []


def test_a_cancelled_fulfillment_is_no_shipment() -> None:
    assert _fulfillment_hook("rest_fulfillment_cancelled") == []


def test_updated_tracking_of_a_successful_fulfillment_is_a_ups_shipment() -> None:
    (ship,) = _fulfillment_hook("rest_fulfillment_update_tracking")
    assert (ship.tracking_number, ship.carrier) == ("1Z001985YW99744790", "ups")


def test_an_errored_fulfillment_is_no_shipment() -> None:
    raw = {**body("rest_fulfillment_update_tracking")["fulfillment"], "status": "error"}
    data = json.dumps(raw).encode()
    _, ships = parse_fulfillment_webhook(data, _headers("fulfillments/update", data),
                                         secret="hush")
    assert ships == []


def test_the_returns_update_sample_is_a_change_set() -> None:
    event = _returns_hook("webhook_returns_update_sample")
    assert event.topic == "returns/update"
    assert event.external_id == "gid://shopify/Return/123134564567890"
    assert event.status is None
    assert event.request is None
    assert event.changes is not None
    assert event.changes.removed_quantity("gid://shopify/ReturnLineItem/987654321") == 2
    assert event.changes.restocking_fee_updates == ()
    assert event.changes.shipping_fee_removals == ()
    assert event.changes.undocumented == ()


def test_the_returns_approve_sample_is_an_approved_exchange_without_return_lines() -> None:
    event = _returns_hook("webhook_returns_approve_sample")
    assert event.status is ReturnStatus.APPROVED
    assert event.raw_status == "OPEN"
    assert event.request is None  # Shopify's sample lists no return line
    assert event.changes is None


def test_the_returns_cancel_sample_is_a_cancellation() -> None:
    event = _returns_hook("webhook_returns_cancel_sample")
    assert (event.status, event.raw_status) == (ReturnStatus.CANCELLED, "CANCELED")


def test_the_returns_decline_sample_is_a_rejection() -> None:
    event = _returns_hook("webhook_returns_decline_sample")
    assert event.status is ReturnStatus.REJECTED
    assert event.external_id == "gid://shopify/Return/123134564567890"


# ------------------------------------------------------------ returns/update


def test_fee_changes_are_read_with_their_money() -> None:
    hook = fx("webhook_returns_update_sample")["body"]
    fee = {"admin_graphql_api_id": "gid://shopify/ReturnShippingFee/1",
           "price": {"shop_money": {"amount": "7.50", "currency_code": "EUR"}}}
    changed = {**hook, "return_shipping_fees": {"updates": [fee], "removals": []},
               "restocking_fees": {"updates": [], "removals": [{"id": 99}]}}
    raw = json.dumps(changed).encode()
    event = parse_returns_webhook(raw, _headers("returns/update", raw), secret="hush")
    assert event.changes is not None
    (update,) = event.changes.shipping_fee_updates
    assert (update.fee_id, update.amount) == ("gid://shopify/ReturnShippingFee/1",
                                              Money("7.50", "EUR"))
    (removal,) = event.changes.restocking_fee_removals
    assert (removal.fee_id, removal.amount) == ("99", None)


def test_an_undocumented_change_list_is_named_not_refused() -> None:
    hook = {**fx("webhook_returns_update_sample")["body"],
            "return_line_items": {"removals": [], "additions": [{"x": 1}]}}
    raw = json.dumps(hook).encode()
    event = parse_returns_webhook(raw, _headers("returns/update", raw), secret="hush")
    assert event.changes is not None
    assert event.changes.undocumented == ("return_line_items.additions",)


@pytest.mark.parametrize("bad", [
    {"return_line_items": {"removals": []}},  # names no return
    {"id": 1, "return_line_items": {"removals": [{"admin_graphql_api_id": "g", "delta": -1}]}},
    {"id": 1, "restocking_fees": {"updates": [{"price": {}}]}},  # fee without an id
])
def test_a_broken_change_set_is_a_validation_error(bad: dict[str, Any]) -> None:
    raw = json.dumps(bad).encode()
    with pytest.raises(ValidationError, match="shopify"):
        parse_returns_webhook(raw, _headers("returns/update", raw), secret="hush")


def test_a_returns_update_is_applied_by_reading_the_return(
    market: ShopifyMarketplace, gql: GraphQL
) -> None:
    event = _returns_hook("webhook_returns_update_sample")
    answer = body("graphql_return_get")
    answer["data"]["return"]["id"] = event.external_id  # Shopify answers for the return asked
    gql.reply("GetReturn", answer)
    request = market.apply_returns_update(event)
    assert request.external_id == "gid://shopify/Return/123134564567890"
    assert [(ln.order_line_id, ln.quantity) for ln in request.lines] == [("703073504", 1)]
    assert gql.seen[0]["variables"] == {"id": "gid://shopify/Return/123134564567890"}


def test_only_a_returns_update_event_can_be_applied(market: ShopifyMarketplace) -> None:
    event = _returns_hook("webhook_returns_cancel_sample")
    with pytest.raises(ValidationError, match="returns/update"):
        market.apply_returns_update(event)


# ------------------------------------------------------------ returnReasonDefinition


def test_the_reason_definition_wins_and_the_enum_is_the_fallback(
    market: ShopifyMarketplace, gql: GraphQL
) -> None:
    gql.reply("GetReturn", body("graphql_return_reason_definition"))
    request = market.get_return("945000961")
    late, small = request.lines
    assert late.reason is ReturnReason.LATE_DELIVERY
    assert late.reason_text == "Arrived too late: Came after the party."
    assert small.reason is ReturnReason.WRONG_SIZE
    assert small.reason_text == "SIZE_TOO_SMALL"
    assert request.kind is ReturnKind.RETURN
    assert "returnReasonDefinition { handle name }" in gql.seen[0]["query"]


def test_a_webhook_line_reads_a_reason_definition_when_present() -> None:
    hook = json.loads(json.dumps(fx("webhook_returns_request_payload_sample")["body"]))
    hook["return_line_items"][0]["return_reason_definition"] = {
        "handle": "damaged-on-arrival", "name": "Damaged"}
    raw = json.dumps(hook).encode()
    event = parse_returns_webhook(raw, _headers("returns/request", raw), secret="hush")
    assert event.request is not None
    assert event.request.lines[0].reason is ReturnReason.DAMAGED_IN_TRANSIT
    assert event.request.lines[0].reason_text == "Damaged"


def test_older_api_versions_do_not_ask_for_the_new_field(sleeps: Sleeps) -> None:
    assert "returnReasonDefinition" in return_fields("2026-01")
    assert "returnReasonDefinition" in return_fields("unstable")
    assert "returnReasonDefinition" not in return_fields("2025-10")
    old = ShopifyMarketplace(ShopifySettings(shop="example-shop", access_token="t",
                                             api_version="2025-10"), sleep=sleeps)
    assert "returnReasonDefinition" not in old._fields


@pytest.mark.parametrize(("handle", "reason"), [
    # shopify.dev's own examples of handles
    ("arrived-late", ReturnReason.LATE_DELIVERY),
    ("comfort", ReturnReason.WRONG_SIZE),
    ("too-tight", ReturnReason.WRONG_SIZE),
    ("color-too-bright", ReturnReason.CHANGED_MIND),
    ("quality", ReturnReason.QUALITY_ISSUE),
    # the legacy enum values, spelled as handles
    ("size-too-small", ReturnReason.WRONG_SIZE),
    ("wrong-item", ReturnReason.WRONG_ITEM),
    ("not-as-described", ReturnReason.NOT_AS_DESCRIBED),
    ("defective", ReturnReason.QUALITY_ISSUE),
    ("unwanted", ReturnReason.CHANGED_MIND),
    ("style", ReturnReason.CHANGED_MIND),
    ("other", ReturnReason.OTHER),
    ("something-new", ReturnReason.OTHER),
    (None, ReturnReason.OTHER),
])
def test_reason_definition_handles(handle: str | None, reason: ReturnReason) -> None:
    assert mapping.map_reason_definition(handle) is reason


# ------------------------------------------------------------ value lists


def test_the_fulfillment_status_table_covers_shopifys_list() -> None:
    assert sorted(mapping.FULFILLMENT_SHIPS) == sorted(FULFILLMENT_STATUSES)
    assert [s for s in FULFILLMENT_STATUSES if mapping.ships(s)] == ["SUCCESS"]
    assert [s for s in FULFILLMENT_STATUSES if mapping.ships(s.lower())] == ["SUCCESS"]
    assert not mapping.ships("something-new")


def test_the_shipment_status_table_covers_shopifys_lists() -> None:
    assert sorted(mapping.SHIPMENT_STATUS) == sorted(FULFILLMENT_EVENT_STATUSES)
    for raw in REST_SHIPMENT_STATUSES:
        assert mapping.shipment_status(raw) is not None, raw
    assert mapping.shipment_status("delivered") is ParcelStatus.DELIVERED
    assert mapping.shipment_status("attempted_delivery") is ParcelStatus.FAILED_ATTEMPT
    assert mapping.shipment_status("failure") is ParcelStatus.EXCEPTION
    assert mapping.shipment_status(None) is None
