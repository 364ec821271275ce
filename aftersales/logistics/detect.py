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

from aftersales.errors import ValidationError
from aftersales.logistics.carrier_names import carrier_for_name
from aftersales.logistics.checksums import CHECKSUMS, validate

__all__ = [
    "MAX_NUMBER",
    "CarrierFormat",
    "FormatMatch",
    "checked_carrier",
    "checked_number",
    "detect_carrier",
    "is_tracking_number",
    "load_formats",
    "match_formats",
    "normalize_number",
    "number_key",
]

_STRIP = re.compile(r"[\s\-_./·]+")
#: The longest normalised tracking number accepted (the table's longest format has 42
#: characters; the store's column holds 80).
MAX_NUMBER = 64
_NUMBER = re.compile(rf"[A-Z0-9]{{1,{MAX_NUMBER}}}", re.ASCII)
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}", re.ASCII)
#: Input longer than this is refused before it is folded (folding costs its length).
_READ_AT_MOST = 4 * MAX_NUMBER
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


def is_tracking_number(normal: str) -> bool:
    """Whether a normalised number can be a tracking number: ASCII letters and digits,
    1 to :data:`MAX_NUMBER` of them."""
    return _NUMBER.fullmatch(normal) is not None


def number_key(number: str | None) -> str | None:
    """The folded form a parcel's number is stored and matched under, or ``None``.

    A shop stores the number as it typed it ("sf 1234-5678"); a provider
    pushes and answers the carrier's form ("SF12345678"). Both fold to one
    key (:func:`normalize_number`), kept in ``shipments.tracking_key`` and
    matched by pushes and look-ups. A number that folds to no tracking
    number (blank, a NUL, too long) has no key: nothing ever matches it.
    """
    if not number or len(number) > _READ_AT_MOST:
        return None
    normal = normalize_number(number)
    return normal if is_tracking_number(normal) else None


def checked_number(number: object, *, field: str = "number") -> str:
    """``number`` normalised (:func:`normalize_number`), or refused by ``field``.

    What a caller hands to the providers and the store: letters and digits
    only, so a NUL, a zero-width space, a look-alike letter from another
    script or a megabyte of digits never reaches a provider's URL or a log.

    Raises:
        ValidationError: empty, too long, or not letters and digits once
            spacing, dashes, case and full-width forms are folded; the
            message names the field, never the value.
    """
    if not isinstance(number, str) or not number.strip():
        raise ValidationError("a tracking number is required", field=field)
    normal = normalize_number(number) if len(number) <= _READ_AT_MOST else ""
    if not is_tracking_number(normal):
        raise ValidationError(
            f"not a tracking number (letters and digits, at most {MAX_NUMBER})", field=field)
    return normal


def checked_carrier(carrier: object, *, field: str = "carrier") -> str | None:
    """A carrier code from a code (``sf``, ``ＳＦ``) or a courier's name (``顺丰速运``,
    ``SF Express``); ``None`` when none is given.

    Raises:
        ValidationError: neither a code (lower-case letters, digits, ``-`` and
            ``_``, at most 40) nor a name the carrier table knows; names the
            field, never the value.
    """
    if carrier is None or (isinstance(carrier, str) and not carrier.strip()):
        return None
    if isinstance(carrier, str) and len(carrier) <= _READ_AT_MOST:
        named = carrier_for_name(carrier)
        if named is not None:
            return named
        code = unicodedata.normalize("NFKC", carrier).strip().lower()
        if _CODE.fullmatch(code):
            return code  # a code the name table does not know: the providers may
    raise ValidationError("not a carrier code (such as sf, zto, ups) nor a known courier name",
                          field=field)


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
