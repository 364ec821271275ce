"""The adapter conformance kit, run against AfterShipCarrier and a fake AfterShip."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from aftersales_aftership import AfterShipCarrier, AfterShipSettings

from aftersales.models import TrackQuery
from aftersales.signing import hmac_sha256_base64
from aftersales.testing import CarrierConformance
from aftersales.testing.carrier import PushKind

from .conftest import API_KEY, BASE, SECRET, compact, listing, load


def _list(request: Any) -> tuple[int, dict[str, str], str]:
    numbers = parse_qs(urlsplit(request.url).query)["tracking_numbers"][0].split(",")
    template = load("get_tracking_response_2025-01")["data"]
    trackings = [template | {"tracking_number": n} for n in numbers]
    return 200, {}, json.dumps(listing(*trackings))


class TestAfterShipConformance(CarrierConformance):
    adapter_class = AfterShipCarrier

    @pytest.fixture
    def carrier(self) -> Iterator[AfterShipCarrier]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
            fake.add_callback(responses.GET, f"{BASE}/trackings", callback=_list)
            settings = AfterShipSettings(api_key=API_KEY, webhook_secret=SECRET)
            yield AfterShipCarrier(settings, sleep=lambda _s: None)

    def track_queries(self, carrier: Any) -> list[TrackQuery]:
        return [TrackQuery(number=f"94001{i:017d}", carrier="usps")
                for i in range(carrier.batch_size + 1)]

    def make_push(self, kind: PushKind) -> tuple[bytes, Mapping[str, str]]:
        body = compact(load("webhook_tracking_update"))
        if kind == "missing":
            return body, {"Content-Type": "application/json"}
        secret = SECRET if kind == "good" else "not-the-secret"
        return body, {"aftership-hmac-sha256": hmac_sha256_base64(secret, body)}
