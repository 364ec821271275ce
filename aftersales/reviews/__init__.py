"""Review monitoring: sync, classification, alerts, metrics and replies.

The pure parts live in :mod:`aftersales.reviews.classify` (the
:class:`Classifier` protocol and the default lexicon classifier) and
:mod:`aftersales.reviews.alerts` (the alert rules); the service that syncs,
stores and acts is reached as ``app.reviews``
(:class:`~aftersales.reviews.service.ReviewsService`).
"""

from __future__ import annotations

from aftersales.reviews.alerts import AlertConfig, AlertRule
from aftersales.reviews.classify import (
    Classification,
    Classifier,
    LexiconClassifier,
    Severity,
)
from aftersales.reviews.metrics import ReviewMetrics
from aftersales.reviews.replies import ReplyResult

__all__ = [
    "AlertConfig",
    "AlertRule",
    "Classification",
    "Classifier",
    "LexiconClassifier",
    "ReplyResult",
    "ReviewMetrics",
    "Severity",
]
