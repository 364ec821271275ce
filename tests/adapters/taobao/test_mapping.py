"""Every row of the Taobao tables, and the conversions from reference payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from aftersales_taobao import mapping
from aftersales_taobao.client import format_time
from aftersales_taobao.schemas import LogisticsTrace, RefundPage, TopRefund, TradeRatePage
from hypothesis import given
from hypothesis import strategies as st

from aftersales.errors import ValidationError
from aftersales.models import (
    Money,
    ParcelIssue,
    ParcelStatus,
    ReturnKind,
    ReturnReason,
    ReturnStatus,
)

from .conftest import body

STATUS_ROWS = [
    ("WAIT_SELLER_AGREE", ReturnStatus.REQUESTED),
    ("WAIT_BUYER_RETURN_GOODS", ReturnStatus.APPROVED),
    ("WAIT_SELLER_CONFIRM_GOODS", ReturnStatus.RETURN_SHIPPED),
    ("SELLER_REFUSE_BUYER", ReturnStatus.REJECTED),
    ("CLOSED", ReturnStatus.CANCELLED),
    ("SUCCESS", ReturnStatus.REFUNDED),
    ("WAIT_SELLER_CONSIGN_GOODS", ReturnStatus.RECEIVED),
    ("WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS", ReturnStatus.EXCHANGE_SHIPPED),
    ("EXCHANGE_TRANSFORM_TO_REFUND", ReturnStatus.REQUESTED),
]


def test_status_table_has_exactly_the_tested_rows() -> None:
    assert dict(STATUS_ROWS) == mapping.REFUND_STATUSES


@pytest.mark.parametrize(("raw", "status"), STATUS_ROWS)
def test_refund_status_row(raw: str, status: ReturnStatus) -> None:
    assert mapping.return_status(raw) is status
    refund = TopRefund(refund_id="1", tid="2", status=raw, modified="2024-05-20 09:00:00")
    converted = mapping.refund_to_request(refund)
    assert converted.status is status
    assert converted.raw_status == raw


def test_a_status_taobao_adds_later_reads_as_requested_and_is_kept() -> None:
    refund = TopRefund(refund_id="1", tid="2", status="NEW_THING", modified="2024-05-20 09:00:00")
    converted = mapping.refund_to_request(refund)
    assert (converted.status, converted.raw_status) == (ReturnStatus.REQUESTED, "NEW_THING")


REASON_ROWS = [
    ("七天无理由退换货", ReturnReason.NO_REASON),
    ("7天无理由退换货", ReturnReason.NO_REASON),
    ("尺码不合适", ReturnReason.WRONG_SIZE),
    ("尺码拍错", ReturnReason.WRONG_SIZE),
    ("大小/尺寸与商品描述不符", ReturnReason.NOT_AS_DESCRIBED),
    ("颜色/图案/款式与商品描述不符", ReturnReason.NOT_AS_DESCRIBED),
    ("材质与商品描述不符", ReturnReason.NOT_AS_DESCRIBED),
    ("商品与描述不符", ReturnReason.NOT_AS_DESCRIBED),
    ("假冒品牌", ReturnReason.NOT_AS_DESCRIBED),
    ("质量问题", ReturnReason.QUALITY_ISSUE),
    ("做工粗糙/有瑕疵", ReturnReason.QUALITY_ISSUE),
    ("收到商品破损", ReturnReason.DAMAGED_IN_TRANSIT),
    ("商品破损/包装破损", ReturnReason.DAMAGED_IN_TRANSIT),
    ("少件/漏发", ReturnReason.MISSING_ITEM),
    ("空包裹", ReturnReason.MISSING_ITEM),
    ("卖家发错货", ReturnReason.WRONG_ITEM),
    ("发错货", ReturnReason.WRONG_ITEM),
    ("多拍/拍错/不想要", ReturnReason.CHANGED_MIND),
    ("不喜欢/效果不好", ReturnReason.CHANGED_MIND),
    ("未按约定时间发货", ReturnReason.LATE_DELIVERY),
    ("快递一直未送到", ReturnReason.LATE_DELIVERY),
    ("快递/物流一直未送到", ReturnReason.LATE_DELIVERY),
    ("快递无跟踪记录", ReturnReason.LATE_DELIVERY),
    ("与商家协商一致退款", ReturnReason.OTHER),
    ("其他", ReturnReason.OTHER),
]


def test_reason_table_has_exactly_the_tested_rows() -> None:
    assert dict(REASON_ROWS) == mapping.REASONS


@pytest.mark.parametrize(("text", "reason"), REASON_ROWS)
def test_reason_row(text: str, reason: ReturnReason) -> None:
    refund = TopRefund(refund_id="1", tid="2", status="WAIT_SELLER_AGREE", reason=f" {text} ",
                       modified="2024-05-20 09:00:00")
    line = mapping.refund_to_request(refund).lines[0]
    assert line.reason is reason
    assert line.reason_text == f" {text} "  # the buyer's words are kept as sent


@pytest.mark.parametrize("text", [None, "", "我就是想退"])
def test_unknown_reason_is_other(text: str | None) -> None:
    assert mapping.reason_for(text) is ReturnReason.OTHER


@pytest.mark.parametrize(("dispute", "good_return", "kind"), [
    ("REFUND", True, ReturnKind.REFUND_ONLY),
    ("REFUND_AND_RETURN", False, ReturnKind.RETURN),
    ("TMALL_EXCHANGE", False, ReturnKind.EXCHANGE),
    ("TAOBAO_EXCHANGE", False, ReturnKind.EXCHANGE),
    (None, True, ReturnKind.RETURN),
    ("REPAIR", False, ReturnKind.REPAIR),
])
def test_kind_row(dispute: str | None, good_return: bool, kind: ReturnKind) -> None:
    refund = TopRefund(refund_id="1", tid="2", status="WAIT_SELLER_AGREE", dispute_type=dispute,
                       has_good_return=good_return, modified="2024-05-20 09:00:00")
    assert mapping.refund_to_request(refund).kind is kind
    assert set(mapping.KINDS) == {"REFUND", "REFUND_AND_RETURN", "TMALL_EXCHANGE",
                                  "TAOBAO_EXCHANGE", "REPAIR", "RESHIPPING", "OTHERS"}


@pytest.mark.parametrize(("result", "rating"), [("good", 5), ("neutral", 3), ("bad", 1)])
def test_rate_result_row(result: str, rating: int) -> None:
    page = TradeRatePage.model_validate(body("traderates_get")["traderates_get_response"])
    rate = page.trade_rates[0].model_copy(update={"result": result})
    assert mapping.rate_to_review(rate).rating == rating
    assert len(mapping.RATE_RESULTS) == 3


def test_unknown_rate_result_is_a_clear_error() -> None:
    page = TradeRatePage.model_validate(body("traderates_get")["traderates_get_response"])
    with pytest.raises(ValidationError, match="result"):
        mapping.rate_to_review(page.trade_rates[0].model_copy(update={"result": "great"}))


ACTION_ROWS = [
    ("CREATE", ParcelStatus.INFO_RECEIVED, None),
    ("CONSIGN", ParcelStatus.INFO_RECEIVED, None),
    ("GOT", ParcelStatus.PICKED_UP, None),
    ("TMS_ACCEPT", ParcelStatus.PICKED_UP, None),
    ("ARRIVAL", ParcelStatus.IN_TRANSIT, None),
    ("ARRIVE", ParcelStatus.IN_TRANSIT, None),
    ("DEPARTURE", ParcelStatus.IN_TRANSIT, None),
    ("TMS_STATION_IN", ParcelStatus.IN_TRANSIT, None),
    ("TMS_STATION_OUT", ParcelStatus.IN_TRANSIT, None),
    ("SENT_SCAN", ParcelStatus.OUT_FOR_DELIVERY, None),
    ("TMS_DELIVERING", ParcelStatus.OUT_FOR_DELIVERY, None),
    ("STA_INBOUND", ParcelStatus.AVAILABLE_FOR_PICKUP, None),
    ("SIGNED", ParcelStatus.DELIVERED, None),
    ("TMS_SIGN", ParcelStatus.DELIVERED, None),
    ("STA_SIGN", ParcelStatus.DELIVERED, None),
    ("FAILED", ParcelStatus.EXCEPTION, ParcelIssue.OTHER),
    ("TMS_FAILED", ParcelStatus.FAILED_ATTEMPT, None),
    ("TMS_ERROR", ParcelStatus.EXCEPTION, ParcelIssue.OTHER),
    ("TMS_REJECT", ParcelStatus.EXCEPTION, ParcelIssue.REFUSED),
    ("TMS_RETURN", ParcelStatus.RETURNING, None),
]


def test_action_table_has_exactly_the_tested_rows() -> None:
    assert {a for a, _, _ in ACTION_ROWS} == set(mapping.TRACE_ACTIONS)


@pytest.mark.parametrize(("action", "status", "issue"), ACTION_ROWS)
def test_trace_action_row(action: str, status: ParcelStatus, issue: ParcelIssue | None) -> None:
    trace = LogisticsTrace.model_validate(
        {"out_sid": "1", "trace_list": {"transit_step_info": [
            {"status_time": "2024-05-19 08:00:00", "status_desc": "x", "action": action}]}})
    tracking = mapping.trace_to_tracking(trace)
    assert (tracking.status, tracking.issue) == (status, issue)
    assert tracking.events[0].raw_code == action


COMPANY_ROWS = [
    ("顺丰速运", "sf"), ("顺丰快递", "sf"), ("京东快递", "jd"), ("京东物流", "jd"),
    ("EMS", "ems"), ("邮政EMS", "ems"), ("圆通速递", "yto"), ("圆通快递", "yto"),
    ("中通快递", "zto"), ("申通快递", "sto"), ("韵达快递", "yunda"), ("韵达速递", "yunda"),
    ("极兔速递", "jtexpress"), ("德邦快递", "deppon"), ("德邦物流", "deppon"),
    ("菜鸟速递", "cainiao"),
]


@pytest.mark.parametrize(("company", "code"), COMPANY_ROWS)
def test_company_row(company: str, code: str) -> None:
    assert mapping.carrier_code(company) == code


def test_unknown_company_has_no_code() -> None:
    assert mapping.carrier_code("某某快运") is None
    assert mapping.carrier_code("") is None


# ---------------------------------------------------------------- times and payloads


def test_shanghai_times_become_aware_utc() -> None:
    assert mapping.parse_time("2024-05-20 09:31:12") == datetime(2024, 5, 20, 1, 31, 12,
                                                                 tzinfo=UTC)
    # just after midnight in China is the previous day in UTC
    assert mapping.parse_time("2024-01-01 00:30:00") == datetime(2023, 12, 31, 16, 30,
                                                                 tzinfo=UTC)


@pytest.mark.parametrize("bad", ["", "2024/05/20 09:00", "yesterday", None])
def test_bad_time_names_field_and_payload(bad: str | None) -> None:
    with pytest.raises(ValidationError, match=r"taobao refund 7.*'modified'"):
        mapping.parse_time(bad, field="modified", payload="taobao refund 7")


def test_reference_refund_becomes_a_return_request() -> None:
    page = RefundPage.model_validate(body("refunds_receive_get")["refunds_receive_get_response"])
    assert page.has_next is False
    request = mapping.refund_to_request(page.refunds[0])
    assert request.marketplace == "taobao"
    assert request.external_id == "123456789012345678"
    assert request.order_id == "2345678901234567890"
    assert request.kind is ReturnKind.RETURN
    assert request.status is ReturnStatus.REQUESTED
    assert request.requested_amount == Money("99.00", "CNY")
    assert request.buyer_note == "买大了，申请退货"
    line = request.lines[0]
    assert (line.order_line_id, line.quantity, line.reason) == (
        "2345678901234567891", 1, ReturnReason.WRONG_SIZE)
    assert request.created_at == datetime(2024, 5, 20, 1, 30, tzinfo=UTC)
    assert request.updated_at == datetime(2024, 5, 20, 1, 31, 12, tzinfo=UTC)
    assert request.return_tracking_number is None  # empty sid
    assert type(request).model_validate_json(request.model_dump_json()) == request


def test_refund_with_return_parcel() -> None:
    refund = TopRefund.model_validate(body("refund_get")["refund_get_response"]["refund"])
    request = mapping.refund_to_request(refund)
    assert request.status is ReturnStatus.RETURN_SHIPPED
    assert (request.return_tracking_number, request.return_carrier) == ("78912345678901", "zto")
    assert refund.refund_version == 1716168672000


def test_a_single_refund_may_come_as_a_bare_object_or_a_plain_list() -> None:
    one = body("refunds_receive_get")["refunds_receive_get_response"]["refunds"]["refund"][0]
    assert len(RefundPage.model_validate({"refunds": {"refund": one}}).refunds) == 1
    assert len(RefundPage.model_validate({"refunds": [one, one]}).refunds) == 2
    assert RefundPage.model_validate({}).refunds == []


def test_reference_rating_becomes_a_review() -> None:
    page = TradeRatePage.model_validate(body("traderates_get")["traderates_get_response"])
    review = mapping.rate_to_review(page.trade_rates[0])
    assert (review.external_id, review.order_id, review.rating) == (
        "2345678901234567891", "2345678901234567890", 1)
    assert review.body == "质量一般，洗了一次就变形了"
    assert review.reply is None
    assert review.created_at == datetime(2024, 5, 19, 10, 22, 10, tzinfo=UTC)


def test_reference_trace_becomes_a_tracking_and_a_shipment() -> None:
    trace = LogisticsTrace.model_validate(
        body("logistics_trace_search")["logistics_trace_search_response"])
    tracking = mapping.trace_to_tracking(trace)
    assert tracking.status is ParcelStatus.DELIVERED
    assert tracking.carrier == "zto"
    assert [e.status for e in tracking.events] == [
        ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT, ParcelStatus.DELIVERED]
    assert tracking.delivered_at == datetime(2024, 5, 19, 7, 2, 47, tzinfo=UTC)
    shipment = mapping.trace_to_shipment(trace)
    assert shipment is not None
    assert (shipment.tracking_number, shipment.carrier) == ("78912345678901", "zto")
    assert shipment.shipped_at == datetime(2024, 5, 18, 12, 11, 2, tzinfo=UTC)


def test_unshipped_trade_has_no_shipment() -> None:
    trace = LogisticsTrace.model_validate({"tid": 1, "status": "等待发货"})
    assert mapping.trace_to_shipment(trace) is None
    assert mapping.trace_to_tracking(trace).status is ParcelStatus.PENDING


@pytest.mark.parametrize(("amount", "fen"), [("99.00", 9900), ("0.01", 1), ("12.3", 1230)])
def test_amounts_in_fen(amount: str, fen: int) -> None:
    assert mapping.to_fen(Money(Decimal(amount), "CNY")) == fen


@pytest.mark.parametrize(("money", "field"), [(Money("1", "USD"), "amount"),
                                               (Money("0", "CNY"), "amount"),
                                               # finer than a fen: refused, never rounded
                                               (Money("12.345", "CNY"), "amount"),
                                               (Money("0.004", "CNY"), "amount")])
def test_bad_refund_amounts(money: Money, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        mapping.to_fen(money)


def test_reference_trade_becomes_an_order() -> None:
    from aftersales_taobao.schemas import TopTrade

    trade = TopTrade.model_validate(body("trade_fullinfo_get")["trade_fullinfo_get_response"]
                                    ["trade"])
    order = mapping.trade_to_order(trade)
    assert (order.marketplace, order.external_id, order.currency) == (
        "taobao", "2345678901234567890", "CNY")
    tee, socks = order.lines
    assert (tee.external_id, tee.sku, tee.quantity) == ("2345678901234567891", "TEE-WHITE-L", 1)
    assert tee.net == Money("94.00", "CNY")
    assert socks.net == Money("89.00", "CNY")  # 45 x 2 with a 1.00 manual price cut
    assert order.shipping == Money("10.00", "CNY")
    assert order.total == Money("183.00", "CNY")
    assert order.discount == Money("10.00", "CNY")  # what the buyer did not pay: a coupon
    assert order.delivered_at == datetime(2024, 5, 19, 8, 0, tzinfo=UTC)
    (parcel,) = order.shipments
    assert (parcel.tracking_number, parcel.carrier) == ("78912345678901", "zto")
    assert parcel.line_ids == ["2345678901234567891", "2345678901234567892"]
    assert type(order).model_validate_json(order.model_dump_json()) == order


def test_unfinished_trade_is_not_delivered_and_a_trade_needs_lines() -> None:
    from aftersales_taobao.schemas import TopTrade

    raw = body("trade_fullinfo_get")["trade_fullinfo_get_response"]["trade"]
    trade = TopTrade.model_validate({**raw, "status": "WAIT_BUYER_CONFIRM_GOODS"})
    assert mapping.trade_to_order(trade).delivered_at is None
    with pytest.raises(ValidationError, match="orders"):
        mapping.trade_to_order(TopTrade.model_validate({**raw, "orders": {}}))


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"),
                                               ZoneInfo("America/New_York")]),
                    allow_imaginary=False))
def test_times_round_trip_through_the_gateway_format(moment: datetime) -> None:
    """Any aware time written as TOP text reads back as the same instant (to the second)."""
    text = format_time(moment)
    # compare instants: PEP 495 makes ambiguous wall times unequal across zones
    assert mapping.parse_time(text).timestamp() == moment.replace(microsecond=0).timestamp()
    assert mapping.parse_time(text).tzinfo is UTC


CS_ROWS = [
    ("2", True), ("3", True), ("4", True), ("5", True), ("6", False), ("7", False),
    ("8", False), ("9", False), ("10", True), ("11", True),
]


def test_cs_status_table_has_exactly_the_tested_rows() -> None:
    assert set(mapping.CS_STATUSES) == {raw for raw, _ in CS_ROWS}


@pytest.mark.parametrize(("raw", "open_"), CS_ROWS)
def test_cs_status_row(raw: str, open_: bool) -> None:
    refund = TopRefund.model_validate({**_cs_refund(), "cs_status": int(raw)})
    dispute = mapping.refund_to_request(refund).dispute
    assert dispute is not None
    assert (dispute.status, dispute.open) == (raw, open_)


@pytest.mark.parametrize("raw", [None, 0, 1, "1", ""])
def test_no_intervention_is_no_dispute(raw: object) -> None:
    refund = TopRefund.model_validate({**_cs_refund(), "cs_status": raw})
    assert mapping.refund_to_request(refund).dispute is None


def test_an_intervention_state_taobao_adds_later_is_open() -> None:
    refund = TopRefund.model_validate({**_cs_refund(), "cs_status": 12})
    dispute = mapping.refund_to_request(refund).dispute
    assert dispute is not None
    assert (dispute.status, dispute.open) == ("12", True)


def _cs_refund() -> dict[str, object]:
    return dict(body("refund_get_cs_status")["refund_get_response"]["refund"])


def test_refused_refund_with_the_platform_stepping_in_is_a_rejected_open_dispute() -> None:
    request = mapping.refund_to_request(TopRefund.model_validate(_cs_refund()))
    assert request.status is ReturnStatus.REJECTED
    assert request.dispute is not None
    assert (request.dispute.status, request.dispute.open) == ("2", True)
