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

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from aftersales.errors import ValidationError
from aftersales.logistics.detect import checked_carrier, checked_number
from aftersales.store.tables.core import ShipmentRow, tracking_key
from aftersales.store.upsert import native_insert, upsert_rows

__all__ = ["NO_CARRIER_KEY", "PARCEL_KEY", "KnownParcels", "check_parcel", "insert_parcels",
           "parcel_identity", "still_new", "store_parcel"]

_SHIPMENTS = cast(Table, ShipmentRow.__table__)
#: How long a number may be as written (the ``tracking_number`` column).
_NUMBER_COLUMN = 80

#: The columns of ``shipments``' unique index that holds this rule in the database
#: (migration 0007) for parcels of a known order and carrier, even when two
#: processes write one order's parcel at the same instant.
PARCEL_KEY = ("order_id", "direction", "tracking_key", "carrier")
#: The same for parcels of no carrier (migration 0010): a partial unique index on
#: these columns ``WHERE carrier IS NULL`` (NULLs never conflict in the one above).
#: A no-carrier parcel and a carrier's parcel of one number written at the same
#: instant are still two rows: no index can tell that they are one.
NO_CARRIER_KEY = ("order_id", "direction", "tracking_key")


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
        return self._known(key, code)

    def first(self, number: str, carrier: str | None) -> bool:
        """Whether this parcel is new (:meth:`has` is False); a new one is
        remembered. The number is folded once (a sync page checks hundreds)."""
        key, code = parcel_identity(number, carrier)
        if self._known(key, code):
            return False
        self._carriers.setdefault(key, set()).add(code)
        return True

    def _known(self, key: str, code: str | None) -> bool:
        known = self._carriers.get(key)
        if not known:
            return False
        return code is None or code in known or None in known


def check_parcel(number: str, carrier: str | None) -> str | None:
    """The carrier code :func:`store_parcel` stores for a typed parcel (a courier's name
    as its code, ``顺丰速运``: ``sf``), or its refusal: call it before anyone else hears
    of the parcel (an exchange's marketplace), so nothing is told that is then refused.

    Raises:
        ValidationError: ``number`` is no tracking number (a NUL, a line break or
            tab inside, not letters and digits once folded, longer than the
            column as written), or ``carrier``
            is neither a carrier code nor a known courier name; names the field
            (``tracking_number``, ``carrier``), never the value.
    """
    checked_number(number, field="tracking_number")
    if not number.strip().isprintable():
        # folded away as spacing, a line break or tab inside is two numbers pasted as one
        raise ValidationError("a line break or control character inside",
                              field="tracking_number")
    if len(number) > _NUMBER_COLUMN:
        raise ValidationError(f"longer than {_NUMBER_COLUMN} characters as written",
                              field="tracking_number")
    return checked_carrier(carrier)


def store_parcel(session: Session, *, order_id: int | None, rma_id: str | None,
                 store: str | None, direction: str, number: str, carrier: str | None,
                 shipped_at: datetime | None) -> None:
    """Store a parcel of a return request (or an exchange) unless it is stored already.

    Stored already: a parcel of the same order and direction that
    :class:`KnownParcels` calls the same. A parcel of no request yet (listed
    by the order's sync) is linked to ``rma_id``. The insert leaves alone a
    parcel another process stored meanwhile (the unique index of
    :data:`PARCEL_KEY`, or of :data:`NO_CARRIER_KEY` for a parcel of no
    carrier: ``ON CONFLICT DO NOTHING``), and then links that one.

    Raises:
        ValidationError: ``number`` is no tracking number (a NUL, a line break,
            not letters and digits once folded, longer than the column) or
            ``carrier`` is no carrier code or name (field ``tracking_number``
            or ``carrier``; nothing is written). Someone typed these: the
            order sync's parcels come from a marketplace and are kept as listed.
            A carrier given by a courier's name is stored as its code.
    """
    carrier = check_parcel(number, carrier)
    key = tracking_key(number)
    c = _SHIPMENTS.c
    same_order = c.order_id.is_(None) if order_id is None else c.order_id == order_id
    found = session.execute(select(c.id, c.tracking_number, c.carrier, c.rma_id).where(
        c.direction == direction, same_order,
        c.tracking_key == key if key is not None else c.tracking_number == number,
    ).order_by(c.id)).all()
    exists = next((p for p in found
                   if KnownParcels([(p.tracking_number, p.carrier)]).has(number, carrier)), None)
    if exists is None:
        insert = native_insert(session)
        assert insert is not None  # the store runs on SQLite and PostgreSQL only
        session.execute(insert(_SHIPMENTS).values(
            order_id=order_id, rma_id=rma_id, store=store, direction=direction,
            tracking_number=number, tracking_key=key, carrier=carrier,
            shipped_at=shipped_at, version=1).on_conflict_do_nothing())
        if rma_id is None or key is None or order_id is None:
            return
        # stored meanwhile by another writer (the insert did nothing): this request's
        session.execute(update(_SHIPMENTS).where(
            c.order_id == order_id, c.direction == direction, c.tracking_key == key,
            c.carrier.is_(None) if carrier is None else c.carrier == carrier,
            c.rma_id.is_(None)).values(rma_id=rma_id, version=c.version + 1))
    elif exists.rma_id is None and rma_id is not None:
        session.execute(update(_SHIPMENTS).where(c.id == exists.id)
                        .values(rma_id=rma_id, version=c.version + 1))


def still_new(session: Session, rows: Sequence[Mapping[str, Any]],
              order_ids: Iterable[int]) -> list[Mapping[str, Any]]:
    """``rows`` (new ``shipments`` rows) less those of ``order_ids`` that
    :class:`KnownParcels` now calls stored: read again once the writer holds those
    orders' rows, so a parcel another writer stored meanwhile under the other index
    (one with a carrier, one without, which never conflict) is not added beside it."""
    again = sorted(set(order_ids) & {r["order_id"] for r in rows})
    if not again:
        return list(rows)
    known: dict[int, KnownParcels] = {}
    c = _SHIPMENTS.c
    for start in range(0, len(again), 500):
        for parcel in session.execute(select(c.order_id, c.tracking_number, c.carrier)
                                      .where(c.order_id.in_(again[start:start + 500]))):
            known.setdefault(parcel.order_id, KnownParcels()).add(parcel.tracking_number,
                                                                 parcel.carrier)
    return [r for r in rows if r["order_id"] not in known
            or not known[r["order_id"]].has(r["tracking_number"], r["carrier"])]


def insert_parcels(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new ``shipments`` rows (dicts with the same keys), leaving alone any another
    process stored meanwhile: the rows of a carrier conflict on :data:`PARCEL_KEY`, those
    of none on :data:`NO_CARRIER_KEY` (a statement names one conflict target: two)."""
    known = [r for r in rows if r["carrier"] is not None]
    unknown = [r for r in rows if r["carrier"] is None]
    upsert_rows(session, _SHIPMENTS, known, key=PARCEL_KEY)
    upsert_rows(session, _SHIPMENTS, unknown, key=NO_CARRIER_KEY,
                key_where=_SHIPMENTS.c.carrier.is_(None))
