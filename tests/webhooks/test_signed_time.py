"""The time a signed webhook body states: what the replay window is measured from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aftersales_shopify.webhooks import signed_time as shopify_time
from aftersales_woocommerce.webhooks import signed_time as woocommerce_time

FX = Path(__file__).resolve().parents[1] / "adapters"


def test_a_shopify_fulfillment_states_its_update_time() -> None:
    body = json.loads((FX / "shopify/fixtures/webhook_fulfillments_create_sample.json")
                      .read_text())["body"]
    assert shopify_time(json.dumps(body).encode()) == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    later = {**body, "updated_at": "2022-01-02T08:00:00+08:00"}
    assert shopify_time(json.dumps(later).encode()) == datetime(2022, 1, 2, 0, 0, tzinfo=UTC)


def test_a_shopify_return_states_no_time() -> None:
    raw = json.loads((FX / "shopify/fixtures/webhook_returns_request.json").read_text())
    assert shopify_time(raw["request"]["raw_body"].encode()) is None


def test_woocommerce_gmt_times_are_utc_and_local_ones_are_not_read() -> None:
    assert woocommerce_time(b'{"id":1,"date_modified_gmt":"2026-12-01T10:00:00",'
                            b'"date_created_gmt":"2026-11-30T10:00:00"}') == \
        datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert woocommerce_time(b'{"id":1,"date_modified":"2026-12-01T10:00:00"}') is None
    assert woocommerce_time(b'{"id":1}') is None


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe", b"[1]", b'{"updated_at": 1700000000}',
                                 b'{"updated_at": "yesterday"}', b'{"updated_at": null}',
                                 b'{"updated_at": "2026-12-01T10:00:00"}',
                                 b"[" * 100_000])
def test_a_body_without_a_readable_time_states_none(raw: bytes) -> None:
    assert shopify_time(raw) is None
