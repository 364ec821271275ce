"""Judge.me review-source adapter for aftersales.

``JudgeMeMarketplace`` is registered as ``judgeme`` in
``aftersales.marketplaces``: it lists a Shopify shop's Judge.me reviews
and posts the shop's public replies.
"""

from __future__ import annotations

from aftersales_judgeme.adapter import HiddenReviewError, JudgeMeMarketplace
from aftersales_judgeme.mapping import to_review
from aftersales_judgeme.settings import JudgeMeSettings

__all__ = ["HiddenReviewError", "JudgeMeMarketplace", "JudgeMeSettings", "to_review"]
