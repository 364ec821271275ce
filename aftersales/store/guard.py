"""Knowing, per thread, whether a write transaction is open.

The rule "no network call while a write transaction is open" is easy to
break without noticing: a push placed one line too late runs while an
INSERT already holds a lock, and a slow marketplace then holds every other
writer of the order (or, on SQLite, of the whole database) for as long as
it takes to answer. :func:`watch` marks a connection as *writing* from its
first statement that writes or locks (INSERT, UPDATE, DELETE, ``SELECT …
FOR UPDATE``) until its transaction ends; :func:`write_open` tells whether
the calling thread holds such a connection now. The HTTP layer's send hooks
(:func:`aftersales.http.add_send_hook`) let a test fail any call made while
it is true.

Cost: one string check per statement, on the statement's first word.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["watch", "write_open"]

_local = threading.local()
_READ_ONLY = ("select", "pragma", "show", "with", "savepoint", "release", "begin")


def _open() -> set[int]:
    found: set[int] | None = getattr(_local, "writing", None)
    if found is None:
        found = _local.writing = set()
    return found


def _writes(statement: str) -> bool:
    head = statement.lstrip()[:12].lower()
    if not head.startswith(_READ_ONLY):
        return True
    return head.startswith(("select", "with")) and "FOR UPDATE" in statement  # as emitted


def _on_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    if _writes(statement):
        _open().add(id(conn))


def _on_end(conn: Any, *_: Any) -> None:
    _open().discard(id(conn))


def watch(engine: Engine) -> None:
    """Track writing transactions on ``engine``'s connections (once per engine)."""
    if event.contains(engine, "before_cursor_execute", _on_execute):
        return
    event.listen(engine, "before_cursor_execute", _on_execute)
    event.listen(engine, "commit", _on_end)
    event.listen(engine, "rollback", _on_end)


def write_open() -> bool:
    """True while this thread holds a connection in a transaction that wrote or locked."""
    return bool(_open())
