"""``window_newest_first`` does not trust a total the first page contradicts.

Pinduoduo, Taobao, Douyin and JD give an item total beside each page
(JD's ``totalCount``, ``totalItem``); the window is walked by it. A total
below the items page 1 already holds (0 beside a full page, a stale 1)
ended the walk after page 1, so the window's later pages were never read.
JD passed its totals through unchecked; the check now sits in the walk
itself (:func:`aftersales.paging.trusted_total`), for every adapter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aftersales.paging import window_newest_first

T0 = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)


def _stamp(item: int) -> tuple[datetime, str]:
    return T0 + timedelta(minutes=item), str(item)


@pytest.mark.parametrize("total", [0, 1, 2])
def test_a_total_the_first_page_contradicts_still_reads_every_page(total: int) -> None:
    pages = {1: [1, 2, 3], 2: [4, 5, 6], 3: [7]}
    asked: list[int] = []

    def fetch(page: int) -> tuple[list[int], int | None]:
        asked.append(page)
        return pages.get(page, []), total

    assert window_newest_first(fetch, 3, _stamp) == [1, 2, 3, 4, 5, 6, 7]


def test_an_honest_total_is_walked_newest_page_first() -> None:
    pages = {1: [1, 2, 3], 2: [4, 5, 6], 3: [7]}
    asked: list[int] = []

    def fetch(page: int) -> tuple[list[int], int | None]:
        asked.append(page)
        return pages.get(page, []), 7

    assert window_newest_first(fetch, 3, _stamp) == [1, 2, 3, 4, 5, 6, 7]
    assert asked == [1, 3, 2, 1]
