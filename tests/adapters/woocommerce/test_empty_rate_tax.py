"""A tax rate WooCommerce lists with an empty total is a rate that charged nothing.

WooCommerce's orders controller writes each rate of a line's
``_line_tax_data`` as ``{"id", "total", "subtotal"}``, ``total`` as stored
and ``subtotal`` as ``''`` when the rate has none
(plugins/woocommerce/includes/rest-api/Controllers/Version2/
class-wc-rest-orders-v2-controller.php, get_order_item_data, "Format taxes");
a rate whose stored total is empty (a rate cleared on the order in the
admin) reads back as ``"total": ""``, and WooCommerce itself adds such a
rate in as 0 (``array_sum``). Refusing it refused the whole order. The order
here is the docs' order 727 with a second, empty rate on its first line
(ours, in that shape); text that is no amount is still refused by name.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aftersales_woocommerce import mapping
from aftersales_woocommerce.schemas import WcOrder

from aftersales.errors import ValidationError
from aftersales.models import Money
from aftersales.wire import read_payload

from .conftest import body


def _with_rate(total: Any) -> dict[str, Any]:
    raw: dict[str, Any] = copy.deepcopy(body("orders_get"))
    raw["line_items"][0]["taxes"].append({"id": 76, "total": total, "subtotal": ""})
    return raw


def test_an_empty_rate_total_is_no_tax() -> None:
    order = mapping.order_from_wc(WcOrder.model_validate(_with_rate("")))
    assert order.lines[0].tax == Money("0.45", "USD")  # was a refusal of the whole order
    assert order.tax == Money("1.35", "USD")


def test_a_rate_total_that_is_no_amount_is_still_refused_by_name() -> None:
    with pytest.raises(ValidationError) as err:
        read_payload(WcOrder, _with_rate("n/a"), payload="woocommerce order")
    assert "line_items.0.taxes.1.total" in str(err.value)
