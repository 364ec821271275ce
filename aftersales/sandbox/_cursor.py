"""Opaque cursors and paging for the sandbox's incremental listings.

A listing is ordered by ``(updated_at, id)``. A cursor encodes the position
of the last item of a page, so resuming from it yields exactly the items
after that position: nothing missed, nothing repeated, and an item changed
later comes back because its new ``updated_at`` sorts after the cursor.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from aftersales.errors import ValidationError
from aftersales.models import Page

__all__ = ["Key", "decode_cursor", "encode_cursor", "paginate"]

T = TypeVar("T")

#: a listing position: when the item last changed and its id.
Key = tuple[datetime, str]

_PREFIX = "sbx1."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def encode_cursor(key: Key) -> str:
    """The opaque cursor for a position."""
    updated_at, item_id = key
    micros = (updated_at - _EPOCH) // _MICRO
    raw = f"{micros}|{item_id}".encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Key:
    """The position a cursor encodes.

    Raises:
        ValidationError: the cursor was not made by the sandbox.
    """
    if not cursor.startswith(_PREFIX):
        raise ValidationError("not a sandbox cursor", field="cursor")
    body = cursor[len(_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        micros, item_id = raw.split("|", 1)
        updated_at = _EPOCH + int(micros) * _MICRO
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationError("malformed sandbox cursor", field="cursor") from exc
    return updated_at, item_id


def paginate(
    keys: Sequence[Key],
    cursor: str | None,
    page_size: int,
    build: Callable[[str], T],
    before_page: Callable[[], None],
) -> Iterator[Page[T]]:
    """Yield pages of the items after ``cursor``, building each item on demand.

    ``keys`` is the listing's snapshot; ``build`` turns an id into a model;
    ``before_page`` runs before each page is fetched (fault injection).
    """
    after = decode_cursor(cursor) if cursor else None
    ordered = sorted(k for k in keys if after is None or _after(k, after))
    for start in range(0, len(ordered), page_size):
        chunk = ordered[start : start + page_size]
        before_page()
        items = [build(item_id) for _, item_id in chunk]
        yield Page[T](items=items, cursor=encode_cursor(chunk[-1]))


def _after(key: Key, after: Key) -> bool:
    return key > after
