"""WooCommerce tax: line and shipping tax read, and given back per rate in ``refund_tax``.

Two documented orders: 727 from the v3 REST docs (1.35 tax on the lines,
none on shipping) and 645 from the v2 docs (tax on the lines and 0.50 on
shipping). Each full refund equals what the buyer paid; the refund body names
each tax rate the way the "Create a refund" example does.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import responses
from aftersales_woocommerce import mapping
from aftersales_woocommerce.schemas import WcOrder, WcShippingLine

from aftersales.app import AfterSales
from aftersales.models import Order, Refund, ReturnKind, ReturnLine, TaxLine
from aftersales.money import Money
from aftersales.returns.policy import ReturnPolicy
from aftersales.returns.refunds import RefundBreakdown, compute_refund

from .conftest import body
from .fake_woocommerce import FakeStore
from .test_integration import _app


def _order(name: str) -> Order:
    return mapping.order_from_wc(WcOrder.model_validate(body(name)))


def _preview(order: Order, units: dict[str, int], *, shipping: bool = False) -> RefundBreakdown:
    lines = [ReturnLine(order_line_id=k, quantity=v) for k, v in units.items()]
    return compute_refund(order, lines, kind=ReturnKind.RETURN, policy=ReturnPolicy(),
                          refund_shipping=shipping)


def _everything(order: Order) -> RefundBreakdown:
    return _preview(order, {ln.external_id: ln.quantity for ln in order.lines}, shipping=True)


def test_order_727_full_refund_is_its_total() -> None:
    order = _order("orders_get")
    assert order.tax == Money("1.35", "USD")
    assert [t.rate_id for ln in order.lines for t in ln.taxes] == ["75", "75"]
    full = _everything(order)
    assert full.total == order.total == Money("29.35", "USD")
    assert full.total_tax == Money("1.35", "USD")


def test_order_727_refund_body_names_the_tax_rate() -> None:
    order = _order("orders_get")
    refund = _everything(order).to_refund("727", "rk-727", order=order)
    wc = body("orders_get")["shipping_lines"]
    sent = mapping.refund_body(refund, api_refund=True, restock=True,
                               shipping=WcOrder.model_validate(body("orders_get")).shipping_lines)
    assert sent["amount"] == "29.35"
    assert sent["line_items"] == [
        {"id": "315", "quantity": 2, "refund_total": "6.00",
         "refund_tax": [{"id": 75, "refund_total": "0.45"}]},
        {"id": "316", "quantity": 1, "refund_total": "12.00",
         "refund_tax": [{"id": 75, "refund_total": "0.90"}]},
        {"id": wc[0]["id"], "refund_total": "10.00"},  # shipping, untaxed in this order
    ]


def test_order_645_line_and_shipping_tax() -> None:
    raw = body("order_645_line_and_shipping_tax")
    order = _order("order_645_line_and_shipping_tax")
    assert order.tax == Money("5.90", "USD")
    assert order.shipping_tax == Money("0.50", "USD")
    full = _everything(order)
    assert full.total == order.total == Money("79.87", "USD")
    refund = full.to_refund("645", "rk-645", order=order)
    sent = mapping.refund_body(refund, api_refund=True, restock=True,
                               shipping=WcOrder.model_validate(raw).shipping_lines)
    assert sent["line_items"][-1] == {"id": 506, "refund_total": "10.00",
                                      "refund_tax": [{"id": 4, "refund_total": "0.50"}]}
    parts = [item["refund_total"] for item in sent["line_items"]] + [
        t["refund_total"] for item in sent["line_items"] for t in item.get("refund_tax", [])]
    assert sum((Money(p, "USD") for p in parts), Money.zero("USD")) == Money(sent["amount"],
                                                                              "USD")


def test_order_645_one_unit_of_two_takes_half_the_tax() -> None:
    order = _order("order_645_line_and_shipping_tax")
    first = _preview(order, {"504": 1})
    assert first.total == Money("24.19", "USD")  # 21.99 + 2.20 of 4.40
    assert first.total_tax == Money("2.20", "USD")


# ---------------------------------------------------------------- end to end


def test_a_full_refund_through_the_library_pays_the_order_total_with_its_tax(
    sqlite_url: str, http: responses.RequestsMock
) -> None:
    store = FakeStore(http, n=1)
    posted: list[dict[str, Any]] = []
    make = store._refund

    def record(request: Any) -> tuple[int, dict[str, str], str]:
        posted.append(json.loads(request.body))
        return make(request)

    store._refund = record  # type: ignore[method-assign]
    with _app(sqlite_url) as app:
        _full_refund(app)
    (sent,) = posted
    assert sent["amount"] == "29.35"
    assert [item.get("refund_tax") for item in sent["line_items"]] == [
        [{"id": 75, "refund_total": "0.45"}], [{"id": 75, "refund_total": "0.90"}], None]


def _full_refund(app: AfterSales) -> None:
    app.sync()
    opened = app.returns.request("woocommerce", "1", {"315": 2, "316": 1}, reason="wrong_item",
                                 idempotency_key="portal-tax", auto=False)
    rma = opened.rma_id
    assert rma is not None
    assert app.returns.preview_refund(rma, refund_shipping=True).total == Money("29.35", "USD")
    app.returns.approve(rma)
    app.returns.mark_shipped(rma, tracking_number="1Z999AA10123456784", carrier="ups")
    app.returns.receive(rma)
    paid = app.returns.refund(rma, refund_shipping=True, idempotency_key="rk-tax")
    assert paid.amount == Money("29.35", "USD")


def test_unrounded_shipping_taxes_are_given_back_to_the_cent() -> None:
    # WooCommerce keeps per-rate taxes unrounded (rounding at subtotal): three rates of
    # 0.3333, 0.3333 and 0.3334 on one shipping line, 1.00 of shipping tax in all. The
    # library splits the 1.00 it gives back over the rates (0.33, 0.33, 0.34); refund_tax
    # must name all of it, or the body's lines add up to a cent less than its amount.
    rates = {"75": "0.3333", "76": "0.3333", "77": "0.3334"}
    ship = WcShippingLine.model_validate({"id": 9, "total": "10.00", "total_tax": "1.00",
                                          "taxes": [{"id": int(k), "total": v}
                                                    for k, v in rates.items()]})
    split = Money("1.00", "USD").allocate([Decimal(v) for v in rates.values()])
    refund = Refund(order_id="727", amount=Money("11.00", "USD"),
                    shipping=Money("10.00", "USD"), shipping_tax=Money("1.00", "USD"),
                    shipping_taxes=[TaxLine(amount=m, rate_id=k)
                                    for k, m in zip(rates, split, strict=True)],
                    idempotency_key="rk-ship")
    sent = mapping.refund_body(refund, api_refund=True, restock=False, shipping=[ship])
    (item,) = sent["line_items"]
    tax = sum((Money(t["refund_total"], "USD") for t in item["refund_tax"]),
              Money.zero("USD"))
    assert Money(item["refund_total"], "USD") + tax == Money(sent["amount"], "USD")
    assert tax == Money("1.00", "USD")
