"""merchant actions are claimed before the marketplace hears them: return_action_claims

Two processes approving (refusing, receiving, shipping the exchange of) one
request at the same instant both called the marketplace before either
wrote; the loser found out only after its call had gone out. An action now
commits a claim row first, under the request's lock, and a second caller
is refused; the local write that follows the push deletes it. A claim
whose process died keeps a lease that runs out; one whose answer was lost
says so until a retry or a sync settles it. No existing request has one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aftersales.store.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'return_action_claims',
        sa.Column('rma_id', sa.String(length=40), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('token', sa.String(length=40), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['rma_id'], ['return_requests.rma_id'],
                                name=op.f('fk_return_action_claims_rma_id_return_requests'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('rma_id', name=op.f('pk_return_action_claims')),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('return_action_claims')
