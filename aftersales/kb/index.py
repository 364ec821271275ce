"""The knowledge base's own search index and its BM25 ranking, in plain SQL.

Why an index of our own rather than SQLite FTS5 or PostgreSQL's text search:
the same table and the same query run on both backends and rank alike;
Chinese needs character bigrams, which neither FTS5's trigram tokenizer
(nothing under three characters matches: ``退款`` finds nothing) nor
PostgreSQL's parsers (a run of Chinese is one "word") give; and ``pg_trgm``
is an extension a hosted database may not allow. ``benchmarks/kb_search.py``
measures the alternatives on the same questions.

The ranking is Okapi BM25 (k1 = 1.2, b = 0.75) over the weighted terms of
:mod:`aftersales.kb.text`: each query term's inverse document frequency
times the weight of its kind, computed in SQL, best first. Document
frequencies and the mean length are taken over the whole knowledge base; the
store, kind and validity filter applies to the ranking. A word's character
trigrams are used only when the word itself is in no entry (a typo), which
keeps a query's postings to a few per cent of what every trigram would read.
A query costs three statements: the document frequencies of its terms (an
index-only count), the collection's size and mean length, and the ranked
postings (each term's postings are one range of the clustered primary key).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from aftersales.kb.models import Entry, EntryKind
from aftersales.kb.text import document_terms, typo_terms
from aftersales.store.tables.kb import KbEntryRow, KbTermRow

__all__ = ["INDEX_VERSION", "K1", "B", "entry_filter", "entry_terms", "indexed_fingerprint",
           "rank"]

K1 = 1.2
B = 0.75
#: The version of the rules that turn text into terms (:mod:`aftersales.kb.text`,
#: :mod:`aftersales.kb.fold`, :data:`FIELD_WEIGHTS`). Raise it with any change
#: to them: an entry indexed under another version is then rewritten by the next
#: import of it or by ``KnowledgeBase.reindex()``.
INDEX_VERSION = 3

#: How much each field of an entry counts (a question's words say most).
FIELD_WEIGHTS = {"question": 3, "also": 2, "labels": 2, "answer": 1}


def entry_terms(entry: Entry) -> tuple[Counter[str], int]:
    """The index terms of ``entry`` with their weighted counts, and its length.

    Intents and tags are indexed twice: as words (so a query for
    ``refund`` finds an entry tagged ``refund``) and as exact labels
    (``i:refund``, ``t:damage``) that suggestions look up; the labels do not
    count toward the length.
    """
    labels = " ".join(label.replace("_", " ") for label in [*entry.intents, *entry.tags])
    counts = document_terms([
        (entry.question, FIELD_WEIGHTS["question"]),
        *((text, FIELD_WEIGHTS["also"]) for text in entry.also),
        (labels, FIELD_WEIGHTS["labels"]),
        (entry.answer_zh, FIELD_WEIGHTS["answer"]),
        (entry.answer_en, FIELD_WEIGHTS["answer"]),
    ])
    length = sum(counts.values())
    for intent in entry.intents:
        counts[f"i:{intent}"[:80]] = 1
    for tag in entry.tags:
        counts[f"t:{tag}"[:80]] = 1
    return counts, length


def indexed_fingerprint(entry: Entry) -> str:
    """The fingerprint stored with ``entry``'s row: its content and :data:`INDEX_VERSION`.

    Equal only when the entry reads the same and was indexed by the same
    rules, so an unchanged entry is skipped and a stale index is not.
    """
    return hashlib.sha256(f"{INDEX_VERSION}:{entry.fingerprint()}".encode()).hexdigest()


def entry_filter(*, store: str | None, kind: EntryKind | None,
                 at: datetime) -> ColumnElement[bool]:
    """Entries of ``store`` (and those every store shares) of ``kind``, valid at ``at``."""
    parts: list[ColumnElement[bool]] = [
        or_(KbEntryRow.valid_from.is_(None), KbEntryRow.valid_from <= at),
        or_(KbEntryRow.valid_until.is_(None), KbEntryRow.valid_until > at),
    ]
    if store is not None:
        parts.append(KbEntryRow.store.in_(["", store]))
    if kind is not None:
        parts.append(KbEntryRow.kind == kind.value)
    return and_(*parts)


def rank(session: Session, weights: Mapping[str, float], where: ColumnElement[bool],
         limit: int, *, query: str | None = None) -> list[tuple[int, float]]:
    """The ids of the best ``limit`` entries for query terms ``weights``, with scores.

    Args:
        weights: query term → how much it counts (see :func:`aftersales.kb.text.query_terms`).
        where: which entries may be returned (:func:`entry_filter`).
        query: the text ``weights`` came from; given, the trigrams of its words
            that some entry has are left out (:func:`~aftersales.kb.text.typo_terms`).
    """
    if not weights:
        return []
    terms: Sequence[str] = sorted(weights)
    # Document frequencies and lengths over the whole knowledge base (the
    # filter applies to the ranking only): an index-only count per term.
    df = dict(session.execute(
        select(KbTermRow.term, func.count()).where(KbTermRow.term.in_(terms))
        .group_by(KbTermRow.term)
    ).all())
    if query is not None:  # a known word's trigrams only stand in for unknown words
        groups = typo_terms(query)
        needed = {g for word, grams in groups.items() if not df.get(word) for g in grams}
        for grams in groups.values():
            for gram in grams - needed:
                df.pop(gram, None)
    if not df:
        return []
    n, mean = session.execute(select(func.count(), func.avg(KbEntryRow.length))).one()
    mean = float(mean or 1.0) or 1.0
    idf = {t: weights[t] * math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
    wanted = union_all(*(
        select(literal(t, String()).label("term"), literal(w, Float()).label("weight"))
        for t, w in sorted(idf.items()))).cte("q")
    tf = cast(KbTermRow.tf, Float)
    norm = K1 * (1 - B + B * cast(KbEntryRow.length, Float) / mean)
    score = func.sum(wanted.c.weight * tf * (K1 + 1) / (tf + norm)).label("score")
    rows = session.execute(
        select(KbEntryRow.id, score)
        .select_from(wanted)
        .join(KbTermRow, KbTermRow.term == wanted.c.term)
        .join(KbEntryRow, KbEntryRow.id == KbTermRow.entry_id)
        .where(where)
        .group_by(KbEntryRow.id)
        .order_by(score.desc(), KbEntryRow.id)
        .limit(limit)
    ).all()
    return [(int(i), float(s)) for i, s in rows]
