"""Receiving a JD service order's goods (拆包登记) and the processing calls JD does not let us make.

jingdong.asc.receive.register takes six check results as numbers whose
lists JD publishes nowhere checked: the adapter sends the shop's own
``receive_codes`` and, without them, does not offer the step. The
processing calls (jingdong.asc.process.*) and a service order's refund are
refused by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
from aftersales_jd import JdMarketplace, JdSettings

from aftersales.app import AfterSales
from aftersales.errors import AfterSalesError, RemoteRejectedError, UnsupportedOperationError
from aftersales.interfaces import Capability
from aftersales.models import Money, Refund, ReturnRequest, ReturnStatus, Shipment
from aftersales.testing.lost_answers import LOST_ANSWERS, lost_answer

from .conftest import NOW, FakeJdShop, FakeJos, Sleeps, make_settings

LIST = "jingdong.asc.query.list"
RECEIVE = "jingdong.asc.receive.register"
#: The shop's own codes (values written for these tests, not JD's meanings).
CODES = {"packingState": 10, "qualityState": 20, "invoiceRecord": 30, "judgmentReason": 4,
         "accessoryOrGift": 5, "appearanceState": 60}


def _market(**kw: Any) -> JdMarketplace:
    return JdMarketplace(make_settings(vender_id="10086", **kw), clock=lambda: NOW)


def _service(market: JdMarketplace, service_id: int) -> ReturnRequest:
    return next(r for p in market.list_returns() for r in p.items
                if r.external_id == f"afs-{service_id}")


def _receipts(shop: FakeJdShop) -> list[dict[str, Any]]:
    return [p for m, p in shop.audits if m == RECEIVE]


def _awaiting_goods(shop: FakeJdShop, service_id: int) -> None:
    shop.service(service_id).update(serviceStatus=10005)  # 待收货: approved, goods on the way


def test_receiving_registers_the_shops_codes_once(shop: FakeJdShop, jos: FakeJos) -> None:
    market = _market(receive_codes=CODES, receive_remark="外箱完好")
    assert Capability.CONFIRM_RETURN_RECEIVED in market.capabilities
    _awaiting_goods(shop, 7700100)
    request = _service(market, 7700100)
    assert request.status is ReturnStatus.APPROVED
    jos.calls.clear()
    market.confirm_return_received(request)
    assert jos.methods() == [LIST, RECEIVE]
    sent = jos.calls[-1][1]
    assert {k: sent[k] for k in CODES} == CODES
    assert (sent["serviceId"], sent["orderId"], sent["buId"]) == (7700100, 281100229900, "10086")
    assert (sent["receivePin"], sent["receiveName"]) == ("shop_admin", "aftersales")
    assert sent["receiveRemark"] == "外箱完好"
    market.confirm_return_received(request)  # a repeat reads 待处理 and writes nothing
    assert len(_receipts(shop)) == 1
    assert _service(market, 7700100).status is ReturnStatus.RECEIVED


def test_without_the_shops_codes_receiving_is_not_offered(shop: FakeJdShop,
                                                          jos: FakeJos) -> None:
    for market in (_market(), JdMarketplace(make_settings(receive_codes=CODES),
                                            clock=lambda: NOW)):
        assert Capability.CONFIRM_RETURN_RECEIVED not in market.capabilities
        _awaiting_goods(shop, 7700100)
        request = _service(_market(), 7700100)
        jos.calls.clear()
        with pytest.raises(UnsupportedOperationError) as caught:
            market.confirm_return_received(request)
        text = str(caught.value)
        for words in (RECEIVE, "packingState", "receive_codes"):
            assert words in text
        assert "\n" not in text
        assert jos.calls == []


def test_an_order_not_awaiting_its_goods_is_not_registered(shop: FakeJdShop,
                                                           jos: FakeJos) -> None:
    market = _market(receive_codes=CODES)
    request = _service(market, 7700100)  # 待审核: not approved yet
    with pytest.raises(RemoteRejectedError, match="no longer awaits its goods"):
        market.confirm_return_received(request)
    assert _receipts(shop) == []


def test_a_refund_application_has_no_goods_to_receive(shop: FakeJdShop, jos: FakeJos) -> None:
    market = _market(receive_codes=CODES)
    request = next(r for p in market.list_returns() for r in p.items
                   if r.external_id == "refund-61000100")
    jos.calls.clear()
    with pytest.raises(UnsupportedOperationError, match="refund application"):
        market.confirm_return_received(request)
    assert jos.calls == []


def test_the_codes_read_from_the_environment_and_must_be_all_six() -> None:
    env = {"JD_APP_KEY": "k", "JD_APP_SECRET": "s", "JD_ACCESS_TOKEN": "t"}
    text = ",".join(f"{k}={v}" for k, v in CODES.items())
    assert JdSettings.from_env({**env, "JD_RECEIVE_CODES": text}).receive_codes == CODES
    assert JdSettings.from_env(env).receive_codes is None
    short = {k: v for k, v in CODES.items() if k != "appearanceState"}
    for bad in (short, {**CODES, "appearanceState": "完好"}, "packingState:10"):
        with pytest.raises(ValueError, match="receive_codes"):
            make_settings(receive_codes=bad)


def test_processing_and_a_service_orders_refund_are_refused_by_name(shop: FakeJdShop,
                                                                    jos: FakeJos) -> None:
    market = _market(receive_codes=CODES)
    assert Capability.SHIP_EXCHANGE not in market.capabilities
    exchange = _service(market, 7700101)  # 换货
    jos.calls.clear()
    with pytest.raises(UnsupportedOperationError) as caught:
        market.ship_exchange(exchange, Shipment(tracking_number="JDV000111222"))
    text = str(caught.value)
    for words in ("jingdong.asc.process.offline.change", "jingdong.asc.process.back",
                  "shipWayId"):
        assert words in text
    assert "\n" not in text
    refund = Refund(order_id=exchange.order_id, amount=Money("10.00", "CNY"),
                    idempotency_key="k1")
    with pytest.raises(UnsupportedOperationError, match="no refund call"):
        market.refund(refund, exchange)
    assert jos.calls == []


# ---------------------------------------------------------------- a lost answer

@pytest.fixture
def afs_app(sqlite_url: str, shop: FakeJdShop, sleeps: Sleeps) -> Iterator[AfterSales]:
    _awaiting_goods(shop, 7700100)
    market = JdMarketplace(make_settings(vender_id="10086", receive_codes=CODES),
                           clock=lambda: NOW, sleep=sleeps)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], clock=lambda: NOW,
                    migrate=False) as app:
        app.store.create_all()
        app.sync()
        yield app


@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_receipt_answer_registers_exactly_once(afs_app: AfterSales, shop: FakeJdShop,
                                                      jos: FakeJos, mode: str) -> None:
    rma = next(r.rma_id for r in afs_app.returns.list(marketplace="jd")
               if r.external_id == "afs-7700100") or ""
    state = {"lose": True}

    def register(params: dict[str, Any]) -> Any:
        done = shop._receive_register(params)
        if not state["lose"]:
            return done
        answer = lost_answer(mode)
        return answer if isinstance(answer, Exception) else (answer[0], answer[2])

    jos.handle(RECEIVE, register)
    afs_app.returns.mark_shipped(rma, "JDV000333444", carrier="jd")  # the buyer's parcel
    for _ in range(3):
        with suppress(AfterSalesError):
            afs_app.returns.receive(rma)
        state["lose"] = False
    assert len(_receipts(shop)) == 1
    assert afs_app.returns.get(rma).status is ReturnStatus.RECEIVED
