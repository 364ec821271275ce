"""Units an order edit removed are no longer the order's to return or refund.

Shopify's REST line item keeps ``quantity`` as ordered; since 2024-01 it
also gives ``current_quantity``, the units left after removals (developer
changelog "Addition of LineItem current_quantity on Admin REST API",
2023-12-05: refund line items are not a reliable way to tell a line's
current quantity). Removed units include refunded ones: in Shopify's own
sample order 450789469 the two lines refunded once each have
``current_quantity`` 0. The refunds are counted on their own (the refund
ledger), so a line holds ``current_quantity`` plus the units its refunds
name; what an edit removed without a refund line is gone. Read from
``quantity`` alone, a unit removed by an edit could be returned and paid
back although the buyer never got it (or was already paid for it by an
amount-only refund). The edited orders here are the sample order with
its figures changed (ours, in the documented shape).
"""

from __future__ import annotations

import copy
from typing import Any

from aftersales_shopify import mapping
from aftersales_shopify.schemas import RestOrder

from aftersales.models import Money, Order

from .conftest import body

LINE = "518995019"  # the sample order's line no refund touched: 199.00, 3.33 off, 3.98 tax


def _order(**line: Any) -> Order:
    raw = copy.deepcopy(body("rest_orders_get")["order"])
    for li in raw["line_items"]:
        if str(li["id"]) == LINE:
            li.pop("current_quantity", None)
            li.update(line)
    return mapping.order_from_rest(RestOrder.model_validate(raw))


def _twice(current: int | None) -> Order:
    # the line bought twice: price, discount and tax for two units
    line: dict[str, Any] = {
        "quantity": 2,
        "discount_allocations": [{"amount": "6.66", "discount_application_index": 0}],
        "tax_lines": [{"price": "7.96", "rate": 0.06, "title": "State Tax"}],
    }
    if current is not None:
        line["current_quantity"] = current
    return _order(**line)


def test_a_unit_removed_by_an_edit_is_not_the_orders_any_more() -> None:
    line = _twice(1).line(LINE)
    assert line.quantity == 1  # was 2
    assert line.discount == Money("3.33", "USD")  # the removed unit's share is gone too
    assert line.tax == Money("3.98", "USD")


def test_a_line_an_edit_removed_whole_is_dropped() -> None:
    order = _twice(0)
    assert LINE not in [ln.external_id for ln in order.lines]
    # the order-level discount is not inflated by the dropped line's allocation
    assert order.discount == _twice(2).discount


def test_refunded_units_stay_on_the_line_for_the_ledger() -> None:
    # the sample order: two lines refunded once each, current_quantity 0
    order = mapping.order_from_rest(RestOrder.model_validate(body("rest_orders_get")["order"]))
    assert [(ln.external_id, ln.quantity) for ln in order.lines] == [
        ("466157049", 1), ("518995019", 1), ("703073504", 1)]


def test_without_current_quantity_the_ordered_quantity_stands() -> None:
    assert _twice(None).line(LINE).quantity == 2
