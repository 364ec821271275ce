"""Merging parcels stored twice, for the migrations that make ``shipments`` refuse them.

Migration 0007 (parcels of one carrier) and 0010 (parcels with no carrier)
both fold several rows of one parcel into one before adding their unique
index; this is their common step, kept apart from the live code so a later
change there cannot change what an old migration did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

__all__ = ["merge_parcels"]

#: What the kept parcel takes from a duplicate whose newest scan is newer.
_STATE = ('status', 'issue', 'raw_status', 'provider', 'terminal', 'last_event_at',
          'delivered_at', 'last_checked_at')


def merge_parcels(bind: sa.Connection, ships: sa.Table, events: sa.Table, kept: Any,
                  dups: Sequence[Any]) -> None:
    """Fold the ``shipments`` rows ``dups`` into ``kept`` (all rows as read), then delete them.

    ``kept`` keeps its number as written; it takes the status of the row
    whose newest scan is newest (the lowest id first among equals), the
    return request a duplicate names when it names none, and the
    duplicates' scans it does not hold already (by fingerprint).
    """
    rows = [kept, *dups]
    newest = max(rows, key=lambda r: (r.last_event_at is not None, r.last_event_at or 0, -r.id))
    values: dict[str, Any] = {}
    if newest.id != kept.id:
        values.update({c: getattr(newest, c) for c in _STATE})
    rma = kept.rma_id or next((r.rma_id for r in dups if r.rma_id), None)
    if rma != kept.rma_id:
        values['rma_id'] = rma
    if values:
        bind.execute(ships.update().where(ships.c.id == kept.id).values(**values))
    for dup in dups:
        held = sa.select(events.c.fingerprint).where(events.c.shipment_id == kept.id)
        bind.execute(events.update().where(events.c.shipment_id == dup.id,
                                           events.c.fingerprint.not_in(held))
                     .values(shipment_id=kept.id))
        bind.execute(events.delete().where(events.c.shipment_id == dup.id))
        bind.execute(ships.delete().where(ships.c.id == dup.id))
