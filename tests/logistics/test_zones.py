"""Zones of the places tracking providers name: found where the place says, never guessed."""

from __future__ import annotations

import pytest

from aftersales.logistics.zones import zone_for


@pytest.mark.parametrize(("kwargs", "zone"), [
    ({"country": "CN"}, "Asia/Shanghai"),
    ({"country": "CHN"}, "Asia/Shanghai"),
    ({"country_name": "Netherlands"}, "Europe/Amsterdam"),
    ({"country_name": "VALENCIA - SPAIN"}, "Europe/Madrid"),
    ({"location": "NL, Netherlands"}, "Europe/Amsterdam"),
    ({"country": "USA", "region": "ca"}, "America/Los_Angeles"),
    ({"country": "US", "location": "BROOKLYN, NY"}, "America/New_York"),
    ({"location": "NEWARK, DE"}, "America/New_York"),  # Delaware, not Germany
    ({"location": "LOS ANGELES, CA"}, "America/Los_Angeles"),  # California, not Canada
    ({"country": "CAN", "region": "BC"}, "America/Vancouver"),
    ({"country": "AUS", "region": "WA"}, "Australia/Perth"),
    ({"country": "DE"}, "Europe/Berlin"),
])
def test_zone_found(kwargs: dict[str, str], zone: str) -> None:
    found = zone_for(**kwargs)
    assert found is not None
    assert found.key == zone


@pytest.mark.parametrize("kwargs", [
    {"country": "USA"}, {"country": "BR"}, {"location": "Somewhere"}, {}, {"country": "ZZZ"},
])
def test_no_zone_rather_than_a_guess(kwargs: dict[str, str]) -> None:
    assert zone_for(**kwargs) is None
