"""Proof that a signature is checked with a constant-time comparison.

A webhook or push signature compared with ``==`` answers faster the more of
its first characters match, which lets an attacker guess it one character at
a time; :func:`hmac.compare_digest` takes the same time whatever matches.
An adapter's tests prove it checks signatures that way by refusing a bad
signature inside :func:`digest_comparisons` and asserting a comparison was
recorded.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["digest_comparisons"]


@contextmanager
def digest_comparisons() -> Iterator[list[tuple[Any, Any]]]:
    """Record every :func:`hmac.compare_digest` call made inside the block.

    The list yielded fills with the pairs compared; the real comparison still
    decides. Code that bound ``compare_digest`` by name at import
    (``from hmac import compare_digest``) is not seen, so call it through
    the module.
    """
    real = hmac.compare_digest
    seen: list[tuple[Any, Any]] = []

    def recorded(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    hmac.compare_digest = recorded
    try:
        yield seen
    finally:
        hmac.compare_digest = real
