"""One table from the carrier names platforms write to the library's carrier codes.

Marketplaces name the courier of a parcel in free text: Taobao's logistics
trace says ``中通速递`` where its trade says ``中通快递``, Shopify's
``tracking_company`` says ``DHL Express``, a WooCommerce shop types
``SF Express``. Every marketplace adapter maps those names through
:func:`carrier_for_name`, so a name learnt once is known everywhere.

A name is read in two steps: case, spaces and punctuation are dropped
(``S.F. Express`` → ``sfexpress``), then one of the generic suffixes
(快递, 速递, 速运, 物流, express, logistics …) is stripped and the stem looked
up. 快运 is *not* stripped: 中通快运 or 顺丰快运 are the freight companies
of those groups, with their own waybills. The data is
``carrier_names.json`` beside this module.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path

__all__ = ["carrier_for_name", "known_codes", "normalize"]

_DATA = Path(__file__).with_name("carrier_names.json")
_DROP = re.compile(r"[\s\-_.,·()（）/]+")
#: Generic words after a brand, longest first so 速递 is not read as 递.
_SUFFIXES = ("股份有限公司", "有限公司", "快递", "速递", "速运", "物流", "express", "logistics")


def normalize(name: str) -> str:
    """``name`` folded for comparison: NFKC, lower case, no spaces or punctuation."""
    return _DROP.sub("", unicodedata.normalize("NFKC", name).casefold())


def _stem(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
    return text


@cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    data = json.loads(_DATA.read_text("utf-8"))["carriers"]
    names: dict[str, str] = {}
    stems: dict[str, str] = {}
    for code, entry in data.items():
        for name in entry["names"]:
            names[normalize(name)] = code
        for stem in entry["stems"]:
            stems[normalize(stem)] = code
    return names, stems


def carrier_for_name(name: str | None) -> str | None:
    """The carrier code of a courier's name as a platform writes it, or ``None``.

    >>> carrier_for_name("中通速递"), carrier_for_name("S.F. Express")
    ('zto', 'sf')
    """
    key = normalize(name or "")
    if not key:
        return None
    names, stems = _tables()
    return names.get(key) or stems.get(key) or stems.get(_stem(key))


def known_codes() -> frozenset[str]:
    """Every carrier code the table can answer."""
    names, stems = _tables()
    return frozenset(names.values()) | frozenset(stems.values())
