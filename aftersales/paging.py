"""Cursors and page iteration shared by the adapters.

A listing cursor is opaque to callers but has one meaning inside the
library: a *watermark*, the change time of the last item handed out plus the
ids already handed out at exactly that time. Resuming from a watermark asks
the marketplace again from that time (inclusive) and drops what the
watermark has already seen, so a resumed listing misses nothing and repeats
nothing, whatever order the marketplace gives items that share a timestamp.

Marketplace page tokens (a GraphQL ``endCursor``, a page number) are only
followed inside one run of a listing; the cursor handed back to the caller is
always the watermark, because page tokens go stale when items change.

:func:`numbered_pages` and :func:`token_pages` walk the two pagination styles
(page numbers up to a total-pages count, and next-page tokens).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aftersales.errors import ResponseParseError, ValidationError
from aftersales.models import Page
from aftersales.times import utc

__all__ = [
    "MAX_AHEAD",
    "Watermark",
    "ahead_of_clock",
    "decode_cursor",
    "encode_cursor",
    "numbered_pages",
    "time_windows",
    "token_pages",
    "trusted_total",
    "watermarked_pages",
    "window_newest_first",
    "windowed_pages",
]

T = TypeVar("T")
_VERSION = 1
log = logging.getLogger("aftersales.paging")

#: How far after this machine's clock a listed item's change time may be (clock
#: skew). An item further ahead (a bogus 2099) would carry a watermark past
#: every item to come, so a listing leaves it out until its time has come.
MAX_AHEAD = timedelta(minutes=5)


def ahead_of_clock(at: datetime, now: datetime) -> bool:
    """Whether a change time ``at`` is more than :data:`MAX_AHEAD` after ``now``.

    A watermarked listing leaves such an item out (named in a warning), so
    it never moves the cursor; a later listing hands it out once ``now`` has
    caught up.
    """
    return utc(at, "at") > utc(now, "now") + MAX_AHEAD


def encode_cursor(data: dict[str, Any]) -> str:
    """Pack ``data`` (JSON-serialisable) into a URL-safe opaque string."""
    raw = json.dumps({"v": _VERSION, **data}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *, adapter: str) -> dict[str, Any]:
    """Unpack a cursor made by :func:`encode_cursor`.

    Raises:
        ValidationError: the cursor is not one this library made (names the
            adapter, never echoes the value).
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise ValidationError("not a cursor this library made", field="cursor",
                              payload=f"{adapter} cursor") from exc
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise ValidationError("unknown cursor version", field="cursor",
                              payload=f"{adapter} cursor")
    return data


@dataclass
class Watermark:
    """How far an incremental listing has got: a time and the ids seen at it.

    Attributes:
        at: the latest change time handed out (UTC).
        seen: the ids handed out whose change time is exactly ``at``.
    """

    at: datetime
    seen: set[str] = field(default_factory=set)

    def admits(self, at: datetime, key: str) -> bool:
        """True when an item changed at ``at`` with id ``key`` is new to this watermark."""
        at = utc(at, "at")
        return at > self.at or (at == self.at and key not in self.seen)

    def advance(self, at: datetime, key: str) -> None:
        """Record that the item (``at``, ``key``) was handed out."""
        at = utc(at, "at")
        if at > self.at:
            self.at, self.seen = at, {key}
        elif at == self.at:
            self.seen.add(key)

    def to_cursor(self) -> str:
        """The opaque cursor for this watermark."""
        return encode_cursor({"at": self.at.isoformat(), "seen": sorted(self.seen)})

    @classmethod
    def from_cursor(cls, cursor: str | None, *, adapter: str) -> Watermark | None:
        """The watermark in ``cursor``, or ``None`` for a listing from the start.

        Raises:
            ValidationError: the cursor is malformed.
        """
        if cursor is None:
            return None
        data = decode_cursor(cursor, adapter=adapter)
        try:
            at = utc(datetime.fromisoformat(str(data["at"])), "at")
            seen = {str(s) for s in data.get("seen", [])}
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise ValidationError("cursor has no valid time", field="cursor",
                                  payload=f"{adapter} cursor") from exc
        return cls(at, seen)


def watermarked_pages(
    batches: Iterable[list[T]],
    stamp: Callable[[T], tuple[datetime, str]],
    start: Watermark | None,
    *,
    now: datetime | None = None,
    what: str = "item",
    adapter: str = "",
) -> Iterator[Page[T]]:
    """Turn raw batches (oldest change first) into pages with watermark cursors.

    Items the starting watermark already saw are dropped; every yielded page's
    cursor resumes right after its last item. Each batch is put in change
    order first, so a server that orders one page differently loses nothing.
    A batch that is entirely old still yields an empty page carrying the
    unchanged cursor, so a caller that stores cursors page by page always has
    the latest one.

    Args:
        batches: the marketplace's pages, in ascending change order.
        stamp: gives an item's (change time, id).
        start: the watermark to resume from, or ``None``.
        now: this machine's clock when the listing started; an item changed
            more than :data:`MAX_AHEAD` after it (:func:`ahead_of_clock`) is
            left out and named once in a warning, so a bogus 2099 never
            moves the cursor past every item to come; a later listing hands
            it out once its time has come. ``None``: no bound.
        what, adapter: name the left-out item in the warning (``"order"``,
            ``"shopify"``); only its id is logged.
    """
    mark = Watermark(start.at, set(start.seen)) if start else None
    named: set[str] = set()
    for batch in batches:
        fresh: list[T] = []
        stamped = sorted(((stamp(item), n, item) for n, item in enumerate(batch)),
                         key=lambda s: (utc(s[0][0], "at"), s[1]))
        for (at, key), _, item in stamped:
            if now is not None and ahead_of_clock(at, now):
                if key not in named:
                    named.add(key)
                    log.warning("%s: left out %s %s: changed more than %s after this "
                                "machine's clock; listed once its time has come",
                                adapter or "listing", what, key, MAX_AHEAD)
                continue
            if mark is None:
                mark = Watermark(utc(at, "at"), {key})
                fresh.append(item)
            elif mark.admits(at, key):
                mark.advance(at, key)
                fresh.append(item)
        yield Page[T](items=fresh, cursor=mark.to_cursor() if mark else None)


def numbered_pages(
    fetch: Callable[[int], tuple[list[T], int | None]], *, first: int = 1
) -> Iterator[list[T]]:
    """Walk page-numbered results until the total-pages count (or an empty page).

    Args:
        fetch: loads page ``n`` and returns its items and the total number of
            pages the server reported (``None`` when it did not say).
        first: the first page number.

    A page that repeats the one before it item for item ends the walk too:
    the server ignores the page number, and would otherwise be asked
    forever (or up to a total it made up).
    """
    page = first
    previous: list[T] | None = None
    while True:
        items, total = fetch(page)
        if items and items == previous:
            return
        yield items
        if not items or (total is not None and page >= total):
            return
        previous = items
        page += 1


def trusted_total(total: int | None, seen: int, *, more: bool | None = None) -> int | None:
    """A listing's reported item ``total`` if the pages read so far agree with it, else ``None``.

    Listings walk the pages a total announces (:func:`window_newest_first`);
    a total that cannot be (below zero, below the ``seen`` items the pages
    already held, or no more than them while the answer says ``more``
    follow) would end the walk early and drop items unread, so it is not
    trusted and the pages are walked until a short one instead.
    """
    if total is None or total < 0 or total < seen or (more and total <= seen):
        return None
    return total


def token_pages(fetch: Callable[[str | None], tuple[list[T], str | None]], *,
                adapter: str = "") -> Iterator[list[T]]:
    """Walk token-paginated results (GraphQL ``endCursor``, REST ``page_info``).

    Args:
        fetch: loads the page after ``token`` (``None`` for the first) and
            returns its items and the next token, or ``None`` on the last page.
        adapter: named by the error below.

    Raises:
        ResponseParseError: the server hands out a token it gave before: its
            pages loop, and following them would never end.
    """
    token: str | None = None
    seen: set[str] = set()
    while True:
        items, token = fetch(token)
        yield items
        if token is None:
            return
        if token in seen:
            raise ResponseParseError("pagination loops: a next-page token came back",
                                     adapter=adapter)
        seen.add(token)


def time_windows(
    start: Watermark | None, *, now: datetime, lag: timedelta, lookback: timedelta,
    width: timedelta,
) -> Iterator[tuple[datetime, datetime]]:
    """The modified-time windows an incremental listing reads, oldest first.

    Platforms that list "changed between A and B" cap the span one query
    may cover (Pinduoduo: 30 minutes; Taobao: one day); this walks from the
    watermark (one second early, since whether the start bound is inclusive
    is rarely documented) or from ``lookback`` ago, to ``lag`` before now,
    at most ``width`` at a time, and always covers at least one second so
    items changed in the watermark's own second are found again.
    """
    second = timedelta(seconds=1)
    end = now - lag
    since = start.at - second if start else end - lookback
    end = max(end, since + second)
    while since < end:
        until = min(since + width, end)
        yield since, until
        since = until


def windowed_pages(
    start: Watermark | None,
    window: Callable[[datetime, datetime], list[T]],
    stamp: Callable[[T], tuple[datetime, str]],
    *,
    clock: Callable[[], datetime],
    lag: timedelta,
    lookback: timedelta,
    width: timedelta,
    size: int,
) -> Iterator[Page[T]]:
    """An incremental listing read window by window (:func:`time_windows`), in pages
    of at most ``size`` items with watermark cursors (:func:`watermarked_pages`).

    An item a window's answer stamps after that window's end is left to the
    window (or the next run) that covers its stamp: a stale search index, or a
    write during the walk, returns an item under its old time with its new one,
    and read early it would move the watermark past every window still to read,
    whose items would then never be listed.

    Args:
        start: the watermark to resume from, or ``None``.
        window: every item changed in ``[since, until]``, oldest change first.
        stamp: an item's (change time, id).
        clock: the current aware time, read when the walk starts.
        lag, lookback, width: see :func:`time_windows`.
        size: the largest page handed out.
    """
    def batches() -> Iterator[list[T]]:
        for since, until in time_windows(start, now=clock(), lag=lag, lookback=lookback,
                                         width=width):
            items = [item for item in window(since, until)
                     if utc(stamp(item)[0], "at") <= until]
            for i in range(0, len(items), size):
                yield items[i : i + size]

    return watermarked_pages(batches(), stamp, start)


def window_newest_first(
    fetch: Callable[[int], tuple[list[T], int | None]], size: int,
    stamp: Callable[[T], tuple[datetime, str]],
) -> list[T]:
    """Every item of one window whose pages a platform serves newest first.

    Pinduoduo and Taobao number pages within a window and advise reading
    from the last page back: an item changed during the walk leaves the
    window without shifting an unread one out of reach. Page 1 comes first
    (it carries the total), then the last page back to page 1 again (an
    item that moved up into page 1 after the first read is found there); an
    item seen twice keeps its newest version. A total that changes during
    the walk (an item came in and shifted the rest) has the window walked
    again, at most three times. Without a total (or with one page 1
    contradicts, :func:`trusted_total`), pages are walked forward
    until a short one, or one that brings no item not read before (a server
    that ignores the page number would never end the walk).

    Args:
        fetch: loads page ``n`` (from 1) and returns its items and the total
            number of items the platform reports (``None`` if it does not).
        size: the page size asked for.
        stamp: an item's (change time, id).

    Returns:
        The window's items, oldest change first.
    """
    first, reported = fetch(1)
    # a total below what page 1 holds (0 beside a full page) would end the walk early
    total = trusted_total(reported, len(first))
    found: dict[str, T] = {}

    def keep(items: list[T]) -> None:
        for item in items:
            key = stamp(item)[1]
            if key not in found or stamp(found[key]) < stamp(item):
                found[key] = item

    keep(first)
    if total is None:
        page_no, got = 1, first
        while len(got) == size:
            page_no += 1
            got, _ = fetch(page_no)
            before = len(found)
            keep(got)
            if len(found) == before:
                break  # a full page of items already read: the server repeats itself
    else:
        # A total that changes during the walk means an item came into the window
        # (a late write) and shifted the ones after it onto pages already read:
        # the window is walked again under the new total, a few times at most.
        for _ in range(3):
            if total <= size:
                break
            totals: set[int] = set()
            for page_no in range(-(-total // size), 0, -1):
                items, now = fetch(page_no)
                keep(items)
                if now is not None:
                    totals.add(now)
            if totals <= {total}:
                break
            total = max(totals)
    return sorted(found.values(), key=stamp)
