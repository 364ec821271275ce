"""A Taobao sub-order is worth what the buyer paid for it: ``divide_order_fee``.

TOP's Order struct (taobao.trade.fullinfo.get, taobao.trades.sold.increment.get;
as bububa/opentaobao's generated models carry it) gives each sub-order
``divide_order_fee`` (分摊之后的实付金额: what was paid for it once the
trade's discounts were spread) and ``part_mjz_discount`` (优惠分摊: its share
of them). Taobao spreads a coupon over the items it applies to, not over the
whole trade, so spreading the trade's discount in proportion to price
mis-values the lines: a 50.00 coupon on item A only, beside item B at full
price, made each worth 75.00, and a refund of B paid 25.00 too little while
one of A asked 25.00 more than Taobao lets a sub-order refund. The trade
here is ours, in that documented shape.
"""

from __future__ import annotations

from typing import Any

import pytest
from aftersales_taobao import mapping
from aftersales_taobao.schemas import TopTrade

from aftersales.errors import ValidationError
from aftersales.models import Money
from aftersales.returns.refunds import paid_by_line
from aftersales.wire import read_payload


def _trade(**a: Any) -> dict[str, Any]:
    return {
        "tid": "2231884277", "status": "TRADE_FINISHED", "payment": "158.00",
        "post_fee": "8.00", "created": "2024-11-11 00:01:02", "modified": "2024-11-15 10:00:00",
        "orders": {"order": [
            {"oid": "1001", "title": "A", "price": "100.00", "num": 1, "discount_fee": "0.00",
             "adjust_fee": "0.00", "divide_order_fee": "50.00", "part_mjz_discount": "50.00",
             **a},
            {"oid": "1002", "title": "B", "price": "100.00", "num": 1, "discount_fee": "0.00",
             "adjust_fee": "0.00", "divide_order_fee": "100.00", "part_mjz_discount": "0.00"},
        ]},
    }


def test_each_line_is_worth_its_divide_order_fee() -> None:
    order = mapping.trade_to_order(TopTrade.model_validate(_trade()))
    assert paid_by_line(order) == {"1001": Money("50.00", "CNY"),
                                   "1002": Money("100.00", "CNY")}  # was 75.00 each
    assert order.total == Money("158.00", "CNY")
    assert order.discount == Money("0.00", "CNY")


def test_without_divide_order_fee_the_trade_discount_is_spread() -> None:
    raw = _trade()
    for sub in raw["orders"]["order"]:
        del sub["divide_order_fee"], sub["part_mjz_discount"]
    order = mapping.trade_to_order(TopTrade.model_validate(raw))
    assert paid_by_line(order) == {"1001": Money("75.00", "CNY"),
                                   "1002": Money("75.00", "CNY")}


def test_a_divide_order_fee_that_is_no_amount_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as err:
        read_payload(TopTrade, _trade(divide_order_fee="5e1"), payload="taobao trade")
    assert "divide_order_fee" in str(err.value)
