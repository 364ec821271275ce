"""JD against what JOS documents: its payloads parse and map right."""

from __future__ import annotations

from typing import Any

import pytest
from aftersales_jd import mapping
from aftersales_jd.client import error_from_body
from aftersales_jd.schemas import JdComment, JdOrder, RefundApplyResult, ServicePage

from aftersales.errors import AuthenticationError
from aftersales.models import FulfilmentStage, Money, ReturnKind, ReturnReason, ReturnStatus
from aftersales.router import unwrap

from .conftest import FIXTURES, body, fx


def test_every_fixture_names_its_source() -> None:
    names = sorted(p.stem for p in FIXTURES.glob("*.json"))
    assert len(names) >= 5
    for name in names:
        assert fx(name)["_source"].strip(), name


def test_the_responce_spelling_is_unwrapped() -> None:
    inner = unwrap(body("refundapply_query_page_list"), adapter="jd", method="list")
    assert inner["code"] == "0"


def test_refund_applications_become_refund_only_requests() -> None:
    inner = unwrap(body("refundapply_query_page_list"), adapter="jd", method="list")
    result = RefundApplyResult.model_validate(inner["queryResult"])
    waiting, approved = (mapping.refund_to_request(r, "jd-main") for r in result.result)
    assert (waiting.external_id, waiting.order_id, waiting.marketplace) == (
        "refund-61000001", "281100223344", "jd-main")
    assert (waiting.kind, waiting.status) == (ReturnKind.REFUND_ONLY, ReturnStatus.REQUESTED)
    assert waiting.requested_amount == Money("59.90", "CNY")
    assert waiting.lines[0].reason is ReturnReason.CHANGED_MIND
    assert waiting.stage is FulfilmentStage.NOT_SHIPPED  # kept apart from after-delivery
    assert waiting.updated_at == waiting.created_at  # never checked: changed when applied
    assert approved.status is ReturnStatus.REFUNDED
    assert approved.updated_at is not None
    assert approved.updated_at.isoformat() == "2024-11-21T01:10:00+00:00"  # its checkTime


def test_service_orders_become_requests_of_their_kind() -> None:
    inner = unwrap(body("asc_query_list"), adapter="jd", method="asc")
    page = ServicePage.model_validate(inner["pageResult"])
    ret, repair = (mapping.service_to_request(b) for b in page.data)
    assert (ret.external_id, ret.kind, ret.status) == (
        "afs-7700001", ReturnKind.RETURN, ReturnStatus.REQUESTED)
    assert ret.lines[0].reason is ReturnReason.QUALITY_ISSUE
    assert ret.order_id == "281100229900"
    assert (repair.kind, repair.status) == (ReturnKind.REPAIR, ReturnStatus.APPROVED)
    assert ret.stage is None  # the service list does not say how far the order had gone
    assert repair.updated_at is not None
    assert repair.updated_at.isoformat() == "2024-11-21T01:40:00+00:00"


def test_comments_become_reviews() -> None:
    inner = unwrap(body("comments_get_vender_comments"), adapter="jd", method="c")
    good, bad = (mapping.comment_to_review(JdComment.model_validate(c))
                 for c in inner["comments"])
    assert (good.rating, good.sku, good.reply) == (4, "100012345678", None)
    assert (bad.rating, bad.reply) == (1, "已为您安排维修")


def test_the_order_becomes_an_order() -> None:
    inner = unwrap(body("pop_order_get"), adapter="jd", method="o")
    order = mapping.to_order(JdOrder.model_validate(inner["orderDetailInfo"]["orderInfo"]))
    assert order.total == Money("59.90", "CNY")
    assert order.discount == Money("10.00", "CNY")
    assert order.lines[0].sku == "MUG-350"
    assert order.shipments == []


@pytest.mark.parametrize("name", ["error_invalid_token"])
def test_documented_errors_become_typed_errors(name: str) -> None:
    error = error_from_body(body(name))
    assert isinstance(error, AuthenticationError)
    assert error.code == "19"


@pytest.mark.parametrize(("field", "value"), [("applyTime", "yesterday"),
                                              ("applyRefundSum", "lots")])
def test_a_hostile_record_is_one_line_naming_the_field_and_the_record(
        field: str, value: str) -> None:
    from aftersales.errors import ValidationError

    inner = unwrap(body("refundapply_query_page_list"), adapter="jd", method="list")
    record = inner["queryResult"]["result"][0]
    record[field] = value
    with pytest.raises(ValidationError) as info:
        mapping.refund_to_request(RefundApplyResult.model_validate(
            inner["queryResult"]).result[0])
    text = str(info.value)
    assert field in text
    assert "61000001" in text
    assert "\n" not in text


def test_a_refused_query_is_a_rejected_call_not_an_empty_list(
        http: Any) -> None:
    from aftersales_jd import JdMarketplace

    from aftersales.errors import RemoteRejectedError

    from .conftest import NOW, FakeJdShop, FakeJos, make_settings

    jos = FakeJos(http)
    FakeJdShop(jos)
    jos.handle("jingdong.pop.afs.soa.refundapply.queryPageList", lambda p: {
        "jingdong_pop_afs_soa_refundapply_queryPageList_responce": {
            "code": "0", "queryResult": {"success": False, "resultCode": "403",
                                         "resultDescribe": "无权限"}}})
    market = JdMarketplace(make_settings(), clock=lambda: NOW)
    with pytest.raises(RemoteRejectedError, match="无权限"):
        list(market.list_returns())
