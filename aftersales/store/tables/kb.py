"""Tables of the knowledge base: FAQ entries and reply templates, and their search index.

* ``kb_entries``: one row per FAQ entry or reply template, unique on
  ``(store, key)``; ``store`` is empty for an entry every store shares.
  ``fingerprint`` is a hash of the content, so a re-import of the same file
  writes nothing; ``length`` is the entry's weighted term count, the document
  length BM25 normalises by.
* ``kb_terms``: the search index the knowledge base keeps itself (the same
  plain table on SQLite and PostgreSQL, so both rank alike): one row per
  entry and term, with the term's weighted count. Its primary key starts with
  the term, so a query reads only the postings of its own terms.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aftersales.store.tables.base import Base, Timestamps, Versioned
from aftersales.store.types import JSONType, UTCDateTime

__all__ = ["KbEntryRow", "KbTermRow"]


class KbEntryRow(Timestamps, Versioned, Base):
    """A FAQ entry (``kind`` ``faq``) or a reply template (``kind`` ``template``)."""

    __tablename__ = "kb_entries"
    __table_args__ = (UniqueConstraint("store", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(80), default="")
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    question: Mapped[str] = mapped_column(Text)
    also: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    answer_zh: Mapped[str] = mapped_column(Text, default="")
    answer_en: Mapped[str] = mapped_column(Text, default="")
    intents: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    tags: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handoff: Mapped[bool] = mapped_column(default=False)
    length: Mapped[int] = mapped_column(Integer, default=0)
    fingerprint: Mapped[str] = mapped_column(String(64))


class KbTermRow(Base):
    """One term of one entry's index, with its weighted count."""

    __tablename__ = "kb_terms"
    # Without a rowid the primary key is the table: a term's postings, with
    # their counts, are read as one range of one b-tree.
    __table_args__ = (Index("ix_kb_terms_entry", "entry_id"), {"sqlite_with_rowid": False})

    term: Mapped[str] = mapped_column(String(80), primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("kb_entries.id", ondelete="CASCADE"), primary_key=True
    )
    tf: Mapped[int] = mapped_column(Integer)
