"""A refund made in Shopify's admin counts with the money it returned, not only its lines.

Shopify's REST Refund has two parts: the transactions that returned money
and the line items (with shipping as an order adjustment). A refund may
name a line at 0.00 and still return money (Shopify's own 2026-01 example
refund 929361483: line 518995019 at 0.00, a 41.94 refund transaction), or
name nothing at all (an amount-only refund). Read from its lines alone such
a refund counted 0.00 against the order's caps, so the library could pay
the same money a second time. ``rest_refunds_transactions_docs.json`` restates
the example; the amount-only refund is ours, in the same shape.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aftersales_shopify import mapping
from aftersales_shopify.schemas import RestOrder

from aftersales.errors import ValidationError
from aftersales.models import Money, PlatformRefund

from .conftest import body, fx


def _refunds(refunds: list[dict[str, Any]], **order: Any) -> list[PlatformRefund]:
    raw = copy.deepcopy(body("rest_orders_get")["order"])
    raw.update(order)
    raw["refunds"] = refunds
    return mapping.order_from_rest(RestOrder.model_validate(raw)).refunds


def _tx(amount: str, status: str = "success", kind: str = "refund",
        currency: str = "USD") -> dict[str, Any]:
    return {"id": 1, "kind": kind, "status": status, "amount": amount, "currency": currency,
            "parent_id": 801038806, "gateway": "bogus"}


def test_a_line_refunded_at_zero_counts_the_money_its_transaction_returned() -> None:
    zero_line, shipping = _refunds(fx("rest_refunds_transactions_docs")["refunds"])
    assert zero_line.external_id == "gid://shopify/Refund/929361483"
    assert [(ln.order_line_id, ln.quantity) for ln in zero_line.lines] == [("518995019", 1)]
    assert zero_line.amount == Money("41.94", "USD")  # was 0.00
    assert zero_line.other == Money("41.94", "USD")
    # the shipping example: the adjustment and the transaction agree on 5.00
    assert shipping.shipping == Money("5.00", "USD")
    assert shipping.amount == Money("5.00", "USD")
    assert shipping.other is None


def test_an_amount_only_refund_counts_its_whole_amount() -> None:
    (refund,) = _refunds([{"id": 7, "created_at": "2026-01-09T19:00:17-05:00",
                           "refund_line_items": [], "order_adjustments": [],
                           "transactions": [_tx("20.00")]}])
    assert refund.amount == Money("20.00", "USD")
    assert refund.other == Money("20.00", "USD")
    assert refund.lines == []


def test_failed_transactions_return_nothing_and_pending_ones_count() -> None:
    (refund,) = _refunds([{"id": 7, "refund_line_items": [], "order_adjustments": [],
                           "transactions": [_tx("20.00", "failure"), _tx("8.00", "error"),
                                            _tx("3.00", "pending"),
                                            _tx("50.00", kind="suggested_refund")]}])
    assert refund.amount == Money("3.00", "USD")


def test_lines_worth_more_than_the_transactions_keep_the_lines_figure() -> None:
    # Shopify's sample order 450789469: lines 399.29, one 209.00 transaction;
    # its current_total_price agrees with the lines, so the larger figure stays.
    (refund,) = mapping.order_from_rest(
        RestOrder.model_validate(body("rest_orders_get")["order"])).refunds
    assert refund.amount == Money("399.29", "USD")
    assert refund.other is None


def test_a_transaction_in_another_currency_than_the_buyers_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as err:
        _refunds([{"id": 7, "refund_line_items": [], "order_adjustments": [],
                   "transactions": [_tx("20.00", currency="EUR")]}])
    assert "refunds.transactions" in str(err.value)
    assert "\n" not in str(err.value)
