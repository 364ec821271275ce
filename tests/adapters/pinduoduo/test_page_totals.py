"""A page's ``total_count`` that the page itself contradicts is not trusted.

pdd.refund.list.increment.get and pdd.order.number.list.increment.get give
``total_count`` beside each page (the API reference as the official SDKs'
response classes spell it; ``use_has_next`` answers leave it out). A window
is walked by that total (``aftersales.paging.window_newest_first``), so a
total below the items the first page already holds (0 beside a full page)
ended the walk after page 1 and the rest of the window was never read.
Taobao and Douyin already distrust such a total; the check is now the
core's one, shared by the three.
"""

from __future__ import annotations

from typing import Any

import pytest
from aftersales_pinduoduo import mapping

from aftersales.paging import trusted_total, window_newest_first

RECORD: dict[str, Any] = {"order_sn": "241120-100000001", "after_sales_status": 2,
                          "after_sales_type": 2, "refund_amount": "39.90"}


def _record(n: int) -> dict[str, Any]:
    return {**RECORD, "id": str(9000 + n), "updated_time": f"2024-11-21 09:4{n}:00"}


@pytest.mark.parametrize("total", [0, 1])
def test_a_total_below_the_first_page_reads_every_page(total: int) -> None:
    pages = {1: [_record(1), _record(2)], 2: [_record(3)]}

    def fetch(page: int) -> tuple[list[Any], int | None]:
        return mapping.refunds_page({"refund_list": pages.get(page, []),
                                     "total_count": total})

    got = window_newest_first(fetch, 2, mapping.request_stamp)
    assert [r.external_id for r in got] == ["9001", "9002", "9003"]  # 9003 was lost


def test_an_honest_total_is_kept() -> None:
    found, total = mapping.refunds_page({"refund_list": [_record(1)], "total_count": 3})
    assert len(found) == 1
    assert total == 3


@pytest.mark.parametrize(("total", "seen", "more", "trusted"), [
    (None, 3, None, None), (-1, 0, None, None), (2, 3, None, None), (3, 3, None, 3),
    (3, 3, True, None), (9, 3, True, 9), (0, 0, None, 0),
])
def test_the_core_rule(total: int | None, seen: int, more: bool | None,
                       trusted: int | None) -> None:
    assert trusted_total(total, seen, more=more) == trusted
