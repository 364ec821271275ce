"""report windows read through an index: orders, cases, follow-ups, reviews, parcels

A report counts the rows of its window (orders by when they were placed,
cases by when they were opened, follow-ups by when they were sent, reviews
by when they were written, parcels by when they were shipped). Without an
index on those times every report read each whole table, years of a shop's
history for one month's figures.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:10:00
"""

from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: (index, table, column) for every window a report filters by.
INDEXES = (
    ('ix_orders_placed', 'orders', 'placed_at'),
    ('ix_cases_opened', 'cases', 'opened_at'),
    ('ix_follow_ups_sent', 'follow_ups', 'sent_at'),
    ('ix_reviews_created', 'reviews', 'remote_created_at'),
    ('ix_shipments_shipped', 'shipments', 'shipped_at'),
)


def upgrade() -> None:
    """Apply this revision."""
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
