"""signed webhook bodies received: webhook_receipts

Shopify's and WooCommerce's delivery-id headers are not covered by their
signature, so a receiver that dropped repeats by delivery id handled a
captured body again under a fresh id. The receiver now records a digest
of the signed body itself for the replay window (expired rows are
deleted), claiming it before the work so two processes receiving the
same body at once handle it once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aftersales.store.types import JSONType, UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'webhook_receipts',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('platform', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('result', JSONType(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_webhook_receipts')),
    )
    op.create_index(op.f('ix_webhook_receipts_expires_at'), 'webhook_receipts',
                    ['expires_at'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_webhook_receipts_expires_at'), table_name='webhook_receipts')
    op.drop_table('webhook_receipts')
