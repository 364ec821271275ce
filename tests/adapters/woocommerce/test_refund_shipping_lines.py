"""Shipping a WooCommerce refund gave back is read as shipping refunded.

A refund's answer lists what it refunded by kind: ``line_items``,
``shipping_lines`` and ``fee_lines``, each with a negative ``total``
(WooCommerce's own V2 refunds controller test,
plugins/woocommerce/tests/php/includes/rest-api/Controllers/Version2/
class-wc-rest-order-refunds-v2-controller-test.php, test_items_response_fields:
a refund of 1 on a product line, 10 on a fee and 20 on the shipping reads
back as totals -1, -10 and -20). Read from its line items alone, the
shipping part was money naming nothing, so a later refund through the
library paid the shipping a second time. The refund here is on the docs'
order 723 (shipping 10.00; ``orders_list.json``), in that shape, ours.
"""

from __future__ import annotations

from typing import Any

from aftersales_woocommerce import mapping
from aftersales_woocommerce.schemas import WcOrder, WcRefund

from aftersales.models import Money, Order, ReturnKind, ReturnLine
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import RefundLedger, compute_refund, with_outside

from .conftest import body

SHIPPING_REFUND: dict[str, Any] = {
    "id": 730, "date_created_gmt": "2017-03-22T10:00:00", "amount": "10.00", "reason": "",
    "refunded_payment": True, "line_items": [], "fee_lines": [],
    "shipping_lines": [{"id": 731, "method_title": "Flat Rate", "total": "-10.00",
                        "total_tax": "0.00", "taxes": [],
                        "meta_data": [{"id": 1, "key": "_refunded_item_id", "value": "315"}]}],
}


def _order() -> Order:
    raw: dict[str, Any] = next(o for o in body("orders_list") if o["id"] == 723)
    raw = {**raw, "refunds": [{"id": 730, "refund": "", "total": "-10.00"}]}
    return mapping.order_from_wc(WcOrder.model_validate(raw),
                                 refunds=[WcRefund.model_validate(SHIPPING_REFUND)])


def test_a_refunds_shipping_lines_are_its_shipping() -> None:
    (refund,) = _order().refunds
    assert refund.shipping == Money("10.00", "USD")  # was None, the 10.00 as "other"
    assert refund.other is None
    assert refund.amount == Money("10.00", "USD")


def test_shipping_refunded_in_the_admin_is_not_paid_again() -> None:
    order = _order()
    ledger = with_outside(RefundLedger(), order.refunds, own=())
    lines = [ReturnLine(order_line_id=ln.external_id, quantity=ln.quantity)
             for ln in order.lines]
    preview = compute_refund(order, lines, kind=ReturnKind.RETURN, policy=ReturnPolicy(),
                             ledger=ledger, refund_shipping=True)
    assert preview.shipping == Money("0.00", "USD")
    assert preview.total == order.total - Money("10.00", "USD")

