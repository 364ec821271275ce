"""NUL characters on PostgreSQL, which stores none in text or JSON.

A platform's answer can carry a NUL (``\\x00``) in a review's text, a status
or a note. SQLite stores it as given; PostgreSQL refuses it in ``text`` and
in ``jsonb`` (``\\u0000 cannot be converted to text``), which would fail a
whole page of a sync for one character. On PostgreSQL every NUL is stored as
U+FFFD, the Unicode replacement character, so the rest of the text is kept
and the spot stays visible.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["NUL_STAND_IN", "install_nul_free_text", "nul_free_json", "nul_free_json_dumps"]

#: What a NUL is stored as on PostgreSQL.
NUL_STAND_IN = "\ufffd"

# ``\u0000`` in JSON text, preceded by an even number of backslashes: an
# escaped NUL, not an escaped backslash followed by the letters "u0000".
_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def nul_free_json(text: str) -> str:
    """JSON text with each escaped NUL replaced by U+FFFD's escape."""
    if "\\u0000" not in text:
        return text
    return _ESCAPED_NUL.sub(r"\1\\ufffd", text)


def nul_free_json_dumps(value: Any) -> str:
    """``json.dumps`` for PostgreSQL: the same text, with no NUL escapes."""
    return nul_free_json(json.dumps(value))


def install_nul_free_text(dbapi_connection: Any, _record: Any = None) -> None:
    """Make a psycopg connection send every ``str`` parameter with NULs replaced.

    Registered on the engine's ``connect`` event for PostgreSQL, so every
    statement (the ORM's, Core's and raw ``executemany``) is covered.
    """
    from psycopg.adapt import Dumper, PyFormat

    adapters = dbapi_connection.adapters
    for fmt in (PyFormat.TEXT, PyFormat.BINARY):
        base = adapters.get_dumper(str, fmt)  # psycopg's own (in C), wrapped

        class NulFreeStr(Dumper):
            format = base.format
            oid = base.oid

            def __init__(self, cls: type, context: Any = None, inner: type = base) -> None:
                super().__init__(cls, context)
                self._inner = inner(cls, context)

            def dump(self, obj: str) -> Any:
                if "\x00" in obj:
                    obj = obj.replace("\x00", NUL_STAND_IN)
                return self._inner.dump(obj)

        adapters.register_dumper(str, NulFreeStr)
