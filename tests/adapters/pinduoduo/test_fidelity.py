"""Pinduoduo against what the platform documents: its payloads parse and map right."""

from __future__ import annotations

from pathlib import Path

import pytest
from aftersales_pinduoduo import mapping
from aftersales_pinduoduo.client import error_from_body
from aftersales_pinduoduo.schemas import PddOrder, PddRefundDetail

from aftersales.errors import (
    AuthenticationError,
    RateLimitError,
    RemoteRejectedError,
    TransientError,
)
from aftersales.models import Money, ReturnKind, ReturnReason, ReturnStatus
from aftersales.router import unwrap

from .conftest import FIXTURES, body, fx


def test_every_fixture_names_its_source() -> None:
    names = sorted(p.stem for p in Path(FIXTURES).glob("*.json"))
    assert len(names) >= 5
    for name in names:
        assert fx(name)["_source"].strip(), name


def test_the_incremental_list_becomes_requests() -> None:
    inner = unwrap(body("refund_list_increment_get"), adapter="pinduoduo", method="list")
    requests, total = mapping.refunds_page(inner, "pdd-flagship")
    assert total == 2
    first, second = requests
    assert (first.external_id, first.order_id, first.marketplace) == (
        "8020001", "241120-331122447788990", "pdd-flagship")
    assert (first.kind, first.status, first.raw_status) == (
        ReturnKind.REFUND_ONLY, ReturnStatus.REQUESTED, "2")
    assert first.requested_amount == Money("39.90", "CNY")
    assert first.lines[0].reason is ReturnReason.CHANGED_MIND
    assert first.lines[0].order_line_id == "1100220033"
    assert second.kind is ReturnKind.RETURN
    assert (second.return_tracking_number, second.return_carrier) == ("YT7766554433221", "yto")
    assert second.lines[0].reason is ReturnReason.WRONG_SIZE
    assert second.updated_at is not None
    assert second.updated_at.isoformat() == "2024-11-21T01:40:00+00:00"


def test_the_detail_reads_wrapped_or_bare() -> None:
    wrapped = body("refund_information_get")
    inner = unwrap(wrapped, adapter="pinduoduo", method="detail", bare=True)
    bare = unwrap(wrapped["refund_information_get_response"], adapter="pinduoduo",
                  method="detail", bare=True)
    for found in (inner, bare):
        detail = PddRefundDetail.model_validate(found)
        assert (detail.id, detail.after_sales_status) == ("8020002", 3)
        assert mapping.detail_kind(detail) is ReturnKind.RETURN
        assert mapping.amount(detail.refund_amount, field="refund_amount",
                              payload="p") == Money("129.00", "CNY")


def test_the_order_detail_becomes_an_order() -> None:
    info = body("order_information_get")["order_info_get_response"]["order_info"]
    order = mapping.to_order(PddOrder.model_validate(info), "pinduoduo")
    assert order.total == Money("129.00", "CNY")
    assert order.lines[0].unit_price == Money("139.00", "CNY")
    assert order.discount == Money("10.00", "CNY")
    assert order.lines[0].external_id == "1100330044"
    assert order.delivered_at is not None
    assert order.shipments[0].tracking_number == "YT1122334455667"
    assert order.buyer.external_id == "order-241119-556677889900112"


def test_the_order_increment_page_parses() -> None:
    inner = body("order_number_list_increment_get")["order_sn_increment_get_response"]
    orders, total = mapping.orders_page(inner, "pinduoduo")
    assert total == 1
    assert orders[0].total == Money("39.90", "CNY")
    assert orders[0].delivered_at is None  # shipped, not signed for


@pytest.mark.parametrize(("name", "kind", "code"), [
    ("error_too_frequent", RateLimitError, "70031"),
    ("error_bad_signature", AuthenticationError, "20004"),
])
def test_documented_errors_become_typed_errors(name: str, kind: type, code: str) -> None:
    error = error_from_body(body(name))
    assert isinstance(error, kind)
    assert error.code == code


#: The error table of the API reference (open.pinduoduo.com, pdd.refund.information.get,
#: 返回错误码说明) and the class each code is: every documented code is listed.
DOCUMENTED_ERRORS: dict[int, type] = {
    10000: RemoteRejectedError, 10001: RemoteRejectedError,  # 参数错误, 公共参数错误
    10016: AuthenticationError, 10017: RemoteRejectedError,  # client 下线, type 不正确
    10018: RemoteRejectedError, 10019: AuthenticationError,  # target_client_id, token 过期
    20004: AuthenticationError, 20005: AuthenticationError,  # 签名, ip 白名单
    20031: AuthenticationError, 20032: AuthenticationError,  # 未授权此接口, token/client_id 错误
    20034: RemoteRejectedError, 20035: RemoteRejectedError,  # 接口下线, 不属于当前网关
    21001: RemoteRejectedError, 21002: RemoteRejectedError,  # 请求参数错误 / 不能为空
    30000: RemoteRejectedError, 30001: RemoteRejectedError,  # target 权限, partner_id
    50000: TransientError, 50001: RemoteRejectedError,  # 系统内部错误, 业务服务错误
    50002: TransientError, 52001: TransientError,  # 业务系统内部异常, 网关业务服务错误
    52002: TransientError, 52004: RemoteRejectedError,  # 网关系统内部异常, body 太大
    52101: RateLimitError, 52102: TransientError, 52103: TransientError,  # 限流, 降级
    70031: RateLimitError, 70032: RateLimitError, 70033: TransientError,  # 频繁, 禁止, 维护
    70034: RemoteRejectedError, 70035: RemoteRejectedError,  # 存在风险，禁止调用
    70036: RemoteRejectedError,  # 应用处于测试状态，调用次数被限制
}


@pytest.mark.parametrize(("code", "kind"), sorted(DOCUMENTED_ERRORS.items()))
def test_every_documented_error_code_has_its_class(code: int, kind: type) -> None:
    error = error_from_body({"error_response": {"error_code": code, "error_msg": "x"}})
    assert type(error) is kind


@pytest.mark.parametrize(("field", "value"), [
    ("updated_time", "yesterday"), ("refund_amount", "lots"), ("goods_number", "two"),
])
def test_a_hostile_record_is_one_line_naming_the_field_and_the_record(
        field: str, value: str) -> None:
    from aftersales.errors import ValidationError

    inner = unwrap(body("refund_list_increment_get"), adapter="pinduoduo", method="list")
    inner["refund_list"][0][field] = value
    with pytest.raises(ValidationError) as info:
        mapping.refunds_page(inner)
    text = str(info.value)
    assert field in text
    assert "8020001" in text
    assert "\n" not in text
    assert value not in text  # the offending value is not echoed


def test_an_exchanges_detail_names_the_replacement_sent() -> None:
    detail = PddRefundDetail.model_validate(
        body("refund_information_get_exchange")["refund_information_get_response"])
    assert mapping.detail_kind(detail) is ReturnKind.EXCHANGE
    assert mapping.return_status(detail.after_sales_status) is ReturnStatus.APPROVED  # 15
    assert detail.after_sales_status in mapping.EXCHANGE_AWAITING_SHOP  # the number tells
    assert mapping.exchange_tracking(detail) == "SF1400000000001"
    assert mapping.exchange_tracking(PddRefundDetail.model_validate(
        body("refund_information_get")["refund_information_get_response"])) is None
