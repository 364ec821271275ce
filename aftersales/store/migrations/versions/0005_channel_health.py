"""a channel's failures in a row are stored: channel_health

When a channel failed as a whole (an SMTP 535, a server out of reach) the
wait before its next try grows with how many tries failed in a row, and that
count was read back from the kept follow-ups' error text: a reworded message
restarted the waits, and the text was the only record. The count now has a
table of its own, one row per failing channel.

The backfill reads the count the library itself wrote on follow-ups still
scheduled ("channel NAME unavailable (N in a row), follow-ups kept until
..."), keeps the largest per channel, capped at 20 (past which no plan's
wait grows), and takes the latest due time of those follow-ups as the time
of the next try. Nothing else is read or changed; a text that does not
match exactly, or names a channel the row was not sent through, is left
out.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:40:00
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from aftersales.store.types import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: Rows read per statement while looking for kept queues.
_CHUNK = 1000
#: The largest count carried over (2**19 times any initial wait is past every cap).
_MAX_FAILURES = 20
_KEPT = re.compile(r"channel (.{1,200}?) unavailable \((\d{1,6}) in a row\), follow-ups kept until ")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('channel_health',
    sa.Column('channel', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('retry_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_channel_health'))
    )
    _fill()


def _fill() -> None:
    """Seed a row per channel whose queue is kept now, from the texts the library wrote."""
    follow_ups = sa.table('follow_ups', sa.column('id', sa.Integer()),
                          sa.column('status', sa.String()), sa.column('channel', sa.String()),
                          sa.column('due_at', UTCDateTime()),
                          sa.column('last_error', sa.Text()))
    health = sa.table('channel_health', sa.column('channel', sa.String()),
                      sa.column('failures', sa.Integer()), sa.column('retry_at', UTCDateTime()),
                      sa.column('updated_at', UTCDateTime()))
    bind = op.get_bind()
    found: dict[str, tuple[int, datetime]] = {}
    last = 0
    while True:
        rows = bind.execute(
            sa.select(follow_ups.c.id, follow_ups.c.channel, follow_ups.c.due_at,
                      follow_ups.c.last_error)
            .where(follow_ups.c.id > last, follow_ups.c.status == 'scheduled',
                   follow_ups.c.last_error.like('channel %'))
            .order_by(follow_ups.c.id).limit(_CHUNK)).all()
        if not rows:
            break
        last = rows[-1][0]
        for _, channel, due_at, text in rows:
            _take(found, channel, due_at, text)
    if found:
        now = datetime.now(UTC)
        bind.execute(health.insert(), [
            {'channel': name, 'failures': count, 'retry_at': at, 'updated_at': now}
            for name, (count, at) in sorted(found.items())])


def _take(found: dict[str, tuple[int, datetime]], channel: Any, due_at: Any,
          text: Any) -> None:
    """Count one kept follow-up's channel failure, if its text is the library's own."""
    match = _KEPT.match(text or '')
    if match is None or not isinstance(due_at, datetime):
        return
    name = match.group(1)
    if name != channel and not name.startswith(f'{channel}:'):
        return
    count = min(int(match.group(2)), _MAX_FAILURES)
    if count < 1:
        return
    old_count, old_at = found.get(name, (0, due_at))
    found[name] = (max(old_count, count), max(old_at, due_at))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('channel_health')
