"""The order's discounts as Douyin split them over its SKU orders.

order/orderDetail gives each SKU order its own share of the order's discounts
(``promotion_amount``: 店铺 + 平台 + 达人优惠). A single-product coupon sits on
its product alone, so spreading the order's discount by price would refund the
coupon's product too much and the other too little. The fixture names its
source.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from aftersales_douyin import mapping
from aftersales_douyin.schemas import ShopOrder

from aftersales.models import Money, Order
from aftersales.returns.refunds import paid_by_line

from .conftest import body, fx


def _order(edit: Any = None) -> Order:
    raw = body("order_detail_sku_promotions")["data"]["shop_order_detail"]
    if edit:
        edit(raw)
    return mapping.to_order(ShopOrder.model_validate(raw), "dy-outlet")


def _cny(v: str) -> Money:
    return Money(Decimal(v), "CNY")


def test_the_fixture_names_its_source() -> None:
    assert "promotion_amount" in fx("order_detail_sku_promotions")["_source"]


def test_each_line_pays_what_douyin_split_onto_it() -> None:
    order = _order()
    assert [ln.discount for ln in order.lines] == [_cny("25.00"), _cny("5.00")]
    assert order.discount == Money.zero("CNY")
    assert order.total == _cny("170.00")
    assert paid_by_line(order) == {"4900000000000000031": _cny("75.00"),
                                   "4900000000000000032": _cny("95.00")}


def test_the_three_parts_stand_in_for_a_missing_total() -> None:
    def parts_only(raw: dict[str, Any]) -> None:
        for sku in raw["sku_order_list"]:
            sku.pop("promotion_amount")
    assert [ln.discount for ln in _order(parts_only).lines] == [_cny("25.00"), _cny("5.00")]


def test_without_a_split_the_discount_is_spread_by_price() -> None:
    def no_split(raw: dict[str, Any]) -> None:
        for sku in raw["sku_order_list"]:
            for key in [k for k in sku if k.startswith("promotion_")]:
                sku.pop(key)
    order = _order(no_split)
    assert [ln.discount for ln in order.lines] == [None, None]
    assert order.discount == _cny("30.00")
    assert paid_by_line(order) == {"4900000000000000031": _cny("85.00"),
                                   "4900000000000000032": _cny("85.00")}


def test_a_partial_split_leaves_the_rest_to_the_order() -> None:
    def first_only(raw: dict[str, Any]) -> None:
        raw["sku_order_list"][1]["promotion_amount"] = 0
        raw["sku_order_list"][1]["promotion_platform_amount"] = 0
    order = _order(first_only)
    assert [ln.discount for ln in order.lines] == [_cny("25.00"), None]
    assert order.discount == _cny("5.00")


@pytest.mark.parametrize("share", [10001, 3001])
def test_a_split_the_order_cannot_have_is_not_used(share: int) -> None:
    def too_much(raw: dict[str, Any]) -> None:
        raw["sku_order_list"][0]["promotion_amount"] = share
    order = _order(too_much)  # above its line, or above the order's whole discount
    assert [ln.discount for ln in order.lines] == [None, None]
    assert order.discount == _cny("30.00")
