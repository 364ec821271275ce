"""a no-carrier parcel once per order: unique (order_id, direction, tracking_key) where carrier is null

Migration 0007's index holds parcels of a known carrier only: a row with no
carrier never conflicts there (NULLs are distinct), so two processes storing
one order's parcel listed without its carrier at the same instant stored it
twice. This partial index makes the database refuse the second no-carrier
row (SQLite and PostgreSQL both take ``WHERE carrier IS NULL``).

Parcels already stored so are merged first, per order, direction and
folded number: the no-carrier rows go into the carrier's parcel of that
number when the order has exactly one (they are the same parcel, listed
before or after its carrier was known), and otherwise into the first
no-carrier row written (two carriers' parcels of one number are two
parcels, and which one a no-carrier listing meant is not known). Merged as
0007 does: scans kept, the newer status taken, a return request kept.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aftersales.store.migrations.parcel_merge import merge_parcels

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

INDEX = 'uq_shipments_order_parcel_no_carrier'
COLUMNS = ['order_id', 'direction', 'tracking_key']
WHERE = 'carrier IS NULL'


def upgrade() -> None:
    """Apply this revision."""
    _merge()
    op.create_index(INDEX, 'shipments', COLUMNS, unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def _merge() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    ships = sa.Table('shipments', meta, autoload_with=bind)
    events = sa.Table('tracking_events', meta, autoload_with=bind)
    keys = [ships.c[c] for c in COLUMNS]
    loose = sa.func.sum(sa.case((ships.c.carrier.is_(None), 1), else_=0))
    groups = bind.execute(
        sa.select(*keys).where(*(k.is_not(None) for k in keys))
        .group_by(*keys).having(sa.func.count() > 1, loose > 0)).all()
    for group in groups:
        rows = bind.execute(sa.select(ships).where(
            *(k == v for k, v in zip(keys, group, strict=True))).order_by(ships.c.id)).all()
        unknown = [r for r in rows if r.carrier is None]
        known = [r for r in rows if r.carrier is not None]
        if len(known) == 1:
            merge_parcels(bind, ships, events, known[0], unknown)
        elif len(unknown) > 1:
            merge_parcels(bind, ships, events, unknown[0], unknown[1:])


def downgrade() -> None:
    """Revert this revision (merged parcels stay merged)."""
    op.drop_index(INDEX, table_name='shipments')
