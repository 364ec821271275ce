"""Taking SQLite's write lock before a read-then-write unit of work.

pysqlite opens a transaction only before the first INSERT, UPDATE or
DELETE, so a SELECT that decides what to claim runs outside any
transaction: two workers on one SQLite file can both read the same due
rows and then both claim them. Every claim that reads and then writes
takes the database's single write lock first, so its reads see the latest
commit and the other worker waits (up to the busy timeout) rather than
claiming the same rows. PostgreSQL needs nothing here: its claims lock
rows with ``FOR UPDATE SKIP LOCKED`` or advisory locks.

Work that inserts rows a concurrent worker may insert too (two workers
syncing the same marketplace's reviews) uses :func:`one_writer`: one
transaction at a time per key, on either database, so the second sees what
the first wrote instead of colliding with it on a unique key.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["begin_write", "one_writer"]


def begin_write(session: Session) -> None:
    """On SQLite, take the write lock now, so later reads in this transaction are current.

    A no-op UPDATE opens SQLite's write transaction (the statement takes the
    RESERVED lock even when it changes nothing). On other databases this
    does nothing.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE outbox SET id = id WHERE 1 = 0"))


def one_writer(session: Session, key: str) -> None:
    """Let one transaction at a time hold ``key``; others wait until it ends.

    PostgreSQL takes a transaction-level advisory lock on the key's hash;
    SQLite, whose writers are one at a time anyway, takes its write lock.
    Either way the lock goes with the transaction's commit or rollback.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": key})
    else:
        begin_write(session)
