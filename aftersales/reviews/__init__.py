"""Review monitoring: sync, classification, alerts, metrics and replies.

The pure parts live in :mod:`aftersales.reviews.classify` (the
:class:`Classifier` protocol and the lexicon classifier),
:mod:`aftersales.reviews.blended` (the default classifier: a trained text
model shipped in the package, blended with the lexicons; see
:func:`default_classifier`) and
:mod:`aftersales.reviews.alerts` (the alert rules); the service that syncs,
stores and acts is reached as ``app.reviews``
(:class:`~aftersales.reviews.service.ReviewsService`).
"""

from __future__ import annotations

from aftersales.reviews.alerts import AlertConfig, AlertRule
from aftersales.reviews.blended import Blend, BlendedClassifier, default_classifier
from aftersales.reviews.classify import (
    Classification,
    Classifier,
    LexiconClassifier,
    Severity,
)
from aftersales.reviews.metrics import ReviewMetrics
from aftersales.reviews.records import StoredReview
from aftersales.reviews.replies import ReplyResult
from aftersales.reviews.service import Alert

__all__ = [
    "Alert",
    "AlertConfig",
    "AlertRule",
    "Blend",
    "BlendedClassifier",
    "Classification",
    "Classifier",
    "LexiconClassifier",
    "ReplyResult",
    "ReviewMetrics",
    "Severity",
    "StoredReview",
    "default_classifier",
]
