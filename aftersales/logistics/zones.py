"""The time zone of a place a tracking provider names, for local times without an offset.

Carriers report scan times in the local time of the scan; some providers
pass them on without an offset (AfterShip's ``checkpoint_time``). Such a
time is only meaningful in the place's zone, which :func:`zone_for` finds
from what a scan carries: a country (ISO alpha-2, alpha-3 or English name),
a state or province for countries with several zones, or a free-text
location such as ``"BROOKLYN, NY"`` or ``"VALENCIA - SPAIN"``. It answers
``None`` rather than guess when the place has several zones and no region.
The data is ``zones.json`` beside this module.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["zone_for"]

_DATA = Path(__file__).with_name("zones.json")



@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_DATA.read_text("utf-8"))
    return data


def _country(text: str | None) -> str | None:
    """The alpha-2 code of a country written as alpha-2, alpha-3 or an English name."""
    if not text:
        return None
    data, key = _data(), text.strip()
    upper = key.upper()
    if len(upper) == 2 and (upper in data["countries"] or upper in data["regions"]):
        return upper
    if len(upper) == 3 and upper in data["iso3"]:
        return str(data["iso3"][upper])
    found = data["names"].get(key.casefold())
    return str(found) if found else None


def _zone(country: str, region: str | None) -> ZoneInfo | None:
    data = _data()
    regions = data["regions"].get(country, {})
    if region and region.strip().upper() in regions:
        return ZoneInfo(regions[region.strip().upper()])
    if country in data["several_zones"]:
        return None
    zone = data["countries"].get(country)
    return ZoneInfo(zone) if zone else None


def zone_for(
    *,
    country: str | None = None,
    country_name: str | None = None,
    region: str | None = None,
    location: str | None = None,
) -> ZoneInfo | None:
    """The zone of a scan's place, or ``None`` when it cannot be told.

    Args:
        country: an ISO 3166 alpha-2 or alpha-3 code.
        country_name: the country in English (or a text ending with it).
        region: a state or province code (US, Canada, Australia).
        location: free text; its comma- or dash-separated parts are tried
            as countries and, last, as a US state (``"BROOKLYN, NY"``).
    """
    code = _country(country) or _country(country_name)
    parts = [p.strip() for p in re.split(r"[,\-–/]", location or "") if p.strip()]
    named = [p.strip() for p in re.split(r"[,\-–/]", country_name or "") if p.strip()]
    if code is None:  # "VALENCIA - SPAIN", "NL, Netherlands": a part naming a country
        code = next((c for p in reversed([*parts, *named]) if len(p) > 2 and (c := _country(p))),
                    None)
    us = _data()["regions"]["US"]
    if code is None and parts and parts[-1].upper() in us:
        # "NEWARK, DE" is Delaware, not Germany: a trailing state code reads as the US
        return ZoneInfo(us[parts[-1].upper()])
    if code is None:
        code = next((c for p in reversed([*parts, *named]) if (c := _country(p))), None)
    if code is not None:
        zone = _zone(code, region)
        if zone is None and parts:  # a several-zone country: a state among the parts?
            zone = next((z for p in parts if (z := _zone(code, p)) is not None), None)
        return zone
    return None
