"""Payloads shaped as the official SDK documents them parse and map right.

Each fixture names its ``_source``; amounts are fen, times Unix seconds.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from aftersales_douyin import mapping
from aftersales_douyin.client import error_from_body
from aftersales_douyin.schemas import AftersaleDetail, RejectReason, ShopOrder, TrackDetail

from aftersales.errors import RemoteRejectedError, TransientError
from aftersales.models import (
    FulfilmentStage,
    Money,
    PlatformDispute,
    ReturnKind,
    ReturnReason,
    ReturnStatus,
    RiskSignal,
)

from .conftest import FIXTURES, NOW, body, fx

NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


@pytest.mark.parametrize("name", NAMES)
def test_every_fixture_names_its_source(name: str) -> None:
    data = fx(name)
    assert data["_source"].strip()
    assert data["_status"].strip()


def test_list_refund_before_shipment() -> None:
    requests, total = mapping.requests_page(body("aftersale_list")["data"], "dy-flagship")
    assert total == 2
    first = requests[0]
    assert first.marketplace == "dy-flagship"
    assert (first.kind, first.status, first.stage) == (
        ReturnKind.REFUND_ONLY, ReturnStatus.REQUESTED, FulfilmentStage.NOT_SHIPPED)
    assert first.requested_amount == Money(Decimal("129.90"), "CNY")  # 12990 fen
    assert first.order_id == "4900000000000000010"
    assert [ln.order_line_id for ln in first.lines] == ["4900000000000000011"]
    assert first.lines[0].reason is ReturnReason.CHANGED_MIND
    assert first.platform_deadline is not None
    assert first.platform_deadline.due_at == NOW + timedelta(hours=46)
    assert not first.platform_deadline.extendable
    assert first.risk is None


def test_list_return_on_its_way_back_with_risk_and_postage() -> None:
    second = mapping.requests_page(body("aftersale_list")["data"])[0][1]
    assert (second.kind, second.status, second.stage) == (
        ReturnKind.RETURN, ReturnStatus.RETURN_SHIPPED, FulfilmentStage.DELIVERED)
    assert second.requested_amount == Money(Decimal("269.00"), "CNY")  # 25900 + 1000 fen
    assert (second.return_tracking_number, second.return_carrier) == ("SF1400000000001", "sf")
    assert second.risk == RiskSignal(code="1", reason="退货物流异常",
                                     description="退货单号揽收地与收货地不一致")
    assert second.platform_deadline is not None
    assert second.platform_deadline.extendable  # 11: waiting for the goods
    assert second.platform_deadline.due_at == NOW + timedelta(days=5)
    assert second.dispute == PlatformDispute(status="4", open=True)  # 待商家举证
    assert mapping.requests_page(body("aftersale_list")["data"])[0][0].dispute is None


def test_detail_reads_its_own_spellings() -> None:
    detail = AftersaleDetail.model_validate(body("aftersale_detail")["data"])
    info = detail.process_info.after_sale_info
    assert info.after_sale_id == "7140000000000000002"  # a number on the wire
    assert info.risk_decsison_reason == "退货物流异常"
    assert mapping.detail_status(info) is ReturnStatus.RETURN_SHIPPED
    assert detail.process_info.arbitrate_info is not None
    assert detail.process_info.arbitrate_info.arbitrate_status in mapping.DISPUTE_OPEN


def test_reject_reasons_keep_their_codes_and_evidence_needs() -> None:
    items = [RejectReason.model_validate(r)
             for r in body("reject_reason_code_list")["data"]["items"]]
    reasons = [mapping.reject_reason(r) for r in items]
    assert [(r.code, r.needs_evidence) for r in reasons] == [("1001", True), ("1002", False)]
    assert reasons[0].tips == "请上传退回商品的实拍图"


def test_order_detail_in_fen_with_its_parcel() -> None:
    order = mapping.to_order(ShopOrder.model_validate(
        body("order_detail")["data"]["shop_order_detail"]), "dy-outlet")
    assert order.marketplace == "dy-outlet"
    assert order.total == Money(Decimal("259.00"), "CNY")
    assert order.shipping == Money(Decimal("10.00"), "CNY")
    assert order.lines[0].unit_price == Money(Decimal("269.00"), "CNY")
    assert order.discount == Money(Decimal("20.00"), "CNY")  # 269 + 10 - 259
    assert order.shipments[0].tracking_number == "YT2400000000001"
    assert order.shipments[0].carrier == "yto"
    assert order.buyer.external_id == "1@#ExampleOpenIdForTests=="


def test_track_reads_the_double_underscore_list() -> None:
    track = TrackDetail.parse(body("track_no_route_detail")["data"])
    assert [n.state_description for n in track.route_node_list] == ["揽收", "运输中", "签收"]
    assert track.track_no == "YT2400000000001"


def test_published_error_codes_classify() -> None:
    state = error_from_body(body("error_operate_state"))
    assert isinstance(state, RemoteRejectedError)
    assert state.code == "50002/isv.business-failed:20309541"
    assert isinstance(error_from_body(body("error_service")), TransientError)
    parameter = error_from_body(body("error_parameter"))
    assert type(parameter) is RemoteRejectedError
    assert error_from_body(body("operate_ok")) is None



def test_the_sdks_own_example_values_parse_and_map() -> None:
    """afterSale/Detail with the values the official Java SDK gives as examples."""
    detail = AftersaleDetail.model_validate(body("aftersale_detail_sdk_example")["data"])
    info = detail.process_info.after_sale_info
    assert info.after_sale_id == "6965315853751632172"
    assert mapping.detail_status(info) is ReturnStatus.REQUESTED  # 6 售后申请
    assert mapping.kind_of(info.after_sale_type) is ReturnKind.RETURN  # 0 退货退款
    assert (info.refund_total_amount, info.refund_post_amount) == (1000, 10)  # fen
    assert info.got_pkg == 1
    assert info.risk_decsison_reason == "多个售后单同一单号"
    assert detail.process_info.arbitrate_info is not None
    assert detail.process_info.arbitrate_info.arbitrate_status not in mapping.DISPUTE_OPEN
