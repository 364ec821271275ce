"""Taobao and Tmall prices include tax: their orders say so, and a refund adds none."""

from __future__ import annotations

from aftersales_taobao import mapping
from aftersales_taobao.schemas import TopTrade

from aftersales.models import ReturnKind, ReturnLine
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import compute_refund

from .conftest import body


def test_a_trade_says_its_prices_include_tax() -> None:
    trade = TopTrade.model_validate(body("trade_fullinfo_get")["trade_fullinfo_get_response"]
                                    ["trade"])
    order = mapping.trade_to_order(trade)
    assert order.taxes_included is True
    assert order.tax.is_zero()
    full = compute_refund(order, [ReturnLine(order_line_id=ln.external_id, quantity=ln.quantity)
                                  for ln in order.lines],
                          kind=ReturnKind.RETURN, policy=ReturnPolicy(), refund_shipping=True)
    assert full.total == order.total == Money("183.00", "CNY")
    assert full.total_tax.is_zero()
