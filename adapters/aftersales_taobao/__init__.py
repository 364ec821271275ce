"""aftersales_taobao: Taobao and Tmall shops through the TOP open platform gateway.

``TaobaoMarketplace`` is registered as ``taobao`` in ``aftersales.marketplaces``;
``sign`` is the gateway's request signature (md5, hmac, hmac-sha256).
"""

from __future__ import annotations

from aftersales_taobao.adapter import TaobaoMarketplace
from aftersales_taobao.client import sign
from aftersales_taobao.settings import TaobaoSettings

__all__ = ["TaobaoMarketplace", "TaobaoSettings", "sign"]
