"""Which parcels are one: the same folded number of the same carrier.

A marketplace lists a parcel's number as someone typed it ("SF 1234 5678",
"sf12345678", full-width digits), and may list it again spelled otherwise,
with or without its carrier. Every writer of ``shipments`` (order sync, its
set-based page, the returns area's return and exchange parcels) asks
:class:`KnownParcels` before adding one, so a parcel is stored once, under
the first spelling written.

Two listings are one parcel when their numbers fold alike
(:func:`~aftersales.store.tables.core.tracking_key`) and their carriers are
equal or one of them is unknown (a listing that names its carrier later is
the same parcel). Two carriers' parcels may share a number (digits-only
waybills of ZTO, STO and SF share lengths): they stay two. A number that
folds to no tracking number (blank, a NUL, too long) is matched as written.
"""

from __future__ import annotations

from collections.abc import Iterable

from aftersales.store.tables.core import tracking_key

__all__ = ["KnownParcels", "parcel_identity"]


def parcel_identity(number: str, carrier: str | None) -> tuple[str, str | None]:
    """``(folded number, carrier code)`` as :class:`KnownParcels` compares them: the
    number's :func:`tracking_key` (the number as written when it has none) and the
    carrier in lower case (``None`` when unknown)."""
    key = tracking_key(number)
    code = carrier.strip().lower() if carrier and carrier.strip() else None
    return (key if key is not None else f"\x00{number}"), code


class KnownParcels:
    """The parcels of one order (or return) already stored or about to be."""

    def __init__(self, parcels: Iterable[tuple[str, str | None]] = ()) -> None:
        self._carriers: dict[str, set[str | None]] = {}
        for number, carrier in parcels:
            self.add(number, carrier)

    def add(self, number: str, carrier: str | None) -> None:
        """Remember a parcel (``number`` as written, and its carrier)."""
        key, code = parcel_identity(number, carrier)
        self._carriers.setdefault(key, set()).add(code)

    def has(self, number: str, carrier: str | None) -> bool:
        """Whether a parcel of this number and carrier is known: same folded
        number, and the same carrier or one of the two unknown."""
        key, code = parcel_identity(number, carrier)
        known = self._carriers.get(key)
        if not known:
            return False
        return code is None or code in known or None in known
