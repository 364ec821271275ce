"""aftersales_jd: JD (京东) POP shops through the JOS router.

``JdMarketplace`` is registered as ``jd`` in ``aftersales.marketplaces``;
``sign`` is the router's request signature (upper-case MD5).
"""

from __future__ import annotations

from aftersales_jd.adapter import JdMarketplace
from aftersales_jd.client import sign
from aftersales_jd.settings import JdSettings

__all__ = ["JdMarketplace", "JdSettings", "sign"]
