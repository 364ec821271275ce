"""The sandbox is a Chinese marketplace: prices include tax, none is itemised."""

from __future__ import annotations

from aftersales.sandbox import SandboxMarketplace


def test_sandbox_orders_say_their_prices_include_tax(shop: SandboxMarketplace) -> None:
    orders = [o for page in shop.list_orders() for o in page.items]
    assert orders
    assert all(o.taxes_included and o.tax.is_zero() for o in orders)
