"""a parcel once per order: unique (order_id, direction, tracking_key, carrier)

Order sync and the returns area stored a parcel again when its number came
spelled otherwise ("SF 1234 5678" then "sf12345678"): two rows, tracked
and alerted twice. The writers now look parcels up by the folded number
(``tracking_key``) and carrier; this index makes the database refuse a
second row even when two processes write the same order's parcel at the
same instant (PostgreSQL's read committed lets both look and find nothing).

Parcels already stored twice are merged first, per order, direction,
folded number and carrier: the first written (lowest id) is kept, with its
number as written; the others' scans it does not hold are moved onto it,
their status is taken when their newest scan is newer, a return request
they name is kept when it names none, and they are deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEX = 'uq_shipments_order_parcel'
COLUMNS = ['order_id', 'direction', 'tracking_key', 'carrier']
#: What the kept parcel takes from a duplicate whose newest scan is newer.
_STATE = ('status', 'issue', 'raw_status', 'provider', 'terminal', 'last_event_at',
          'delivered_at', 'last_checked_at')


def upgrade() -> None:
    """Apply this revision."""
    _merge()
    op.create_index(INDEX, 'shipments', COLUMNS, unique=True)


def _merge() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    ships = sa.Table('shipments', meta, autoload_with=bind)
    events = sa.Table('tracking_events', meta, autoload_with=bind)
    keys = [ships.c[c] for c in COLUMNS]
    groups = bind.execute(
        sa.select(*keys).where(*(k.is_not(None) for k in keys))
        .group_by(*keys).having(sa.func.count() > 1)).all()
    for group in groups:
        rows = bind.execute(sa.select(ships).where(
            *(k == v for k, v in zip(keys, group, strict=True))).order_by(ships.c.id)).all()
        kept, dups = rows[0], rows[1:]
        newest = max(rows, key=lambda r: (r.last_event_at is not None, r.last_event_at or 0,
                                          -r.id))
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


def downgrade() -> None:
    """Revert this revision (merged parcels stay merged)."""
    op.drop_index(INDEX, table_name='shipments')
