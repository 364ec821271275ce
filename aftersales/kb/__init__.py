"""The knowledge base: FAQ entries, reply templates, search and reply suggestions.

See :class:`~aftersales.kb.service.KnowledgeBase` (``app.kb``).
"""

from __future__ import annotations

from aftersales.kb.models import TEMPLATE_VARIABLES, Entry, EntryKind, Hit, Suggestion
from aftersales.kb.repository import Written
from aftersales.kb.service import KnowledgeBase
from aftersales.kb.suggest import Subject

__all__ = [
    "TEMPLATE_VARIABLES",
    "Entry",
    "EntryKind",
    "Hit",
    "KnowledgeBase",
    "Subject",
    "Suggestion",
    "Written",
]
