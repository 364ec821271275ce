"""review alerts are claimed before a send: review_alerts.lease_until

Two processes delivering review alerts at once (two syncs, a sync and the
worker) both read the same undelivered alerts and both sent them. A
delivery now claims each alert for a short lease before calling a channel,
and gives it back after marking it; a process killed in between leaves the
lease to run out, and the next delivery retries under the same idempotency
key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aftersales.store.types import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('review_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('review_alerts', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
