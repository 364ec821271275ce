"""Fixtures for the AfterShip adapter tests: payloads, a strict HTTP mock, a carrier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_aftership import AfterShipCarrier, AfterShipSettings

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "asat_0123456789abcdef"
SECRET = "testwebhooksecret"
BASE = "https://api.aftership.com/tracking/2025-01"


def load(name: str) -> Any:
    """A fixture payload by file name (without .json)."""
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


def compact(payload: Any) -> bytes:
    """The body bytes the signature vectors were computed over."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def listing(*trackings: Any) -> dict[str, Any]:
    """A ``GET /trackings`` answer holding ``trackings``."""
    return {
        "meta": {"code": 200, "message": "OK", "type": "OK"},
        "data": {
            "pagination": {"total": len(trackings), "next_cursor": None, "has_next_page": False},
            "trackings": list(trackings),
        },
    }


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def carrier() -> AfterShipCarrier:
    settings = AfterShipSettings(api_key=API_KEY, webhook_secret=SECRET)
    return AfterShipCarrier(settings, sleep=lambda _s: None)
