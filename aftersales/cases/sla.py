"""SLA deadlines as objects: start, pause, resume, meet, and when each is due.

A deadline keeps the time it has counted so far (``elapsed_seconds``) and,
while running, the instant its current run began (``running_since``). Its
warning and breach instants are computed from those two with the case's
clock, so a pause (awaiting the customer) stops the count and a resume
moves both instants later by exactly the paused time the clock would have
counted. ``next_at`` is the next instant the SLA tick must look at the row.
"""

from __future__ import annotations

from datetime import datetime

from aftersales.cases.clock import Clock
from aftersales.store.tables.cases import CaseSlaRow

__all__ = [
    "BREACHED",
    "MET",
    "PAUSED",
    "RUNNING",
    "counted",
    "meet",
    "pause",
    "recompute",
    "restart",
    "resume",
]

RUNNING, PAUSED, MET, BREACHED = "running", "paused", "met", "breached"


def recompute(row: CaseSlaRow, clock: Clock) -> None:
    """Set ``warn_at``, ``due_at`` and ``next_at`` from the count so far."""
    if row.running_since is None or row.status == MET:
        row.warn_at = row.due_at = row.next_at = None
        return
    since, done = row.running_since, row.elapsed_seconds
    row.warn_at = clock.add(since, max(0.0, row.warn_seconds - done))
    row.due_at = clock.add(since, max(0.0, row.target_seconds - done))
    if row.warned_at is None:
        row.next_at = row.warn_at
    elif row.breached_at is None:
        row.next_at = row.due_at
    else:
        row.next_at = None


def counted(row: CaseSlaRow, now: datetime, clock: Clock) -> float:
    """Seconds the deadline has counted up to ``now`` (paused time excluded)."""
    extra = clock.counted(row.running_since, now) if row.running_since is not None else 0.0
    return row.elapsed_seconds + extra


def pause(row: CaseSlaRow, now: datetime, clock: Clock) -> None:
    """Stop the count at ``now`` (awaiting the customer); a paused row is left as it is."""
    if row.running_since is None or row.status == MET:
        return
    row.elapsed_seconds = counted(row, now, clock)
    row.running_since = None
    row.status = PAUSED
    recompute(row, clock)


def resume(row: CaseSlaRow, now: datetime, clock: Clock) -> None:
    """Start counting again from ``now``; a running or met row is left as it is."""
    if row.running_since is not None or row.status == MET:
        return
    row.running_since = now
    row.status = BREACHED if row.breached_at is not None else RUNNING
    recompute(row, clock)


def meet(row: CaseSlaRow, now: datetime, clock: Clock) -> None:
    """The target was reached (first reply given, case resolved): stop for good."""
    if row.status == MET:
        return
    row.elapsed_seconds = counted(row, now, clock)
    row.running_since = None
    row.status = MET
    row.met_at = now
    recompute(row, clock)


def restart(row: CaseSlaRow, now: datetime, clock: Clock, *, target: float,
            warn: float) -> None:
    """Begin a new round (a reopened case): count from zero, warn and breach anew."""
    row.round = (row.round or 1) + 1
    row.target_seconds, row.warn_seconds = target, warn
    row.elapsed_seconds = 0.0
    row.running_since = now
    row.status = RUNNING
    row.warned_at = row.breached_at = row.met_at = None
    recompute(row, clock)
