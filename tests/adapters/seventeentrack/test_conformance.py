"""The adapter conformance kit, run against SeventeenTrackCarrier and a fake 17TRACK."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import responses
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings, webhook_sign

from aftersales.models import TrackQuery
from aftersales.testing import CarrierConformance
from aftersales.testing.carrier import PushKind

from .conftest import BASE, TOKEN, compact, load


def _info(request: Any) -> tuple[int, dict[str, str], str]:
    template = load("gettrackinfo_response")["data"]["accepted"][0]
    accepted = [template | {"number": item["number"]} for item in json.loads(request.body)]
    return 200, {}, json.dumps({"code": 0, "data": {"accepted": accepted, "rejected": []}})


class TestSeventeenTrackConformance(CarrierConformance):
    adapter_class = SeventeenTrackCarrier

    @pytest.fixture
    def carrier(self) -> Iterator[SeventeenTrackCarrier]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
            fake.add_callback(responses.POST, f"{BASE}/gettrackinfo", callback=_info)
            yield SeventeenTrackCarrier(SeventeenTrackSettings(token=TOKEN),
                                        sleep=lambda _s: None)

    def track_queries(self, carrier: Any) -> list[TrackQuery]:
        return [TrackQuery(number=f"RR{i:09d}CN", carrier="chinapost")
                for i in range(carrier.batch_size + 1)]

    def make_push(self, kind: PushKind) -> tuple[bytes, Mapping[str, str]]:
        body = compact(load("webhook_tracking_updated"))
        if kind == "missing":
            return body, {"Content-Type": "application/json"}
        key = TOKEN if kind == "good" else "NOT-THE-KEY"
        return body, {"sign": webhook_sign(body, key), "Content-Type": "application/json"}
