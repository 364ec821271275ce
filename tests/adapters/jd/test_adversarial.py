"""Payloads JOS may send that the documented examples never show.

Missing, null and wrong-typed fields, amounts in every spelling, times in
every form (a written offset is honoured), unknown codes, a ``_responce``
envelope of the wrong shape, error envelopes with HTTP 200, an answer about
another application, and a window answer stamped outside its window. Each
ends in the library's own error naming field and payload, never the value,
or in the right value; nothing secret or personal reaches an error text or
a DEBUG log line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aftersales_jd import JdMarketplace, mapping
from aftersales_jd.schemas import JdComment, RefundApply, read
from aftersales_jd.services import parse_reason_code
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.errors import (
    AfterSalesError,
    RemoteRejectedError,
    ResponseParseError,
    ValidationError,
)
from aftersales.models import Money, Refund, ReturnKind, ReturnStatus
from aftersales.wire import whole_fen

from .conftest import NOW, SECRET, TOKEN, FakeJdShop, FakeJos, china_time, make_settings

PHONE = "13812345678"
NAME = "张小凡"
STREET = "幸福路88号3栋502室"
APPLY: dict[str, Any] = {"id": "5001", "orderId": "30001", "status": 0,
                         "applyTime": "2024-11-21 08:40:00", "applyRefundSum": 5990}
WHERE = "jd refund application 5001"


def applied(**change: Any) -> Any:
    record = {k: v for k, v in {**APPLY, **change}.items() if v is not ...}
    return mapping.refund_to_request(read(RefundApply, record, payload="queryPageList"))


@pytest.mark.parametrize(("change", "field"), [
    ({"id": None}, "id"), ({"id": ...}, "id"), ({"status": "未审核"}, "status"),
    ({"status": None}, "status"), ({"orderId": {"v": 1}}, "orderId"),
    ({"applyRefundSum": True}, "applyRefundSum"),  # was 0.01 yuan
    ({"applyRefundSum": -5990}, "applyRefundSum"),
    ({"applyRefundSum": "-59.90"}, "applyRefundSum"),
    ({"applyRefundSum": 0.1 + 0.2}, "applyRefundSum"),  # a float that lost its value
    ({"applyRefundSum": 59.905}, "applyRefundSum"),
    ({"applyRefundSum": 1e300}, "applyRefundSum"),
    ({"applyRefundSum": "5.99e1"}, "applyRefundSum"),
    ({"applyRefundSum": "NaN"}, "applyRefundSum"),
    ({"applyRefundSum": PHONE + NAME}, "applyRefundSum"),
    ({"applyTime": "²"}, "applyTime"),
    ({"applyTime": "9" * 25}, "applyTime"),
    ({"applyTime": "2024-11-21 08:40:00 " + PHONE}, "applyTime"),  # was cut to 19 chars
    ({"applyTime": "2024-13-01 08:40:00"}, "applyTime"),
    ({"applyTime": ""}, "checkTime"),
    ({"checkTime": "0"}, "checkTime"),
    # ids that name no application (or a wrong one): replyRefund would be sent "nan"
    ({"id": float("nan")}, "id"), ({"id": float("inf")}, "id"), ({"id": 5001.5}, "id"),
    ({"id": True}, "id"), ({"id": ""}, "id"), ({"id": "   "}, "id"),
    ({"id": "\u202e1005"}, "id"), ({"id": "9" * 300}, "id"),
    ({"orderId": float("nan")}, "orderId"), ({"orderId": ""}, "orderId"),
    ({"orderId": "3000\n1"}, "orderId"),
])
def test_bad_application_is_a_named_validation_error(change: dict[str, Any],
                                                     field: str) -> None:
    with pytest.raises(ValidationError) as info:
        applied(**change)
    assert info.value.field == field
    text = str(info.value)
    assert "\n" not in text
    assert PHONE not in text
    assert NAME not in text
    assert "input_value" not in text


@pytest.mark.parametrize(("wire", "utc"), [
    ("2024-11-21 08:40:00", datetime(2024, 11, 21, 0, 40, tzinfo=UTC)),
    ("2024-11-21 08:40:00.0", datetime(2024, 11, 21, 0, 40, tzinfo=UTC)),
    ("2024-11-21 08:40:00+0000", datetime(2024, 11, 21, 8, 40, tzinfo=UTC)),  # was +08:00
    ("2024-11-21T08:40:00+08:00", datetime(2024, 11, 21, 0, 40, tzinfo=UTC)),
    ("1732149600000", datetime(2024, 11, 21, 0, 40, tzinfo=UTC)),
    (1732149600, datetime(2024, 11, 21, 0, 40, tzinfo=UTC)),
])
def test_times_read_right(wire: Any, utc: datetime) -> None:
    assert applied(applyTime=wire).created_at == utc


@pytest.mark.parametrize(("wire", "money"), [
    # applyRefundSum is fen however the gateway spells it: JD's reference for
    # queryPageList gives it in 分, its SDKs type it String or Double.
    (5990, Money("59.90", "CNY")), ("5990", Money("59.90", "CNY")),
    (5990.0, Money("59.90", "CNY")), (" 5990 ", Money("59.90", "CNY")),
    (0, Money("0", "CNY")), (None, None), ("", None),
])
def test_amounts_read_exactly(wire: Any, money: Money | None) -> None:
    assert applied(applyRefundSum=wire).requested_amount == money


@pytest.mark.parametrize("wire", ["59.90", 59.9, "5990.5"])
def test_refund_sum_with_a_fraction_of_a_fen_is_refused_not_read_as_yuan(wire: Any) -> None:
    with pytest.raises(ValidationError, match="fraction") as info:
        applied(applyRefundSum=wire)
    assert info.value.field == "applyRefundSum"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                 st.text(max_size=40)))
def test_any_amount_is_exact_or_a_library_error(value: Any) -> None:
    try:
        money = whole_fen(value, field="applyRefundSum", payload=WHERE)
    except ValidationError:
        return
    if money is not None:
        assert money.amount >= 0
        assert money.amount == money.amount.quantize(Decimal("0.01"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40)))
def test_any_time_is_aware_or_a_library_error(value: Any) -> None:
    try:
        moment = mapping.parse_time(value, field="applyTime", payload=WHERE)
    except ValidationError:
        return
    assert moment.tzinfo is UTC
    assert 2000 <= moment.year < 2100


def test_unknown_codes_map_to_safe_values() -> None:
    found = applied(status=55)
    assert found.status is ReturnStatus.REQUESTED
    assert found.raw_status == "55"
    bill = {"serviceId": "7", "orderId": "1", "serviceStatus": 99999, "customerExpect": 999,
            "updateDate": "2024-11-21 10:00:00"}
    from aftersales_jd.schemas import ServiceBill
    request = mapping.service_to_request(read(ServiceBill, bill, payload="asc"))
    assert request.status is ReturnStatus.REQUESTED
    assert request.kind is ReturnKind.RETURN
    with pytest.raises(ValidationError):
        mapping.service_to_request(read(ServiceBill, {**bill, "serviceCount": -1},
                                        payload="asc"))


@pytest.mark.parametrize("score", [0, 6, 99, -1])
def test_a_score_outside_one_to_five_is_refused_not_clamped(score: int) -> None:
    comment = read(JdComment, {"commentId": "c1", "creationTime": "2024-11-21 10:00:00",
                               "score": score}, payload="comments")
    with pytest.raises(ValidationError) as info:
        mapping.comment_to_review(comment)
    assert info.value.field == "score"


@pytest.mark.parametrize("raw", ["²", "afs:²", "afs:", "x", "9" * 40])
def test_a_bad_stored_status_is_a_library_error(raw: str) -> None:
    with pytest.raises(ValidationError):
        JdMarketplace.map_return_status(raw)


@pytest.mark.parametrize("code", ["²", "1/²", "1/2/3", "", "-1"])
def test_a_bad_review_reason_code_is_a_library_error(code: str) -> None:
    with pytest.raises(ValidationError):
        parse_reason_code(code)


# ------------------------------------------------------------------ through the router


def _market(**kw: Any) -> JdMarketplace:
    return JdMarketplace(make_settings(**kw), clock=lambda: NOW, sleep=lambda s: None)


def _clean(text: str, jos: FakeJos) -> None:
    for secret in (SECRET, TOKEN, PHONE, NAME, STREET):
        assert secret not in text, secret


def test_error_envelope_with_http_200_hides_secrets_and_buyer(
        jos: FakeJos, shop: FakeJdShop, caplog: pytest.LogCaptureFixture) -> None:
    jos.handle("jingdong.pop.order.get", lambda p: {"error_response": {
        "code": "66", "zh_desc": f"订单不属于 access_token {TOKEN}: 收件人 {NAME} {PHONE} {STREET}",
        "en_desc": "bad order"}})
    with caplog.at_level(logging.DEBUG), pytest.raises(AfterSalesError) as info:
        _market().get_order("30001")
    _clean(str(info.value) + caplog.text, jos)


@pytest.mark.parametrize("answer", [
    {"jingdong_pop_order_get_responce": []},
    {"jingdong_pop_order_get_responce": {"orderDetailInfo": {"orderInfo": "x"}}},
    {"jingdong_pop_order_get_responce": {"orderDetailInfo": {"orderInfo": {"orderId": None}}}},
    {"jingdong_pop_order_get_response": {"orderDetailInfo": {"orderInfo": {
        "orderId": "1", "orderStartTime": "2024-11-21 10:00:00", "orderPayment": "-1",
        "itemInfoList": [{"jdPrice": "1"}]}}}},
    {"jingdong_pop_order_get_responce": {"orderDetailInfo": {"orderInfo": {
        "orderId": "1", "orderStartTime": "2024-11-21 10:00:00", "orderPayment": "1",
        "itemInfoList": [{"jdPrice": "1", "itemTotal": True}]}}}},  # was one unit
    {"jingdong_pop_order_get_responce": {"orderDetailInfo": {"orderInfo": {
        "orderId": 1.5, "orderStartTime": "2024-11-21 10:00:00", "orderPayment": "1",
        "itemInfoList": [{"jdPrice": "1"}]}}}},  # was order "1.5"
    {"unrelated": 1},
    (200, "<html>系统繁忙</html>"),
    (200, '{"jingdong_pop_order_get_responce": {"orderDetailInfo": '),
    (200, '{"a":' * 50_000),  # nested past the parser's recursion limit
    (200, '{"error_response": {"code": Infinity, "zh_desc": NaN}}'),
])
def test_broken_order_answers_are_library_errors(jos: FakeJos, answer: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    jos.handle("jingdong.pop.order.get", lambda p: answer)
    with caplog.at_level(logging.DEBUG), pytest.raises(AfterSalesError) as info:
        _market().get_order("30001")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("query", [
    {"success": True, "result": "x"}, [], {"success": True, "result": [{"id": None}]},
    {"success": True, "totalCount": "很多", "result": []},
])
def test_broken_query_results_are_library_errors(jos: FakeJos, shop: FakeJdShop,
                                                 query: Any) -> None:
    jos.handle("jingdong.pop.afs.soa.refundapply.queryPageList", lambda p: {
        "jingdong_pop_afs_soa_refundapply_queryPageList_responce": {"queryResult": query}})
    with pytest.raises(ValidationError):
        list(_market().list_returns())


def test_broken_comment_pages_are_library_errors(jos: FakeJos, shop: FakeJdShop) -> None:
    jos.handle("jingdong.pop.PopCommentJsfService.getVenderCommentsForJos", lambda p: {
        "jingdong_pop_PopCommentJsfService_getVenderCommentsForJos_responce": {
            "comments": [], "totalItem": "许多"}})
    with pytest.raises(ValidationError):
        list(_market().list_reviews())


def test_an_answer_about_another_application_is_never_acted_on(
        jos: FakeJos, shop: FakeJdShop) -> None:
    market = _market()
    request = next(r for p in market.list_returns() for r in p.items
                   if r.status is ReturnStatus.REQUESTED)
    other = next(k for k in shop.refunds if f"refund-{k}" != request.external_id)
    jos.handle("jingdong.pop.afs.soa.refundapply.queryById", lambda p: {
        "jingdong_pop_afs_soa_refundapply_queryById_responce": {"queryResult": {
            "success": True, "result": [dict(shop.refunds[other], status=0)]}}})
    refund = Refund(order_id=request.order_id, amount=request.requested_amount
                    or Money("1.00", "CNY"), idempotency_key="k")
    with pytest.raises(ResponseParseError):
        market.refund(refund, request)
    assert shop.approved == []


def test_a_service_order_stamped_after_its_window_loses_nothing(
        jos: FakeJos, shop: FakeJdShop) -> None:
    real = jos.handlers["jingdong.asc.query.list"]
    skewed = dict(shop.services[0], serviceId=7799999,
                  updateDate=int((NOW + timedelta(hours=2)).timestamp() * 1000))

    def answer(p: dict[str, Any]) -> dict[str, Any]:
        reply = real(p)
        if p.get("pageNumber") == 1 and "serviceId" not in p:
            reply["jingdong_asc_query_list_responce"]["pageResult"]["data"].insert(0, skewed)
        return reply
    jos.handle("jingdong.asc.query.list", answer)
    market = _market(vender_id="10086", window=timedelta(hours=6))
    got = {r.external_id for p in market.list_returns() for r in p.items}
    assert {f"afs-{s['serviceId']}" for s in shop.services} <= got
    assert "afs-7799999" not in got
    assert china_time(NOW)  # the fake's clock


@pytest.mark.parametrize(("inner", "error"), [
    ({"code": "0"}, ResponseParseError),  # was read as an empty page
    ({}, ResponseParseError),
    ({"code": "100", "zh_desc": "查询失败"}, RemoteRejectedError),
])
def test_an_envelope_without_its_result_is_never_an_empty_page(
        jos: FakeJos, shop: FakeJdShop, inner: dict[str, Any], error: type[Exception]) -> None:
    jos.handle("jingdong.pop.afs.soa.refundapply.queryPageList", lambda p: {
        "jingdong_pop_afs_soa_refundapply_queryPageList_responce": inner})
    with pytest.raises(error):
        list(_market().list_returns())


def test_applications_wrapped_as_refund_apply_vo_are_read_as_listed_ones(
        jos: FakeJos, shop: FakeJdShop) -> None:
    """queryById (and, in some integrations, queryPageList) items arrive as
    ``{"refundApplyVo": {...}}``: both read the same, and the refund goes on."""
    market = _market()
    plain = {r.external_id: r for p in market.list_returns() for r in p.items
             if r.external_id and r.external_id.startswith("refund-")}
    real_page = jos.handlers["jingdong.pop.afs.soa.refundapply.queryPageList"]
    real_get = jos.handlers["jingdong.pop.afs.soa.refundapply.queryById"]

    def wrapped(answer: dict[str, Any]) -> dict[str, Any]:
        for inner in answer.values():
            query = inner["queryResult"]
            query["result"] = [{"refundApplyVo": item} for item in query["result"]]
        return answer
    jos.handle("jingdong.pop.afs.soa.refundapply.queryPageList", lambda p: wrapped(real_page(p)))
    jos.handle("jingdong.pop.afs.soa.refundapply.queryById", lambda p: wrapped(real_get(p)))
    again = {r.external_id: r for p in market.list_returns() for r in p.items
             if r.external_id and r.external_id.startswith("refund-")}
    assert again == plain
    request = next(r for r in again.values() if r.status is ReturnStatus.REQUESTED)
    refund = Refund(order_id=request.order_id, amount=request.requested_amount
                    or Money("1.00", "CNY"), idempotency_key="k-wrapped")
    market.refund(refund, request)
    assert shop.approved


def test_an_id_carrying_personal_data_is_not_echoed_in_an_error() -> None:
    """A hostile answer can put a buyer's name or phone in an id field; the error
    names the record only by a plain id, never by such text."""
    with pytest.raises(ValidationError) as info:
        applied(id=NAME + PHONE, applyRefundSum=-1)
    assert info.value.field == "applyRefundSum"
    assert PHONE not in str(info.value)
    assert NAME not in str(info.value)
