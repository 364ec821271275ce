"""aftersales_pinduoduo: Pinduoduo (拼多多) shops through the open platform router.

``PinduoduoMarketplace`` is registered as ``pinduoduo`` in ``aftersales.marketplaces``;
``sign`` is the router's request signature (upper-case MD5).
"""

from __future__ import annotations

from aftersales_pinduoduo.adapter import PinduoduoMarketplace
from aftersales_pinduoduo.client import sign
from aftersales_pinduoduo.settings import PinduoduoSettings

__all__ = ["PinduoduoMarketplace", "PinduoduoSettings", "sign"]
