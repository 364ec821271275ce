"""a policy's automatic decision is recorded with its request: return_action_claims.actor, reason

A new request the policy approved (or refused) was committed as
"requested" and the decision pushed to the marketplace after the commit; a
process killed in between left it "requested" for good, and a bulk re-run
skipped its row as applied. The decision is now committed with the request,
as a claim in state ``planned`` that names who decided (``actor``, the
policy's rule) and why (``reason``), and whatever runs next (the timer
tick, a re-run of the row) sends it once. Existing claims are merchants'
actions: both columns stay empty for them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('return_action_claims') as batch:
        batch.add_column(sa.Column('actor', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('reason', sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('return_action_claims') as batch:
        batch.drop_column('reason')
        batch.drop_column('actor')
