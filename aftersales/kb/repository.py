"""Knowledge-base rows ↔ entries, with the search index kept in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aftersales.kb.index import entry_terms, indexed_fingerprint
from aftersales.kb.models import Entry
from aftersales.store.tables.kb import KbEntryRow, KbTermRow

__all__ = ["Written", "entry_from_row", "load_entries", "reindex_stale", "upsert_entry"]


class Written(StrEnum):
    """What :func:`upsert_entry` did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def entry_from_row(row: KbEntryRow) -> Entry:
    """The entry a row holds."""
    return Entry.model_validate({
        "key": row.key, "kind": row.kind, "store": row.store, "question": row.question,
        "also": row.also, "answer_zh": row.answer_zh, "answer_en": row.answer_en,
        "intents": row.intents, "tags": row.tags, "valid_from": row.valid_from,
        "valid_until": row.valid_until, "handoff": row.handoff,
    })


def upsert_entry(session: Session, entry: Entry) -> Written:
    """Write ``entry`` (new, or replacing the one of the same store and key) and its index.

    An entry that reads the same as the stored one, indexed by the same
    rules, writes nothing, so a re-import of the same file is free and
    idempotent; one indexed by older rules is indexed again.
    """
    row = session.scalars(
        select(KbEntryRow).where(KbEntryRow.store == entry.store, KbEntryRow.key == entry.key)
    ).one_or_none()
    fingerprint = indexed_fingerprint(entry)
    if row is not None and row.fingerprint == fingerprint:
        return Written.UNCHANGED
    counts, length = entry_terms(entry)
    values = {
        "kind": entry.kind.value, "question": entry.question, "also": list(entry.also),
        "answer_zh": entry.answer_zh, "answer_en": entry.answer_en,
        "intents": list(entry.intents), "tags": list(entry.tags),
        "valid_from": entry.valid_from, "valid_until": entry.valid_until,
        "handoff": entry.handoff, "length": length, "fingerprint": fingerprint,
    }
    written = Written.UPDATED
    if row is None:
        row = KbEntryRow(store=entry.store, key=entry.key, **values)
        session.add(row)
        written = Written.ADDED
    else:
        for name, value in values.items():
            setattr(row, name, value)
        session.execute(delete(KbTermRow).where(KbTermRow.entry_id == row.id))
    session.flush()
    session.add_all(KbTermRow(term=t, entry_id=row.id, tf=n) for t, n in counts.items())
    return written


def load_entries(session: Session, ids: Sequence[int]) -> dict[int, Entry]:
    """The entries of ``ids`` in one query, by id."""
    if not ids:
        return {}
    rows: Iterable[KbEntryRow] = session.scalars(
        select(KbEntryRow).where(KbEntryRow.id.in_(list(ids))))
    return {row.id: entry_from_row(row) for row in rows}


def reindex_stale(session: Session) -> int:
    """Index again every entry indexed by other rules than today's; how many were.

    Reads the rows in pages of 500 by id, so a large knowledge base is not
    held in memory at once.
    """
    done, last = 0, 0
    while True:
        rows = list(session.scalars(select(KbEntryRow).where(KbEntryRow.id > last)
                                    .order_by(KbEntryRow.id).limit(500)))
        if not rows:
            return done
        last = rows[-1].id
        for row in rows:
            if upsert_entry(session, entry_from_row(row)) is not Written.UNCHANGED:
                done += 1
