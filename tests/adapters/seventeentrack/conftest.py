"""Fixtures for the 17TRACK adapter tests: payloads, a strict HTTP mock, a carrier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "TESTSECURITYKEY"
BASE = "https://api.17track.net/track/v2.2"


def load(name: str) -> Any:
    """A fixture payload by file name (without .json)."""
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


def compact(payload: Any) -> bytes:
    """The body bytes the sign vectors were computed over."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def carrier() -> SeventeenTrackCarrier:
    return SeventeenTrackCarrier(SeventeenTrackSettings(token=TOKEN), sleep=lambda _s: None)
