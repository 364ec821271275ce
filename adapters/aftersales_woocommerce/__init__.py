"""aftersales_woocommerce: the WooCommerce adapter for aftersales.

Registered as the ``woocommerce`` marketplace (entry point group
``aftersales.marketplaces``). WooCommerce has no return object in core:
returns are the library's own requests linked to the order.
"""

from __future__ import annotations

from .adapter import WooCommerceMarketplace
from .settings import WooCommerceSettings
from .webhooks import OrderEvent, is_ping, verify_webhook

__all__ = [
    "OrderEvent",
    "WooCommerceMarketplace",
    "WooCommerceSettings",
    "is_ping",
    "verify_webhook",
]
