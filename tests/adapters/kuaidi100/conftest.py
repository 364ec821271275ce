"""Fixtures for the Kuaidi100 adapter tests: payloads, a strict HTTP mock, a carrier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "AbCdEf123456"
CUSTOMER = "0123456789ABCDEF0123456789ABCDEF"
SALT = "mysalt"
QUERY_URL = "https://poll.kuaidi100.com/poll/query.do"
AUTONUMBER_URL = "https://www.kuaidi100.com/autonumber/auto"


def load(name: str) -> Any:
    """A fixture payload by file name (without .json)."""
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def settings() -> Kuaidi100Settings:
    return Kuaidi100Settings(key=KEY, customer=CUSTOMER, salt=SALT)


@pytest.fixture
def carrier(settings: Kuaidi100Settings) -> Kuaidi100Carrier:
    return Kuaidi100Carrier(settings, sleep=lambda _s: None)
