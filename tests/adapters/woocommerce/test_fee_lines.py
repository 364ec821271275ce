"""WooCommerce fee lines: a negative fee is a discount the buyer got.

WooCommerce supports negative fees since 3.2 (woocommerce/woocommerce#16528,
"Support negative fees"); discount plugins and the WooCommerce mobile apps'
order creation (woocommerce/woocommerce-ios#6352) give discounts that way.
A fee line is ``fee_lines[]`` with ``total`` and ``total_tax`` as text,
negative for such a discount (field names: the v3 REST docs' order
properties, "Order - Fee lines properties"). The line items keep their
full prices, so read without the fee the order refunded more than the buyer
paid. The order here is the docs' order 727 with a -5.00 fee added and its
``total`` lowered to match (ours, in the documented shape); a positive fee
(a surcharge) is no line of goods and stays out of the refund.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aftersales_woocommerce import mapping
from aftersales_woocommerce.schemas import WcOrder

from aftersales.errors import ValidationError
from aftersales.models import Order, ReturnKind, ReturnLine
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import compute_refund
from aftersales.wire import read_payload

from .conftest import body


def _with_fee(total: str, tax: str, order_total: str) -> Order:
    raw: dict[str, Any] = copy.deepcopy(body("orders_get"))
    raw["fee_lines"] = [{"id": 320, "name": "Loyalty discount", "tax_class": "",
                         "tax_status": "taxable" if tax != "0.00" else "none",
                         "total": total, "total_tax": tax, "taxes": [], "meta_data": []}]
    raw["total"] = order_total
    return mapping.order_from_wc(WcOrder.model_validate(raw))


def _full_refund(order: Order) -> Money:
    lines = [ReturnLine(order_line_id=ln.external_id, quantity=ln.quantity)
             for ln in order.lines]
    return compute_refund(order, lines, kind=ReturnKind.RETURN, policy=ReturnPolicy(),
                          refund_shipping=True).total


def test_a_negative_fee_is_an_order_discount_and_a_full_refund_is_what_was_paid() -> None:
    order = _with_fee("-5.00", "0.00", "24.35")  # 29.35 less the 5.00 fee
    assert order.discount == Money("5.00", "USD")
    assert _full_refund(order) == Money("24.35", "USD")  # was 29.35


def test_a_taxed_negative_fee_takes_its_tax_off_too() -> None:
    order = _with_fee("-5.00", "-0.38", "23.97")
    assert _full_refund(order) == Money("23.97", "USD")


def test_a_positive_fee_is_not_refunded_with_the_goods() -> None:
    order = _with_fee("2.00", "0.00", "31.35")
    assert order.discount == Money("0.00", "USD")
    assert _full_refund(order) == Money("29.35", "USD")


def test_a_fee_that_is_no_amount_is_refused_by_name() -> None:
    raw: dict[str, Any] = copy.deepcopy(body("orders_get"))
    raw["fee_lines"] = [{"id": 320, "total": "1e3", "total_tax": "0.00"}]
    with pytest.raises(ValidationError) as err:
        read_payload(WcOrder, raw, payload="woocommerce order")
    assert "fee_lines.0.total" in str(err.value)
