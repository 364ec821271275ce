"""aftersales_shopify: the Shopify adapter for aftersales.

Registered as the ``shopify`` marketplace (entry point group
``aftersales.marketplaces``). The import name carries the ``aftersales_``
prefix because ``shopify`` is Shopify's own SDK.
"""

from __future__ import annotations

from .adapter import ShopifyMarketplace
from .settings import ShopifySettings
from .webhooks import ReturnEvent, verify_webhook

__all__ = ["ReturnEvent", "ShopifyMarketplace", "ShopifySettings", "verify_webhook"]
