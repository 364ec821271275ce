"""Idempotency keys that fit their column without losing what makes them unique.

A caller's key may be longer than the column that stores it. Cutting it
would make two keys with a common prefix one key: the second operation would
be reported as already done and never applied. A key too long to store is
therefore stored as a hash of the whole key instead, which keeps distinct
keys distinct and the same key the same.
"""

from __future__ import annotations

import hashlib

__all__ = ["KEY_COLUMN_LENGTH", "stored_key"]

#: The length of the idempotency-key columns.
KEY_COLUMN_LENGTH = 200
_PREFIX = "sha256:"


def stored_key(key: str, limit: int = KEY_COLUMN_LENGTH) -> str:
    """``key`` as stored: itself when it fits in ``limit`` characters, else its SHA-256.

    The hashed form (``sha256:`` and 64 hex digits) is reserved: a key that
    already starts with ``sha256:`` is hashed too, so no caller's key can
    collide with another key's hashed form.
    """
    if len(key) <= limit and not key.startswith(_PREFIX):
        return key
    return _PREFIX + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
