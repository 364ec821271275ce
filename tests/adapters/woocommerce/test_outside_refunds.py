"""Refunds made in the WooCommerce admin count against the refund caps.

WooCommerce's REST docs show order 723 (``orders_list.json``: lines 311 at
9.00 and 313 at 20.00, shipping 10.00, total 39.00) with two refunds in its
``refunds``: 724 (-9.00) and 726 (-10.00). The docs' refund list for the
order (``order_refunds_list.json``) says 724 refunded one unit of line 311
(``_refunded_item_id`` 311, quantity -1, total -9.00) and 726 refunded 10.00
without naming a line. 20.00 is left to refund, never 39.00.

A refund the library made itself is listed by WooCommerce too once the
order changes; it is recognised by its refund id and counted once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from aftersales_woocommerce import WooCommerceMarketplace, WooCommerceSettings, mapping
from aftersales_woocommerce.schemas import WcOrder, WcRefund

from aftersales.app import AfterSales
from aftersales.errors import ValidationError
from aftersales.models import Money

from .conftest import BASE, KEY, SECRET, body
from .fake_woocommerce import FakeStore
from .test_integration import _app


def _raw_723() -> dict[str, Any]:
    found: dict[str, Any] = next(o for o in body("orders_list") if o["id"] == 723)
    return found


def test_order_723_refunds_are_mapped_with_their_lines() -> None:
    details = [WcRefund.model_validate(r) for r in body("order_refunds_list")]
    order = mapping.order_from_wc(WcOrder.model_validate(_raw_723()), refunds=details)
    by_id = {r.external_id: r for r in order.refunds}
    assert set(by_id) == {"724", "726"}
    (line,) = by_id["724"].lines
    assert (line.order_line_id, line.quantity, line.amount) == ("311", 1, Money("9.00", "USD"))
    assert by_id["724"].other is None
    assert by_id["726"].lines == []
    assert by_id["726"].other == by_id["726"].amount == Money("10.00", "USD")


def test_without_the_refund_list_each_refund_is_an_amount_only() -> None:
    order = mapping.order_from_wc(WcOrder.model_validate(_raw_723()))
    assert sorted((r.external_id, r.other) for r in order.refunds) == [
        ("724", Money("9.00", "USD")), ("726", Money("10.00", "USD"))]


@pytest.fixture
def app(sqlite_url: str, http: responses.RequestsMock) -> Iterator[AfterSales]:
    http.get(f"{BASE}/orders/723", json=_raw_723())
    http.get(f"{BASE}/orders/723/refunds", json=body("order_refunds_list"),
             headers={"X-WP-TotalPages": "1"})
    market = WooCommerceMarketplace(WooCommerceSettings(
        url="https://example.com", consumer_key=KEY, consumer_secret=SECRET),
        sleep=lambda _: None)
    with AfterSales(sqlite_url, marketplaces=[market], carriers=[], migrate=False) as app:
        app.store.create_all()
        yield app


def _request(app: AfterSales, order: str, lines: dict[str, int], key: str) -> str:
    opened = app.returns.request("woocommerce", order, lines, reason="damaged_in_transit",
                                 kind="refund_only", idempotency_key=key, auto=False)
    assert opened.rma_id is not None
    return opened.rma_id


def test_a_full_refund_pays_what_the_admins_refunds_left(app: AfterSales) -> None:
    rma = _request(app, "723", {"311": 1, "313": 1}, "both")
    preview = app.returns.preview_refund(rma, refund_shipping=True)
    assert preview.total == Money("20.00", "USD")  # 39.00 less 9.00 and 10.00
    assert sorted(preview.outside_refunds) == ["724", "726"]
    assert preview.refunded_outside == Money("19.00", "USD")
    assert {ln.order_line_id: ln.amount for ln in preview.lines}["311"] == Money("0", "USD")


def test_the_line_refunded_in_the_admin_has_nothing_left(
    app: AfterSales, http: responses.RequestsMock
) -> None:
    http.post(f"{BASE}/orders/723/notes", json=body("order_notes_create"), status=201)
    rma = _request(app, "723", {"311": 1}, "311")
    app.returns.approve(rma)
    # The goods are gone; shipping (10.00) is kept out: refund 726's 10.00 names no
    # line, so the order's cap alone (20.00 left) would still let shipping go.
    with pytest.raises(ValidationError, match="nothing is left to refund"):
        app.returns.refund(rma, refund_shipping=False, idempotency_key="again")


def test_the_librarys_own_refund_listed_by_woocommerce_counts_once(
    sqlite_url: str, http: responses.RequestsMock
) -> None:
    # Order 727 (the docs' "Retrieve an order"): line 315 is 2 x 3.00 with 0.45 tax,
    # so one unit is 3.23 and the other 3.22.
    store = FakeStore(http, n=1)
    with _app(sqlite_url) as app:
        app.sync()
        first = _request(app, "1", {"315": 1}, "unit-1")
        app.returns.approve(first)
        paid = app.returns.refund(first, refund_shipping=False, idempotency_key="rk-1")
        assert paid.amount == Money("3.23", "USD")
        # WooCommerce now lists the library's refund on the order, and a re-sync stores it.
        (made,) = store.refunds[1]
        made["line_items"] = [{"id": 900, "quantity": -1, "total": "-3.00",
                               "total_tax": "-0.23",
                               "meta_data": [{"key": "_refunded_item_id", "value": "315"}]}]
        order = copy.deepcopy(store.orders[1])
        order.update(refunds=[{"id": made["id"], "refund": "", "total": "-3.23"}],
                     date_modified_gmt="2025-07-09T10:00:00")
        store.orders[1] = order
        app.sync()
        second = _request(app, "1", {"315": 1}, "unit-2")
        preview = app.returns.preview_refund(second, refund_shipping=False)
        assert preview.outside_refunds == []
        assert preview.total == Money("3.22", "USD")  # the other unit, not nothing
