"""Shipping an exchange's replacement on Pinduoduo (pdd.refund.exchange.shipping)."""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

import pytest
from aftersales_pinduoduo import PinduoduoMarketplace

from aftersales.errors import AfterSalesError, RemoteRejectedError, ValidationError
from aftersales.models import ReturnKind, ReturnRequest, Shipment, ShipmentDirection
from aftersales.testing.lost_answers import LOST_ANSWERS, lost_answer

from .conftest import NOW, FakeMall, FakeRouter, make_settings

SHIP = "pdd.refund.exchange.shipping"


@pytest.fixture
def exchange_mall(router: FakeRouter) -> FakeMall:
    return FakeMall(router, exchange=True)


def _market() -> PinduoduoMarketplace:
    return PinduoduoMarketplace(make_settings(), clock=lambda: NOW)


def _request(market: PinduoduoMarketplace, external_id: str = "9100") -> ReturnRequest:
    return next(r for p in market.list_returns() for r in p.items
                if r.external_id == external_id)


def _parcel(carrier: str | None = "sf") -> Shipment:
    return Shipment(tracking_number="SF1400000000001", carrier=carrier)


def test_the_replacement_is_sent_with_the_carriers_id(exchange_mall: FakeMall) -> None:
    market = _market()
    request = _request(market)
    assert request.kind is ReturnKind.EXCHANGE
    sent = market.ship_exchange(request, _parcel())
    assert sent.direction is ShipmentDirection.EXCHANGE
    assert sent.tracking_number == "SF1400000000001"
    assert exchange_mall.exchanges == [{
        "after_sales_id": 9100, "order_sn": "241120-109100000", "shipping_id": 44,
        "shipping_name": "顺丰快递", "tracking_number": "SF1400000000001"}]


def test_shipping_twice_sends_once(exchange_mall: FakeMall) -> None:
    market = _market()
    request = _request(market)
    market.ship_exchange(request, _parcel())
    market.ship_exchange(request, _parcel())
    assert len(exchange_mall.exchanges) == 1


@pytest.mark.parametrize("carrier", [None, "yto", "dhl"])  # none; listed but unavailable; unknown
def test_a_carrier_pinduoduo_cannot_take_is_refused_before_any_write(
        exchange_mall: FakeMall, router: FakeRouter, carrier: str | None) -> None:
    market = _market()
    with pytest.raises(ValidationError, match="carrier"):
        market.ship_exchange(_request(market), _parcel(carrier))
    assert SHIP not in router.types()


def test_only_an_exchange_ships_a_replacement(exchange_mall: FakeMall,
                                             router: FakeRouter) -> None:
    market = _market()
    with pytest.raises(RemoteRejectedError, match="ships no replacement"):
        market.ship_exchange(_request(market, "9001"), _parcel())  # a return of goods
    assert exchange_mall.exchanges == []


def test_a_refused_shipping_is_a_rejected_call(exchange_mall: FakeMall,
                                              router: FakeRouter) -> None:
    market = _market()
    request = _request(market)
    original = exchange_mall._detail

    def still_waiting(form: dict[str, str]) -> dict[str, Any]:  # the detail lags behind
        answer = original(form)
        answer["refund_information_get_response"]["after_sales_status"] = 14
        return answer
    exchange_mall.set_status("9100", 16)
    router.handle("pdd.refund.information.get", still_waiting)
    with pytest.raises(RemoteRejectedError, match="状态不允许"):
        market.ship_exchange(request, _parcel())


@pytest.mark.parametrize("mode", LOST_ANSWERS)
def test_a_lost_answer_ships_exactly_once(exchange_mall: FakeMall, router: FakeRouter,
                                         mode: str) -> None:
    market = _market()
    request = _request(market)
    state = {"lose": True}

    def shipping(form: dict[str, str]) -> Any:
        done = exchange_mall._exchange_shipping(form)
        if not state["lose"]:
            return done
        answer = lost_answer(mode)
        return answer if isinstance(answer, Exception) else (answer[0], answer[2])
    router.handle(SHIP, shipping)
    with suppress(AfterSalesError):
        market.ship_exchange(request, _parcel())
    state["lose"] = False
    market.ship_exchange(request, _parcel())
    market.ship_exchange(request, _parcel())
    assert [json.dumps(e, sort_keys=True) for e in exchange_mall.exchanges] == [
        json.dumps(exchange_mall.exchanges[0], sort_keys=True)]


def _lagging(mall: FakeMall, router: FakeRouter) -> None:
    """The detail's status lags at 14 while its 换货详情 is current."""
    original = mall._detail

    def detail(form: dict[str, str]) -> dict[str, Any]:
        answer = original(form)
        answer["refund_information_get_response"]["after_sales_status"] = 14
        return answer
    router.handle("pdd.refund.information.get", detail)


def test_a_replacement_already_sent_under_this_number_is_not_sent_again(
        exchange_mall: FakeMall, router: FakeRouter) -> None:
    market = _market()
    request = _request(market)
    market.ship_exchange(request, _parcel())
    _lagging(exchange_mall, router)
    market.ship_exchange(request, _parcel())
    assert len(exchange_mall.exchanges) == 1


def test_a_replacement_already_sent_under_another_number_is_refused(
        exchange_mall: FakeMall, router: FakeRouter) -> None:
    market = _market()
    request = _request(market)
    market.ship_exchange(request, _parcel())
    _lagging(exchange_mall, router)
    with pytest.raises(RemoteRejectedError, match="SF1400000000001"):
        market.ship_exchange(request, Shipment(tracking_number="ZT0000000000009", carrier="zto"))
    assert len(exchange_mall.exchanges) == 1
