"""Taking SQLite's write lock before a read-then-write unit of work.

pysqlite opens a transaction only before the first INSERT, UPDATE or
DELETE, so a SELECT that decides what to claim runs outside any
transaction: two workers on one SQLite file can both read the same due
rows and then both claim them. Every claim that reads and then writes
takes the database's single write lock first, so its reads see the latest
commit and the other worker waits (up to the busy timeout) rather than
claiming the same rows. PostgreSQL needs nothing here: its claims lock
rows with ``FOR UPDATE SKIP LOCKED`` or advisory locks.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["begin_write"]


def begin_write(session: Session) -> None:
    """On SQLite, take the write lock now, so later reads in this transaction are current.

    A no-op UPDATE opens SQLite's write transaction (the statement takes the
    RESERVED lock even when it changes nothing). On other databases this
    does nothing.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE outbox SET id = id WHERE 1 = 0"))
