"""reviews the marketplace took down: reviews.hidden

A review the marketplace hid (spam, trash, taken off the storefront) was
stored as any other: it stayed in the rates, the spike count and alerts.
The column says so for each review's latest version; reviews stored before
it are visible, as they were counted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('hidden')
