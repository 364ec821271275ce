"""Which carriers a tracking number may belong to, from the number alone.

All knowledge lives in one data table, ``carrier_formats.json`` beside this
module: each entry is a format (a regex with named groups), the carrier
codes it implies, an optional check-digit rule, and a priority. This module
only normalises the input, runs the table and orders the answers. A number
that fails a format's check digit is not attributed to that format.

Digits-only Chinese waybills overlap (ZTO, STO, Yunda, EMS … share lengths),
so for them the answer is a list of candidates; a provider's own
auto-detection (Kuaidi100's ``autonumber``) settles them when configured.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from aftersales.logistics.checksums import CHECKSUMS, validate

__all__ = [
    "CarrierFormat",
    "FormatMatch",
    "detect_carrier",
    "load_formats",
    "match_formats",
    "normalize_number",
]

_STRIP = re.compile(r"[\s\-_./·]+")
_TABLE = "carrier_formats.json"


@dataclass(frozen=True)
class CarrierFormat:
    """One row of the format table, compiled."""

    id: str
    name: str
    carriers: tuple[str, ...]
    priority: int
    pattern: re.Pattern[str]
    checksum: dict[str, Any] | None = None
    prepend_if: tuple[re.Pattern[str], str] | None = None
    allowed: dict[str, frozenset[str]] = field(default_factory=dict)
    fallback: bool = False
    length: tuple[int, int] = (1, 64)

    def check(self, number: str) -> bool:
        """Whether the normalised ``number`` is of this format, check digit included."""
        found = self.pattern.fullmatch(number)
        if found is None:
            return False
        groups = found.groupdict()
        for group, values in self.allowed.items():
            if groups.get(group) not in values:
                return False
        if self.checksum is None:
            return True
        serial = groups.get("SerialNumber") or ""
        if self.prepend_if is not None and self.prepend_if[0].search(serial):
            serial = self.prepend_if[1] + serial
        return validate(self.checksum, serial, groups.get("CheckDigit") or "")


@dataclass(frozen=True)
class FormatMatch:
    """A format the number fits, as reported by :func:`match_formats`."""

    format_id: str
    name: str
    carriers: tuple[str, ...]
    priority: int
    check_digit: bool  # True when a check digit was verified


def _compile(row: dict[str, Any]) -> CarrierFormat:
    checksum = row.get("checksum")
    if checksum is not None and checksum["name"] not in CHECKSUMS:
        raise ValueError(f"format {row['id']!r}: unknown checksum {checksum['name']!r}")
    prepend = row.get("prepend_if")
    return CarrierFormat(
        id=row["id"],
        name=row["name"],
        carriers=tuple(row["carriers"]),
        priority=int(row["priority"]),
        pattern=re.compile(row["pattern"]),
        checksum=checksum,
        prepend_if=(re.compile(prepend["matches"]), prepend["content"]) if prepend else None,
        allowed={k: frozenset(v) for k, v in (row.get("allowed") or {}).items()},
        fallback=bool(row.get("fallback", False)),
        length=(int(row["length"][0]), int(row["length"][1])),
    )


@cache
def load_formats() -> tuple[CarrierFormat, ...]:
    """The compiled format table, highest priority first (loaded once)."""
    text = resources.files("aftersales.logistics").joinpath(_TABLE).read_text("utf-8")
    rows = json.loads(text)["formats"]
    compiled = [_compile(row) for row in rows]
    return tuple(sorted(compiled, key=lambda f: -f.priority))


@cache
def _by_length() -> dict[int, tuple[CarrierFormat, ...]]:
    # Most formats have one or two lengths: only those that can fit are tried.
    longest = max(f.length[1] for f in load_formats())
    return {
        n: tuple(f for f in load_formats() if f.length[0] <= n <= f.length[1])
        for n in range(longest + 1)
    }


def normalize_number(number: str) -> str:
    """Canonical form of a tracking number: full-width folded, separators gone, upper case.

    ``" sf 1234-5678 "`` and ``"ＳＦ12345678"`` both become ``"SF12345678"``.
    """
    if number.isascii() and number.isalnum():
        return number.upper()  # the common case, without the Unicode machinery
    return _STRIP.sub("", unicodedata.normalize("NFKC", number)).upper()


def match_formats(number: str) -> list[FormatMatch]:
    """Every format ``number`` fits, highest priority first.

    Fallback formats (a generic UPU S10 number) appear only when no specific
    format matched.
    """
    normal = normalize_number(number)
    hits = [f for f in _by_length().get(len(normal), ()) if f.check(normal)]
    if any(not f.fallback for f in hits):
        hits = [f for f in hits if not f.fallback]
    return [
        FormatMatch(f.id, f.name, f.carriers, f.priority, f.checksum is not None) for f in hits
    ]


def detect_carrier(number: str) -> list[str]:
    """The carrier codes ``number`` may belong to, most likely first; empty when none.

    Args:
        number: a tracking number as typed or scanned; spaces, dashes, dots,
            full-width characters and case do not matter.

    Returns:
        Lower-case carrier codes (``"sf"``, ``"ups"``, ``"ems"`` …), each once.
        Formats with a verified check digit or a distinctive prefix come
        before digits-only shapes shared by several Chinese carriers.
    """
    seen: dict[str, None] = {}
    for hit in match_formats(number):
        for code in hit.carriers:
            seen.setdefault(code, None)
    return list(seen)
