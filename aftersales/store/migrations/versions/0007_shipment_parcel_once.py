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

import sqlalchemy as sa
from alembic import op

from aftersales.store.migrations.parcel_merge import merge_parcels

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEX = 'uq_shipments_order_parcel'
COLUMNS = ['order_id', 'direction', 'tracking_key', 'carrier']


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
        merge_parcels(bind, ships, events, rows[0], rows[1:])


def downgrade() -> None:
    """Revert this revision (merged parcels stay merged)."""
    op.drop_index(INDEX, table_name='shipments')
