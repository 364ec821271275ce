"""Watermark cursors: a listing resumed from any page misses and repeats nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.paging import (
    Watermark,
    decode_cursor,
    encode_cursor,
    numbered_pages,
    token_pages,
    watermarked_pages,
)

T0 = datetime(2025, 7, 1, tzinfo=UTC)


def test_cursor_round_trips_and_is_url_safe() -> None:
    cur = encode_cursor({"at": "2025-07-01T00:00:00+00:00", "seen": ["1", "2"]})
    assert set(cur) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cur, adapter="x")["seen"] == ["1", "2"]


@pytest.mark.parametrize("bad", ["!!!", "bm90IGpzb24", encode_cursor({})[:-3] + "xx"])
def test_malformed_cursor_is_a_validation_error_naming_the_adapter(bad: str) -> None:
    with pytest.raises(ValidationError, match="shopify cursor"):
        Watermark.from_cursor(bad, adapter="shopify")


def test_cursor_without_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="cursor"):
        Watermark.from_cursor(encode_cursor({"seen": []}), adapter="woo")


def test_naive_times_are_refused() -> None:
    mark = Watermark(T0)
    with pytest.raises(ValidationError, match="aware"):
        mark.admits(datetime(2025, 7, 1), "1")


def _listing(items: list[tuple[int, str]], size: int, start: Watermark | None) -> list[str]:
    """Simulate a marketplace: items with change time >= the watermark, ascending."""
    def batches() -> list[list[tuple[int, str]]]:
        since = start.at if start else None
        pool = sorted(i for i in items if since is None or T0 + timedelta(seconds=i[0]) >= since)
        return [pool[k:k + size] for k in range(0, len(pool), size)] or [[]]

    return [key for page in watermarked_pages(batches(), _stamp, start) for _, key in page.items]


def _stamp(item: tuple[int, str]) -> tuple[datetime, str]:
    return T0 + timedelta(seconds=item[0]), item[1]


@given(
    times=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=30),
    size=st.integers(min_value=1, max_value=7),
    stop=st.integers(min_value=0, max_value=10),
)
def test_resuming_from_any_page_misses_and_repeats_nothing(
    times: list[int], size: int, stop: int
) -> None:
    items = [(t, f"id{n}") for n, t in enumerate(times)]  # many ties on purpose
    pages = list(watermarked_pages(
        [sorted(items)[k:k + size] for k in range(0, len(items), size)], _stamp, None))
    stop = min(stop, len(pages) - 1)
    first = [key for p in pages[: stop + 1] for _, key in p.items]
    resumed = _listing(items, size, Watermark.from_cursor(pages[stop].cursor, adapter="t"))
    assert sorted(first + resumed) == sorted(key for _, key in items)


def test_an_old_only_batch_keeps_the_cursor() -> None:
    start = Watermark(T0 + timedelta(seconds=5), {"a"})
    pages = list(watermarked_pages([[(5, "a")]], _stamp, start))
    assert pages[0].items == []
    assert pages[0].cursor == start.to_cursor()


def test_an_item_far_ahead_of_the_clock_is_left_out_once_and_listed_when_due(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A change time decades ahead (a bogus 2099) would carry the cursor past
    every item to come: it is left out of the pages and the cursor, named
    once in a warning (by id, twice listed or not), and listed once the clock
    has caught up. An item within the skew allowance is listed as usual."""
    ahead = (3_000_000_000, "far")  # 2120: past the clock by decades
    skew = (60, "skew")  # a minute ahead of the clock below: clock skew
    clock = T0
    with caplog.at_level("WARNING"):
        pages = list(watermarked_pages([[(0, "a"), ahead], [ahead, skew]], _stamp, None,
                                       now=clock, what="order", adapter="shop"))
    assert [key for p in pages for _, key in p.items] == ["a", "skew"]
    assert Watermark.from_cursor(pages[-1].cursor, adapter="t") == Watermark(
        T0 + timedelta(seconds=60), {"skew"})
    assert caplog.text.count("shop: left out order far:") == 1
    start = Watermark.from_cursor(pages[-1].cursor, adapter="t")
    later = list(watermarked_pages([[skew, (90, "b"), ahead]], _stamp, start,
                                   now=clock + timedelta(seconds=3_000_000_000)))
    assert [key for p in later for _, key in p.items] == ["b", "far"]


def test_numbered_pages_stops_at_total_pages() -> None:
    calls: list[int] = []

    def fetch(n: int) -> tuple[list[int], int | None]:
        calls.append(n)
        return [n], 3

    assert list(numbered_pages(fetch)) == [[1], [2], [3]]
    assert calls == [1, 2, 3]


def test_numbered_pages_stops_on_an_empty_page_without_total() -> None:
    assert list(numbered_pages(lambda n: ([n] if n < 3 else [], None))) == [[1], [2], []]


def test_token_pages_follows_tokens_until_none() -> None:
    tokens = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], None)}
    assert list(token_pages(lambda t: tokens[t])) == [[1], [2], [3]]


def test_a_page_in_reverse_order_is_handed_out_in_change_order() -> None:
    pages = list(watermarked_pages([[(3, "c"), (1, "a"), (2, "b")]], _stamp, None))
    assert [key for _, key in pages[0].items] == ["a", "b", "c"]
    resumed = Watermark.from_cursor(pages[0].cursor, adapter="t")
    assert resumed is not None
    assert resumed.at == T0 + timedelta(seconds=3)


def test_time_windows_tile_from_the_watermark_to_lag_before_now() -> None:
    from datetime import UTC, datetime, timedelta
    from itertools import pairwise

    from aftersales.paging import Watermark, time_windows

    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    width = timedelta(minutes=30)
    spans = list(time_windows(None, now=now, lag=timedelta(minutes=1),
                              lookback=timedelta(hours=2), width=width))
    assert spans[0][0] == now - timedelta(hours=2, minutes=1)
    assert spans[-1][1] == now - timedelta(minutes=1)
    assert all(b - a <= width for a, b in spans)
    assert all(x[1] == y[0] for x, y in pairwise(spans))
    mark = Watermark(now, {"a"})  # a watermark at "now": still one second is read
    assert list(time_windows(mark, now=now, lag=timedelta(minutes=1),
                             lookback=timedelta(hours=2), width=width)) == [
        (now - timedelta(seconds=1), now)]


def test_a_windowed_listing_never_hands_out_an_item_stamped_in_the_future() -> None:
    """Taobao, Douyin, Pinduoduo and JD list by time windows ending ``lag``
    before the clock. A server answering every window with an item stamped
    2099 (it ignores the bounds, or its index is stale) must not have it
    handed out: it would carry the cursor past every item to come."""
    from aftersales.paging import windowed_pages

    now = T0 + timedelta(hours=1)
    bogus = (3_000_000_000, "far")  # 2120

    def window(since: datetime, until: datetime) -> list[tuple[int, str]]:
        return [(60, "a"), bogus] if since <= T0 + timedelta(seconds=60) <= until else [bogus]

    pages = list(windowed_pages(None, window, _stamp, clock=lambda: now,
                                lag=timedelta(minutes=1), lookback=timedelta(hours=1),
                                width=timedelta(minutes=30), size=10))
    assert [key for p in pages for _, key in p.items] == ["a"]
    mark = Watermark.from_cursor(pages[-1].cursor, adapter="t")
    assert mark is not None
    assert mark.at == T0 + timedelta(seconds=60)


def test_window_newest_first_reads_page_one_then_back_and_keeps_newest() -> None:
    from datetime import UTC, datetime

    from aftersales.paging import window_newest_first

    t = [datetime(2024, 1, 1, 0, m, tzinfo=UTC) for m in range(6)]
    items = [(t[5], "e"), (t[4], "d"), (t[3], "c"), (t[2], "b"), (t[1], "a")]  # newest first
    asked: list[int] = []

    def fetch(page: int) -> tuple[list[tuple[datetime, str]], int | None]:
        asked.append(page)
        got = items[(page - 1) * 2: page * 2]
        if page == 3:
            got = [*got, (t[0], "d")]  # an older copy of "d" seen later
        return got, len(items)

    found = window_newest_first(fetch, 2, lambda x: x)
    assert asked == [1, 3, 2, 1]
    assert found == sorted(items)


def test_window_newest_first_without_a_total_walks_forward() -> None:
    from datetime import UTC, datetime

    from aftersales.paging import window_newest_first

    t = datetime(2024, 1, 1, tzinfo=UTC)
    pages = {1: [(t, "a"), (t, "b")], 2: [(t, "c")]}
    assert window_newest_first(lambda n: (pages.get(n, []), None), 2, lambda x: x) == [
        (t, "a"), (t, "b"), (t, "c")]


def test_window_newest_first_loses_nothing_when_an_item_leaves_mid_walk() -> None:
    """The newest item changes (leaves the window) while page 3 is read; the rest shift up."""
    from datetime import UTC, datetime

    from aftersales.paging import window_newest_first

    t = [datetime(2024, 1, 1, 0, m, tzinfo=UTC) for m in range(6)]
    live = [(t[5], "f"), (t[4], "e"), (t[3], "d"), (t[2], "c"), (t[1], "b"), (t[0], "a")]

    def fetch(page: int) -> tuple[list[tuple[datetime, str]], int | None]:
        got = live[(page - 1) * 2: page * 2]
        if page == 3:
            live.pop(0)  # "f" changed after the window's end: it leaves, the others move up
        return got, len(live)

    found = {key for _, key in window_newest_first(fetch, 2, lambda x: x)}
    assert found >= {"a", "b", "c", "d", "e"}


def test_window_newest_first_stops_when_a_server_repeats_its_page() -> None:
    """Without a total, a server that ignores the page number serves the same full page
    forever: the walk ends at the first page that brings nothing new."""
    from aftersales.paging import window_newest_first

    calls: list[int] = []

    def fetch(n: int) -> tuple[list[tuple[int, str]], None]:
        calls.append(n)
        assert n < 50, "the walk never ended"
        return [(1, "a"), (2, "b")], None

    assert window_newest_first(fetch, 2, lambda x: (x[0], x[1])) == [(1, "a"), (2, "b")]
    assert calls == [1, 2]
