"""Every documented status, expectation, refusal code and reason maps to a canonical value."""

from __future__ import annotations

import pytest
from aftersales_jd import JdMarketplace, mapping

from aftersales.errors import ValidationError
from aftersales.models import Money, ReturnKind, ReturnReason, ReturnStatus

#: refundapply ``status`` as the queryPageList reference lists it.
DOCUMENTED_REFUND_STATUSES = {
    0: "未审核", 1: "审核通过", 2: "审核不通过", 3: "京东财务审核通过", 4: "京东财务审核不通过",
    5: "人工审核通过", 6: "京东拦截并退款", 7: "青龙拦截成功", 8: "青龙拦截失败", 9: "强制关单并退款",
    10: "物流待跟进(线下拦截)", 11: "用户撤销", 16: "拒收后退款", 17: "协商退货退款", 18: "协商关闭",
    19: "纠纷介入", 27: "京东承诺拦截",
}
#: Service order ``serviceStatus`` as the asc reference lists it.
DOCUMENTED_SERVICE_STATUSES = {
    10000: "待审核领取", 10001: "待审核", 10002: "待客户反馈", 10004: "审核关闭", 10005: "待收货",
    10006: "待处理领取", 10007: "待处理", 10009: "待用户确认", 10010: "完成", 10011: "取消",
    10012: "客户已反馈", 10013: "待审核和待客户反馈", 10041: "提交退款申请",
    1100: "待下发维修中心接单", 12000: "上门维修中", 13000: "商家催收待处理", 14000: "上门检测中",
    # third-party only (IT-jian/e3-plus RefundTransformer, citing the JOS 售后 code page)
    7060: "原返取消，待处理", 7023: "换新取消，待处理", 7090: "线下换新取消，待处理",
}
#: ``customerExpect`` values.
DOCUMENTED_EXPECTATIONS = {
    10: "退货", 11: "仅退款", 20: "换货", 30: "维修", 40: "大家电安装", 50: "大家电移机",
    60: "大家电增值服务", 70: "上门维修", 80: "补发商品", 90: "优鲜赔", 100: "试用收回",
}


def test_the_tables_are_exactly_the_documented_lists() -> None:
    assert set(mapping.REFUND_STATUSES) == set(DOCUMENTED_REFUND_STATUSES)
    assert set(mapping.SERVICE_STATUSES) == set(DOCUMENTED_SERVICE_STATUSES)
    assert set(mapping.EXPECTATIONS) == set(DOCUMENTED_EXPECTATIONS)
    assert set(mapping.REJECT_TYPES) == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize("code", sorted(DOCUMENTED_REFUND_STATUSES))
def test_every_refund_status_maps(code: int) -> None:
    assert isinstance(mapping.refund_status(code), ReturnStatus)
    assert isinstance(JdMarketplace.map_return_status(str(code)), ReturnStatus)


@pytest.mark.parametrize("code", sorted(DOCUMENTED_SERVICE_STATUSES))
def test_every_service_status_maps(code: int) -> None:
    assert isinstance(JdMarketplace.map_return_status(f"afs:{code}"), ReturnStatus)


@pytest.mark.parametrize("code", sorted(DOCUMENTED_EXPECTATIONS))
def test_every_expectation_is_a_kind(code: int) -> None:
    assert isinstance(mapping.EXPECTATIONS[code], ReturnKind)


def test_paid_and_unpaid_never_overlap_and_read_as_their_words() -> None:
    assert not mapping.REFUND_PAID & mapping.REFUND_UNPAID
    assert all(mapping.REFUND_STATUSES[c] is ReturnStatus.REFUNDED for c in mapping.REFUND_PAID)
    assert mapping.refund_status(0) is ReturnStatus.REQUESTED
    assert mapping.refund_status(2) is ReturnStatus.REJECTED
    assert mapping.refund_status(11) is ReturnStatus.CANCELLED
    assert mapping.EXPECTATIONS[10] is ReturnKind.RETURN
    assert mapping.EXPECTATIONS[11] is ReturnKind.REFUND_ONLY
    assert mapping.EXPECTATIONS[30] is mapping.EXPECTATIONS[70] is ReturnKind.REPAIR
    assert mapping.EXPECTATIONS[80] is ReturnKind.RESHIP


@pytest.mark.parametrize("code", [10007, 7060, 7023, 7090])
def test_awaiting_processing_is_received(code: int) -> None:
    # 待处理 and the three "<processing> cancelled, awaiting processing" states:
    # the goods are with the shop
    assert mapping.service_status(code) is ReturnStatus.RECEIVED


@pytest.mark.parametrize("text", sorted(mapping.REASONS))
def test_every_listed_reason_maps(text: str) -> None:
    assert isinstance(mapping.reason_for(text), ReturnReason)


def test_refusal_codes_are_chosen_by_code_or_words() -> None:
    assert mapping.choose_reject_type("2", "whatever") == 2
    assert mapping.choose_reject_type(None, "商品已签收，无法取消") == 2
    assert mapping.choose_reject_type(None, "别的原因") == 5
    with pytest.raises(ValidationError, match="1 （支持拒收）"):
        mapping.choose_reject_type("42", "x")


def test_ids_keep_their_kind() -> None:
    assert mapping.split_id("refund-61") == ("refund", "61")
    assert mapping.split_id("afs-77") == ("afs", "77")
    for bad in ("61", "refund-", "x-1"):
        with pytest.raises(ValidationError, match="external_id"):
            mapping.split_id(bad)


def test_amounts_and_times() -> None:
    assert mapping.amount(5990, field="a", payload="p") == Money("59.90", "CNY")
    assert mapping.amount("59.90", field="a", payload="p") == Money("59.90", "CNY")
    assert mapping.amount(59.9, field="a", payload="p") == Money("59.9", "CNY")
    assert mapping.parse_time(1732150800000).isoformat() == "2024-11-21T01:00:00+00:00"
    assert mapping.parse_time("2024-11-21 09:00:00").isoformat() == "2024-11-21T01:00:00+00:00"
    with pytest.raises(ValidationError, match="applyTime"):
        mapping.parse_time("yesterday", field="applyTime")
