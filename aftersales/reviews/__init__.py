"""Review monitoring: sync, classification, alerts, metrics and replies.

The pure parts live in :mod:`aftersales.reviews.classify` (the
:class:`Classifier` protocol and the default lexicon classifier) and
:mod:`aftersales.reviews.alerts` (the alert rules); the service that syncs,
stores and acts is reached as ``app.reviews``.
"""

from __future__ import annotations

from aftersales.reviews.classify import (
    Classification,
    Classifier,
    LexiconClassifier,
    Severity,
)

__all__ = ["Classification", "Classifier", "LexiconClassifier", "Severity"]
