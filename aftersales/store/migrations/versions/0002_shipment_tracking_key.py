"""parcels keep their number folded: shipments.tracking_key

Pushes and look-ups match a parcel by its number folded (no spacing or
dashes, upper case), so a parcel the shop stored as "sf 1234-5678" is found
by the carrier's "SF12345678". The column is added, indexed, and filled for
the parcels already stored, a thousand rows per statement; parcels stored
from now on get it from the table's column default.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aftersales.logistics.detect import number_key

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

#: Rows read and written per statement while filling the column.
_CHUNK = 1000


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_shipments_tracking_key'), ['tracking_key'],
                              unique=False)
    _fill()


def _fill() -> None:
    """Fold the number of every parcel already stored (in Python: the fold is
    Unicode NFKC, which no SQL of both backends spells the same way)."""
    shipments = sa.table('shipments', sa.column('id', sa.Integer()),
                         sa.column('tracking_number', sa.String()),
                         sa.column('tracking_key', sa.String()))
    fill = (shipments.update().where(shipments.c.id == sa.bindparam('b_id'))
            .values(tracking_key=sa.bindparam('b_key')))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(shipments.c.id, shipments.c.tracking_number)
            .where(shipments.c.id > last).order_by(shipments.c.id).limit(_CHUNK)).all()
        if not rows:
            return
        last = rows[-1][0]
        keys = [{'b_id': parcel, 'b_key': number_key(number)} for parcel, number in rows]
        keys = [k for k in keys if k['b_key'] is not None]
        if keys:
            bind.execute(fill, keys)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_tracking_key'))
        batch_op.drop_column('tracking_key')
