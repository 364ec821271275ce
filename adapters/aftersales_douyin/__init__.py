"""aftersales_douyin: Douyin Shop (抖店) shops through the open platform.

``DouyinMarketplace`` is registered as ``douyin`` in ``aftersales.marketplaces``;
``sign`` is the platform's request signature (HMAC-SHA256 over the system
parameters and ``param_json``).
"""

from __future__ import annotations

from aftersales_douyin.adapter import DouyinMarketplace
from aftersales_douyin.client import sign
from aftersales_douyin.settings import DouyinSettings

__all__ = ["DouyinMarketplace", "DouyinSettings", "sign"]
