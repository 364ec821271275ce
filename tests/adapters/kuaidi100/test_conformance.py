"""The adapter conformance kit, run against Kuaidi100Carrier and a fake Kuaidi100."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import responses
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings, push_sign

from aftersales.models import TrackQuery
from aftersales.testing import CarrierConformance
from aftersales.testing.carrier import PushKind

from .conftest import AUTONUMBER_URL, CUSTOMER, KEY, QUERY_URL, SALT, load


def _query(request: Any) -> tuple[int, dict[str, str], str]:
    param = json.loads(parse_qs(request.body)["param"][0])
    body = load("query_response_ok_resultv2_4_signed") | {"nu": param["num"]}
    return 200, {}, json.dumps(body, ensure_ascii=False)


class TestKuaidi100Conformance(CarrierConformance):
    adapter_class = Kuaidi100Carrier

    @pytest.fixture
    def carrier(self) -> Iterator[Kuaidi100Carrier]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
            fake.add_callback(responses.POST, QUERY_URL, callback=_query)
            fake.post(AUTONUMBER_URL, json=load("autonumber_response_ok"))
            settings = Kuaidi100Settings(key=KEY, customer=CUSTOMER, salt=SALT)
            yield Kuaidi100Carrier(settings, sleep=lambda _s: None)

    def track_queries(self, carrier: Any) -> list[TrackQuery]:
        return [TrackQuery(number=f"YT{i:013d}", carrier="yto")
                for i in range(carrier.batch_size + 1)]

    def make_push(self, kind: PushKind) -> tuple[bytes, Mapping[str, str]]:
        form = load("subscribe_push_callback_form")
        if kind == "bad":
            form["sign"] = push_sign(form["param"], "not-the-salt")
        elif kind == "missing":
            del form["sign"]
        return urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
