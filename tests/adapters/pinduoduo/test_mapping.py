"""Every documented status, type and reason maps to a canonical value; times and amounts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aftersales_pinduoduo import mapping

from aftersales.errors import ValidationError
from aftersales.models import Money, ReturnKind, ReturnReason, ReturnStatus

#: after_sales_status as the API reference enumerates it (pdd.refund.list.increment.get,
#: pdd.refund.information.get), 1 being the "all" filter value.
DOCUMENTED_STATUSES = {
    0: "无售后", 2: "买家申请退款，待商家处理", 3: "退货退款，待商家处理", 4: "商家同意退款，退款中",
    5: "平台同意退款，退款中", 6: "驳回退款，待买家处理", 7: "已同意退货退款,待用户发货",
    8: "平台处理中", 9: "平台拒绝退款，退款关闭", 10: "退款成功", 11: "买家撤销",
    12: "买家逾期未处理，退款失败", 13: "买家逾期，超过有效期", 14: "换货补寄待商家处理",
    15: "换货补寄待用户处理", 16: "换货补寄成功", 17: "换货补寄失败", 18: "换货补寄待用户确认完成",
    21: "待商家同意维修", 22: "待用户确认发货", 24: "维修关闭", 25: "维修成功", 27: "待用户确认收货",
    31: "已同意拒收退款，待用户拒收", 32: "补寄待商家发货", 33: "待商家召回",
}
#: after_sales_type of the incremental list (1 is the "all" filter value).
DOCUMENTED_LIST_TYPES = {2: "仅退款", 3: "退货退款", 4: "换货", 5: "缺货补寄", 6: "维修",
                         9: "拦截退货"}
#: after_sales_type of the detail API.
DOCUMENTED_DETAIL_TYPES = {1: "仅退款", 2: "退货退款", 3: "换货", 4: "补寄", 5: "维修"}


def test_the_status_table_is_exactly_the_documented_list() -> None:
    assert set(mapping.STATUSES) == set(DOCUMENTED_STATUSES)


@pytest.mark.parametrize("code", sorted(DOCUMENTED_STATUSES))
def test_every_documented_status_maps(code: int) -> None:
    assert isinstance(mapping.return_status(code), ReturnStatus)


@pytest.mark.parametrize(("code", "expected"), [
    (2, ReturnStatus.REQUESTED), (3, ReturnStatus.REQUESTED), (4, ReturnStatus.REFUNDED),
    (6, ReturnStatus.REJECTED), (7, ReturnStatus.APPROVED), (10, ReturnStatus.REFUNDED),
    (11, ReturnStatus.CANCELLED), (16, ReturnStatus.CLOSED), (18, ReturnStatus.EXCHANGE_SHIPPED),
])
def test_the_main_path_maps_as_the_words_say(code: int, expected: ReturnStatus) -> None:
    assert mapping.return_status(code) is expected


def test_paid_and_unpaid_never_overlap_and_cover_the_agreeable() -> None:
    assert not mapping.PAID & mapping.UNPAID
    assert mapping.AGREEABLE <= mapping.UNPAID
    assert all(mapping.STATUSES[c] is ReturnStatus.REFUNDED for c in mapping.PAID)


def test_an_unknown_status_reads_as_requested() -> None:
    assert mapping.return_status(99) is ReturnStatus.REQUESTED


def test_both_type_tables_are_exactly_the_documented_lists() -> None:
    assert set(mapping.LIST_TYPES) == set(DOCUMENTED_LIST_TYPES)
    assert set(mapping.DETAIL_TYPES) == set(DOCUMENTED_DETAIL_TYPES)
    for table in (mapping.LIST_TYPES, mapping.DETAIL_TYPES):
        assert all(isinstance(kind, ReturnKind) for kind in table.values())
    assert mapping.LIST_TYPES[2] is mapping.DETAIL_TYPES[1] is ReturnKind.REFUND_ONLY
    assert mapping.LIST_TYPES[3] is mapping.DETAIL_TYPES[2] is ReturnKind.RETURN
    assert mapping.LIST_TYPES[5] is mapping.DETAIL_TYPES[4] is ReturnKind.RESHIP  # 补寄
    assert mapping.LIST_TYPES[6] is mapping.DETAIL_TYPES[5] is ReturnKind.REPAIR  # 维修


@pytest.mark.parametrize("text", sorted(mapping.REASONS))
def test_every_listed_reason_maps(text: str) -> None:
    assert isinstance(mapping.reason_for(text), ReturnReason)


def test_an_unknown_reason_is_other() -> None:
    assert mapping.reason_for("外星人拿走了") is ReturnReason.OTHER


def test_times_are_china_text_or_unix_seconds() -> None:
    expected = datetime(2024, 11, 21, 1, 30, tzinfo=UTC)
    assert mapping.parse_time("2024-11-21 09:30:00") == expected
    assert mapping.parse_time(int(expected.timestamp())) == expected
    assert mapping.parse_time(str(int(expected.timestamp()) * 1000)) == expected
    with pytest.raises(ValidationError, match="updated_time"):
        mapping.parse_time("21/11/2024", field="updated_time")


def test_amounts_text_is_yuan_and_numbers_are_fen() -> None:
    assert mapping.amount("39.90", field="a", payload="p") == Money("39.90", "CNY")
    assert mapping.amount(3990, field="a", payload="p") == Money("39.90", "CNY")
    assert mapping.amount("", field="a", payload="p") is None
    with pytest.raises(ValidationError, match="refund_amount"):
        mapping.amount("lots", field="refund_amount", payload="p")
