"""Reviewing JD service orders: refusal by review reason, approval to the return address."""

from __future__ import annotations

from typing import Any

import pytest
from aftersales_jd import JdMarketplace

from aftersales.errors import (
    ConfigurationError,
    RemoteRejectedError,
    ResponseParseError,
    UnsupportedOperationError,
    ValidationError,
)
from aftersales.models import ReturnRequest, ReturnStatus

from .conftest import NOW, RETURN_ADDRESS, FakeJdShop, FakeJos, make_settings

LIST = "jingdong.asc.query.list"
SEND = "jingdong.asc.audit.send"
REFUSE = "jingdong.asc.audit.refuse"


def _market(**kw: Any) -> JdMarketplace:
    return JdMarketplace(make_settings(vender_id="10086", **kw), clock=lambda: NOW)


def _service(market: JdMarketplace, service_id: int) -> ReturnRequest:
    return next(r for p in market.list_returns() for r in p.items
                if r.external_id == f"afs-{service_id}")


def _writes(jos: FakeJos) -> list[str]:
    return [m for m in jos.methods() if m in (SEND, REFUSE)]


def test_approving_a_return_sends_it_to_the_return_address(shop: FakeJdShop,
                                                           jos: FakeJos) -> None:
    market = _market()
    request = _service(market, 7700100)  # 退货, awaiting review
    assert request.status is ReturnStatus.REQUESTED
    jos.calls.clear()
    market.approve_return(request, note="请寄回")
    assert jos.methods() == [LIST, "jingdong.asc.audit.detail", SEND]
    assert jos.calls[0][1]["serviceId"] == 7700100  # read first, by the service id
    sent = jos.calls[-1][1]
    assert sent["serviceId"] == 7700100
    assert sent["sysVersion"] == 1
    assert sent["applyDetailIdList"] == [8800101]
    assert sent["approveNotes"] == "请寄回"
    assert sent["approveReasonCid1"] == 1102
    assert sent["returnProvince"] == RETURN_ADDRESS["return_province"]
    assert sent["returnAddressType"] == RETURN_ADDRESS["return_address_type"]
    assert sent["buId"] == "10086"
    assert sent["operatePin"] == "shop_admin"
    assert _service(market, 7700100).status is ReturnStatus.APPROVED


def test_approving_twice_writes_once(shop: FakeJdShop, jos: FakeJos) -> None:
    market = _market()
    request = _service(market, 7700101)  # 换货
    market.approve_return(request)
    market.approve_return(request)
    assert _writes(jos) == [SEND]


@pytest.mark.parametrize("service_id", [7700103, 7700104])  # 补发, 仅退款
def test_approving_another_expectation_is_refused_before_any_write(
        shop: FakeJdShop, jos: FakeJos, service_id: int) -> None:
    market = _market()
    with pytest.raises(UnsupportedOperationError, match="expects as"):
        market.approve_return(_service(market, service_id))
    assert _writes(jos) == []


def test_approving_without_a_return_address_names_what_is_missing(shop: FakeJdShop,
                                                                  jos: FakeJos) -> None:
    market = _market(return_zipcode=None, return_address_type=None)
    request = _service(market, 7700100)
    jos.calls.clear()
    with pytest.raises(ConfigurationError, match="returnZipcode, returnAddressType"):
        market.approve_return(request)
    assert jos.calls == []


def test_an_order_no_longer_awaiting_review_is_not_written(shop: FakeJdShop,
                                                          jos: FakeJos) -> None:
    market = _market()
    request = _service(market, 7700100)
    shop.service(7700100)["serviceStatus"] = 10011  # 取消: the buyer withdrew
    with pytest.raises(RemoteRejectedError, match="no longer awaits review"):
        market.approve_return(request)
    with pytest.raises(RemoteRejectedError, match="no longer awaits review"):
        market.reject_return(request, reason="不符合", reason_code="1102")
    assert _writes(jos) == []


def test_a_refused_write_is_a_rejected_call(shop: FakeJdShop, jos: FakeJos) -> None:
    market = _market()
    request = _service(market, 7700100)
    original = shop._service_list

    def stale(p: dict[str, Any]) -> dict[str, Any]:  # the list shows an older version
        answer = original(p)
        page = answer["jingdong_asc_query_list_responce"]["pageResult"]
        page["data"] = [dict(item, sysVersion=0) for item in page["data"]]
        return answer
    jos.handle(LIST, stale)
    with pytest.raises(RemoteRejectedError, match="版本") as caught:
        market.approve_return(request)
    assert caught.value.code == "ASC_VERSION"
    assert shop.audits == []


def test_refusing_needs_a_review_reason_code(shop: FakeJdShop, jos: FakeJos) -> None:
    market = _market()
    request = _service(market, 7700100)
    jos.calls.clear()
    for code in (None, "其他", "1/2/3", "12/x"):
        with pytest.raises(ValidationError, match="reason_code"):
            market.reject_return(request, reason="不符合退货条件", reason_code=code)
    assert jos.calls == []


def test_refusing_sends_both_reason_levels_and_writes_once(shop: FakeJdShop,
                                                           jos: FakeJos) -> None:
    market = _market()
    request = _service(market, 7700102)  # 维修
    market.reject_return(request, reason="人为损坏", note="见照片", reason_code="1102/2205")
    market.reject_return(request, reason="人为损坏", note="见照片", reason_code="1102/2205")
    assert _writes(jos) == [REFUSE]
    sent = shop.audits[0][1]
    assert (sent["approveReasonCid1"], sent["approveReasonCid2"]) == (1102, 2205)
    assert sent["approveNotes"] == "人为损坏：见照片"
    assert sent["sysVersion"] == 1
    assert _service(market, 7700102).status is ReturnStatus.REJECTED


def test_an_order_without_a_question_type_is_not_approved_blind(shop: FakeJdShop,
                                                                jos: FakeJos) -> None:
    market = _market()
    request = _service(market, 7700100)
    shop.service(7700100).pop("questionTypeCid1")
    with pytest.raises(ResponseParseError, match="questionTypeCid1"):
        market.approve_return(request)
    assert _writes(jos) == []


def test_the_return_address_reads_from_the_environment() -> None:
    from aftersales_jd import JdSettings

    settings = JdSettings.from_env({
        "JD_APP_KEY": "k", "JD_APP_SECRET": "s", "JD_ACCESS_TOKEN": "t",
        "JD_RETURN_PROVINCE": "2", "JD_RETURN_ADDRESS_TYPE": "1",
        "JD_RETURN_DETAIL_ADDRESS": "仓库路 1 号"})
    assert (settings.return_province, settings.return_address_type) == (2, 1)
    assert settings.return_detail_address == "仓库路 1 号"
