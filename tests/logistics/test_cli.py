"""``aftersales track`` and ``aftersales logistics refresh|anomalies|detect``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.sandbox import SandboxCarrier, SandboxMarketplace


@pytest.fixture
def synced(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """A database holding the sandbox shop's orders; the CLI tracks through the sandbox."""
    monkeypatch.setenv("AFTERSALES_CARRIERS", "sandbox")
    monkeypatch.delenv("AFTERSALES_MARKETPLACES", raising=False)
    shop = SandboxMarketplace(seed=0, orders=30)
    app = AfterSales(sqlite_url, marketplaces=[shop], carriers=[SandboxCarrier(clock=shop.clock)])
    app.sync_orders("sandbox")
    numbers = [s.tracking_number for page in shop.list_orders(None) for o in page.items
               for s in o.shipments]
    app.close()
    return sqlite_url, numbers


def _invoke(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--database-url", url, *args], catch_exceptions=False)


def test_track_prints_the_timeline(synced: tuple[str, list[str]]) -> None:
    url, numbers = synced
    result = _invoke(url, "track", numbers[0])
    assert result.exit_code == 0, result.output
    assert numbers[0] in result.output
    assert "events, newest first" in result.output


def test_track_as_json(synced: tuple[str, list[str]]) -> None:
    url, numbers = synced
    result = _invoke(url, "--json", "track", numbers[0].lower(), "--fresh")
    data = json.loads(result.output)
    assert data["number"] == numbers[0]
    assert data["provider"] == "sandbox"
    assert isinstance(data["events"], list)


def test_refresh_then_anomalies(synced: tuple[str, list[str]]) -> None:
    url, numbers = synced
    first = json.loads(_invoke(url, "--json", "logistics", "refresh").output)
    assert first["due"] == first["checked"] == len(numbers)
    assert first["calls"] == {"sandbox": 1}
    again = json.loads(_invoke(url, "--json", "logistics", "refresh").output)
    assert again["calls"] == {}
    listed = json.loads(_invoke(url, "--json", "logistics", "anomalies").output)
    assert all(a["kind"] in {"stuck", "exception", "failed_attempt", "returning"} for a in listed)
    text = _invoke(url, "logistics", "anomalies").output
    assert "parcels need attention" in text


def test_detect_needs_no_network_or_database(sqlite_url: str) -> None:
    result = _invoke(sqlite_url, "--json", "logistics", "detect", "1z5r 8939 0357 5671 27")
    data = json.loads(result.output)
    assert data == {
        "number": "1Z5R89390357567127",
        "carriers": ["ups"],
        "formats": [{"id": "ups", "name": "UPS", "check_digit": True}],
    }


def test_track_errors_are_one_line(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AFTERSALES_CARRIERS", raising=False)
    result = CliRunner().invoke(main, ["--database-url", sqlite_url, "track", "SF1234567890123"])
    assert result.exit_code == 2  # no carrier configured: unusable configuration
    assert "AFTERSALES_CARRIERS" in result.output
