"""Taobao against what TOP itself documents and sends: payloads, settings, refusals, caps."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aftersales_taobao import TaobaoMarketplace, TaobaoSettings, mapping
from aftersales_taobao.client import error_from_body
from aftersales_taobao.errors import RefundCapError, VerificationRequiredError
from aftersales_taobao.schemas import LogisticsTrace, RefundPage, RefuseReasons, TopRefund

from aftersales.errors import ConfigurationError, RateLimitError, TransientError
from aftersales.models import Money, ParcelStatus, Refund, ReturnKind, ReturnRequest, ReturnStatus

from .conftest import NOW, FakeShop, FakeTop, make_settings

PLATFORM = Path(__file__).parent / "fixtures" / "platform"


def doc(name: str) -> dict[str, Any]:
    """A payload TOP published (its ``_source`` names where), as a fresh copy."""
    data: dict[str, Any] = json.loads((PLATFORM / f"{name}.json").read_text("utf-8"))
    assert data["_source"]
    return copy.deepcopy(data)


def test_every_platform_fixture_names_its_source() -> None:
    names = sorted(p.stem for p in PLATFORM.glob("*.json"))
    assert len(names) >= 5
    for name in names:
        assert doc(name)["_source"].strip()


# ---------------------------------------------------------------- payloads TOP wrote


def test_trace_doc_example_names_zhongtong_suda_and_arrive() -> None:
    """The trace API's own example: 中通速递 and action ARRIVE were both unknown before."""
    trace = LogisticsTrace.model_validate(
        doc("logistics_trace_doc_example")["body"]["logistics_trace_search_response"])
    tracking = mapping.trace_to_tracking(trace)
    assert tracking.carrier == "zto"
    assert tracking.status is ParcelStatus.IN_TRANSIT
    assert tracking.events[0].raw_code == "ARRIVE"
    shipment = mapping.trace_to_shipment(trace)
    assert shipment is not None
    assert shipment.carrier == "zto"


def test_refund_doc_example_becomes_a_paid_return() -> None:
    page = RefundPage.model_validate(doc("refund_doc_example")["body"]["refunds_receive_get_response"])
    request = mapping.refund_to_request(page.refunds[0])
    assert request.external_id == "83477"
    assert (request.status, request.raw_status) == (ReturnStatus.REFUNDED, "SUCCESS")
    assert request.kind is ReturnKind.RETURN  # no dispute_type: has_good_return decides
    assert request.return_carrier == "sto"  # 申通快递
    assert request.requested_amount == Money("10.00", "CNY")


def test_real_daily_ban_waits_what_it_announces() -> None:
    error = error_from_body(doc("error_daily_ban")["body"])
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 31063.0
    assert error.code == "7/accesscontrol.limited-by-app-access-count"


def test_real_remote_service_timeout_is_transient() -> None:
    error = error_from_body(doc("error_remote_service_timeout")["body"])
    assert isinstance(error, TransientError)
    assert error.code == "520/isp.remote-service-timeout"


def test_refuse_reasons_doc_example_parses() -> None:
    body = doc("refusereason_get_doc_example")["body"]["refund_refusereason_get_response"]
    reasons = RefuseReasons.model_validate(body).reasons
    assert [(r.reason_id, r.reason_text) for r in reasons] == [(1, "已经影响商品完好")]
    assert mapping.choose_reason(reasons, None, "已经影响商品完好") == 1


# ---------------------------------------------------------------- the store's settings


def test_a_plain_taobao_shop_without_return_address_is_refused_when_configured() -> None:
    settings = make_settings(return_address=None)
    with pytest.raises(ConfigurationError, match="return_address") as info:
        TaobaoMarketplace(settings, clock=lambda: NOW)
    assert "TAOBAO_RETURN_MOBILE" in str(info.value)
    TaobaoMarketplace(make_settings(return_address=None, tmall=True), clock=lambda: NOW)


def test_the_return_address_comes_from_the_environment() -> None:
    env = {"TAOBAO_APP_KEY": "k", "TAOBAO_APP_SECRET": "s", "TAOBAO_SESSION": "x",
           "TAOBAO_RETURN_NAME": "售后仓", "TAOBAO_RETURN_ADDRESS": "杭州市文一西路1号",
           "TAOBAO_RETURN_POST": "311100", "TAOBAO_RETURN_MOBILE": "13800000000"}
    settings = TaobaoSettings.from_env(env)
    assert settings.return_address is not None
    assert settings.return_address.post == "311100"
    settings.check_store()
    partial = {k: v for k, v in env.items() if k != "TAOBAO_RETURN_POST"}
    with pytest.raises(ConfigurationError, match="return_address"):
        TaobaoSettings.from_env(partial).check_store()


def test_agreeing_a_return_on_a_plain_taobao_shop_spells_out_the_address(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = next(r for p in market.list_returns() for r in p.items if r.external_id == "100000")
    market.approve_return(request)
    sent = top.calls[-1]
    assert sent["method"] == "taobao.rp.returngoods.agree"
    assert (sent["name"], sent["post"], sent["mobile"]) == ("售后仓", "311100", "13800000000")
    assert sent["address"].startswith("浙江省杭州市")


# ---------------------------------------------------------------- refunds.agree


def _request(market: TaobaoMarketplace, refund_id: str) -> ReturnRequest:
    return next(r for p in market.list_returns() for r in p.items if r.external_id == refund_id)


def _refund(request: ReturnRequest, amount: str) -> Refund:
    return Refund(order_id=request.order_id, amount=Money(Decimal(amount), "CNY"),
                  idempotency_key=f"rk-{request.external_id}")


def test_an_sms_demand_is_a_typed_error_and_code_then_pays(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    top.queue("taobao.rp.refunds.agree", {"error_response": {
        "code": 15, "msg": "Remote service error", "sub_code": "isv.refund-agree-failed",
        "sub_msg": "退款金额较大，请输入短信验证码"}})
    with pytest.raises(VerificationRequiredError, match="agree in the seller console or pass code="):
        market.refund(_refund(request, "11.50"), request)
    assert shop.agreed == []
    market.refund(_refund(request, "11.50"), request, code="839212")
    assert top.calls[-1]["code"] == "839212"
    assert shop.refunds["100001"]["status"] == "SUCCESS"


def test_an_sms_demand_in_the_result_list_is_the_same_typed_error(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    request = _request(market, "100001")
    top.queue("taobao.rp.refunds.agree", {"rp_refunds_agree_response": {
        "msg_code": "OP_FAILURE_UE", "succ": False, "results": {"refund_mapping_result": [
            {"refund_id": "100001", "succ": False, "message": "需要短信验证码"}]}}})
    with pytest.raises(VerificationRequiredError):
        market.refund(_refund(request, "11.50"), request)


@pytest.mark.parametrize(("succ", "msg_code"), [(True, "OP_SUCC"), (False, "OP_FAILURE_UE"),
                                               (True, None)])
def test_an_sms_sent_message_in_a_success_shaped_answer_is_not_a_payment(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop, succ: bool, msg_code: str | None,
) -> None:
    # Not a platform-written payload: the message text is what a third-party Tmall
    # integration checks in rp_refunds_agree_response ("the code was texted");
    # TOP documents neither its succ nor its msg_code, so each is tried.
    request = _request(market, "100001")
    top.queue("taobao.rp.refunds.agree", {"rp_refunds_agree_response": {
        "msg_code": msg_code, "succ": succ, "message": "发送二次验证短信成功"}})
    with pytest.raises(VerificationRequiredError):
        market.refund(_refund(request, "11.50"), request)
    assert shop.agreed == []


@pytest.mark.parametrize(("tmall", "amount", "refused"), [
    (False, "6000.00", False), (False, "6000.01", True),
    (True, "10000.00", False), (True, "10000.01", True),
])
def test_the_per_call_cap_is_refused_before_any_agree(
    shop: FakeShop, top: FakeTop, tmall: bool, amount: str, refused: bool
) -> None:
    market = TaobaoMarketplace(make_settings(tmall=tmall), clock=lambda: NOW)
    request = _request(market, "100001")
    top.calls.clear()
    if refused:
        with pytest.raises(RefundCapError, match="seller console"):
            market.refund(_refund(request, amount), request)
        assert top.methods() == []
    else:
        market.refund(_refund(request, amount), request)
        assert "taobao.rp.refunds.agree" in top.methods()


# ---------------------------------------------------------------- listings and tables


def test_refund_listing_asks_for_every_trade_type(
    market: TaobaoMarketplace, shop: FakeShop, top: FakeTop
) -> None:
    list(market.list_returns())
    sent = [c for c in top.calls if c["method"] == "taobao.refunds.receive.get"]
    assert sent
    assert all(c["type"] == ",".join(mapping.TRADE_TYPES) for c in sent)
    documented = {  # taobao.trades.sold.get, parameter type: every value but the combination
        "fixed", "auction", "step", "independent_simple_trade", "independent_shop_trade",
        "auto_delivery", "ec", "cod", "fenxiao", "game_equipment", "shopex_trade", "netcn_trade",
        "external_trade", "instant_trade", "b2c_cod", "hotel_trade", "super_market_trade",
        "super_market_cod_trade", "taohua", "waimai", "o2o_offlinetrade", "nopaid", "eticket",
        "tmall_i18n", "insurance_plus", "finance", "pre_auth_type"}
    assert set(mapping.TRADE_TYPES) == documented


DISPUTE_TYPES = {  # taobao.refund.get, Refund.dispute_type
    "REFUND": ReturnKind.REFUND_ONLY, "REFUND_AND_RETURN": ReturnKind.RETURN,
    "TMALL_EXCHANGE": ReturnKind.EXCHANGE, "TAOBAO_EXCHANGE": ReturnKind.EXCHANGE,
    "REPAIR": ReturnKind.REPAIR, "RESHIPPING": ReturnKind.RESHIP, "OTHERS": None,
}


@pytest.mark.parametrize("dispute", sorted(DISPUTE_TYPES))
@pytest.mark.parametrize("good_return", [True, False])
def test_every_documented_dispute_type_is_mapped(dispute: str, good_return: bool) -> None:
    assert set(mapping.KINDS) == set(DISPUTE_TYPES)
    refund = TopRefund(refund_id="1", tid="2", status="WAIT_SELLER_AGREE", dispute_type=dispute,
                       has_good_return=good_return, modified="2024-05-20 09:00:00")
    expected = DISPUTE_TYPES[dispute] or (
        ReturnKind.RETURN if good_return else ReturnKind.REFUND_ONLY)
    assert mapping.refund_to_request(refund).kind is expected
