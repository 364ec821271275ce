"""KnowledgeBase: FAQ entries, reply templates, search and suggestions (``app.kb``).

::

    app.kb.import_file("faq.toml")                 # or app.kb.load_sample()
    for hit in app.kb.search("退款多久到账"):          # zh and en, typos, two-character queries
        print(hit.entry.key, hit.score)
    app.kb.render("refund-paid", {"order_id": "E1001", "refund_amount": "¥25.00"})
    app.kb.suggest(review_id=42)                   # drafts for a person; nothing is sent

Search ranks with BM25 over an index the knowledge base keeps itself
(:mod:`aftersales.kb.index`): the same results on SQLite and PostgreSQL.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aftersales.errors import ConfigurationError, NotFoundError, ValidationError
from aftersales.kb import files
from aftersales.kb.index import entry_filter, rank
from aftersales.kb.models import KEY_PATTERN, Entry, EntryKind, Hit, Suggestion
from aftersales.kb.repository import (
    Written,
    entry_from_row,
    load_entries,
    reindex_stale,
    upsert_entry,
)
from aftersales.kb.suggest import Subject, label_matches, review_subject, suggestion
from aftersales.kb.text import query_terms
from aftersales.store.locking import one_writer
from aftersales.store.tables.kb import KbEntryRow
from aftersales.templating import Template
from aftersales.times import aware

if TYPE_CHECKING:
    from aftersales.runtime import Runtime

__all__ = ["CaseFacts", "KnowledgeBase"]

log = logging.getLogger("aftersales.kb")

#: The longest store name an entry carries (its column's width).
_STORE_WIDTH = 80


def _one_writer(session: Session) -> None:
    """Let one transaction at a time write the knowledge base.

    Adding reads whether the entry exists and then inserts it or replaces its
    index: two imports at the same instant (two deploy hooks, two workers
    loading the sample) both inserted, and one failed on the unique key.
    """
    one_writer(session, "kb.entries")


def _checked_limit(limit: object, top: int) -> None:
    """Refuse a limit that is not a whole number from 1 to ``top`` (named)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= top:
        raise ValidationError(f"give 1 to {top}", field="limit")


def _checked_key(key: object) -> str:
    """``key`` when it is an entry key (as entries are added); else a ValidationError naming it.

    A key that cannot be one is refused before the query: a lone surrogate
    raised a bare ``UnicodeEncodeError``, a NUL failed on PostgreSQL, and a
    thousand characters came back whole in a "not found".
    """
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValidationError("a key is 1-80 of a-z, 0-9, '.', '_' and '-', starting with a "
                              "letter or digit", field="key")
    return key


def _checked_store(store: object) -> str:
    """``store`` when it is text a store column holds; else a ValidationError naming it."""
    if not isinstance(store, str) or len(store) > _STORE_WIDTH or "\x00" in store:
        raise ValidationError(f"must be text of at most {_STORE_WIDTH} characters without "
                              "NUL", field="store")
    try:
        store.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("is not valid Unicode (a lone surrogate)", field="store") from None
    return store


def _checked_kind(kind: EntryKind | str) -> EntryKind:
    try:
        return EntryKind(kind)
    except ValueError:
        raise ValidationError(f"one of {', '.join(k.value for k in EntryKind)}",
                              field="kind") from None

#: Given a case id, the facts suggestions rank by (the cases area supplies it).
CaseFacts = Callable[[str], Subject]
#: The longest query searched; longer text is cut (a review's whole body is fine).
MAX_QUERY = 2000


class KnowledgeBase:
    """The knowledge base: entries and templates, search, rendering and suggestions.

    Args:
        runtime: the store, clock and settings.
        case_facts: turns a case id into a :class:`~aftersales.kb.suggest.Subject`;
            without it, :meth:`suggest` takes review ids only.
    """

    def __init__(self, runtime: Runtime, *, case_facts: CaseFacts | None = None) -> None:
        self._runtime = runtime
        self._case_facts = case_facts

    # ---------------------------------------------------------------- entries

    def add(self, entry: Entry | Mapping[str, Any]) -> Written:
        """Add an entry, or replace the one with the same store and key.

        Returns:
            ``added``, ``updated``, or ``unchanged`` when it reads the same.

        Raises:
            ValidationError: a field is wrong (named), e.g. a template uses a
                variable that is not in :data:`~aftersales.kb.models.TEMPLATE_VARIABLES`.
        """
        if not isinstance(entry, Entry):
            entry = files.validate(dict(entry), where="entry")
        with self._runtime.unit_of_work() as session:
            _one_writer(session)
            return upsert_entry(session, entry)

    def get(self, key: str, *, store: str = "") -> Entry:
        """The entry called ``key`` (of ``store``; empty: the shared one).

        Raises:
            NotFoundError: there is none.
            ValidationError: ``key`` cannot be a key, or ``store`` a store (named).
        """
        key, store = _checked_key(key), _checked_store(store)
        with self._runtime.store.session() as session:
            row = session.scalars(select(KbEntryRow).where(
                KbEntryRow.store == store, KbEntryRow.key == key)).one_or_none()
            if row is None:
                raise NotFoundError("knowledge-base entry", key)
            return entry_from_row(row)

    def list(self, *, kind: EntryKind | str | None = None,
             store: str | None = None) -> list[Entry]:
        """Every entry (of ``kind``; of ``store`` and the shared ones), by store and key."""
        query = select(KbEntryRow).order_by(KbEntryRow.store, KbEntryRow.key)
        if kind is not None:
            query = query.where(KbEntryRow.kind == _checked_kind(kind).value)
        if store is not None:
            query = query.where(KbEntryRow.store.in_(["", _checked_store(store)]))
        with self._runtime.store.session() as session:
            return [entry_from_row(row) for row in session.scalars(query)]

    def remove(self, key: str, *, store: str = "") -> bool:
        """Delete the entry called ``key`` and its index; False if there was none.

        Raises:
            ValidationError: ``key`` cannot be a key, or ``store`` a store (named).
        """
        key, store = _checked_key(key), _checked_store(store)
        with self._runtime.unit_of_work() as session:
            # Queued behind a replacement: taking the entry between its read and its
            # write failed the replacement ("changed by someone else") on PostgreSQL.
            _one_writer(session)
            result = session.execute(delete(KbEntryRow).where(
                KbEntryRow.store == store, KbEntryRow.key == key))
            return bool(getattr(result, "rowcount", 0))

    def reindex(self) -> int:
        """Index again the entries indexed by older search rules, in one transaction.

        Search rules change between releases (:data:`~aftersales.kb.index.INDEX_VERSION`);
        run this once after an upgrade (``aftersales kb reindex``). Entries
        that are current are not touched.

        Returns:
            How many entries were indexed again.
        """
        with self._runtime.unit_of_work() as session:
            _one_writer(session)
            count = reindex_stale(session)
        log.info("knowledge base reindex: %d entries", count)
        return count

    # ---------------------------------------------------------------- files

    def import_file(self, path: str | Path) -> dict[str, int]:
        """Add or replace every entry of a TOML or CSV file, in one transaction.

        Returns:
            How many entries were ``added``, ``updated`` and ``unchanged``.

        Raises:
            ValidationError: the file or any entry in it is wrong (one line
                naming the entry and field); nothing is written then.
        """
        return self._write_all(files.read_entries(path))

    def load_sample(self) -> dict[str, int]:
        """Import the sample knowledge base shipped with the package (zh and en)."""
        sample = resources.files("aftersales.kb").joinpath("sample/kb.toml")
        with resources.as_file(sample) as path:
            return self.import_file(path)

    def _write_all(self, entries: Iterable[Entry]) -> dict[str, int]:
        counts = {w.value: 0 for w in Written}
        with self._runtime.unit_of_work() as session:
            _one_writer(session)
            for entry in entries:
                counts[upsert_entry(session, entry).value] += 1
        log.info("knowledge base import: %s", counts)
        return counts

    def export_file(self, path: str | Path, *, store: str | None = None) -> int:
        """Write every entry (of ``store`` and the shared ones) to a TOML or CSV file.

        Returns:
            How many entries were written.
        """
        return files.write_entries(path, self.list(store=store))

    # ---------------------------------------------------------------- search

    def search(self, query: str, *, store: str | None = None,
               kind: EntryKind | str | None = None, limit: int = 5,
               at: datetime | None = None) -> builtins.list[Hit]:
        """The entries that best answer ``query``, best first.

        Args:
            query: the buyer's words, in Chinese or English.
            store: also the entries of this store (the shared ones always).
            kind: only ``faq`` entries or only ``template``\\ s.
            limit: at most this many hits (1-100).
            at: only entries valid at this time (default: now).

        Raises:
            ValidationError: ``limit`` is out of range, ``kind`` is not a kind,
                ``store`` not a store or ``at`` naive (named).
        """
        _checked_limit(limit, 100)
        if not isinstance(query, str):
            raise ValidationError("must be text", field="query")
        where = entry_filter(store=_checked_store(store) if store is not None else None,
                             kind=_checked_kind(kind) if kind else None,
                             at=aware(at, "at") or self._runtime.now())
        with self._runtime.store.session() as session:
            text = query[:MAX_QUERY]
            ranked = rank(session, query_terms(text), where, limit, query=text)
            entries = load_entries(session, [i for i, _ in ranked])
        return [Hit(entry=entries[i], score=round(s, 6)) for i, s in ranked]

    # ---------------------------------------------------------------- replies

    def render(self, key: str, values: Mapping[str, Any], *, lang: str = "zh",
               store: str = "") -> str:
        """A template (or FAQ answer) filled with ``values`` by the safe templating.

        Raises:
            NotFoundError: no entry is called ``key``.
            ValidationError: a variable the template uses has no value (named).
        """
        entry = self.get(key, store=store)
        return Template(entry.answer(lang), name=f"template {key!r}").render(values)

    def suggest(self, case_id: str | None = None, *, review_id: int | None = None,
                limit: int = 5) -> builtins.list[Suggestion]:
        """Entries and templates ranked for a case or a review, with the rule's reasons.

        Nothing is sent: a suggestion is a draft for a person. See
        :mod:`aftersales.kb.suggest` for the scoring rule.

        Args:
            case_id: a case's id (needs the cases area).
            review_id: a stored review's id.
            limit: at most this many suggestions (1-50).

        Raises:
            ValidationError: neither or both ids are given, an id is not a whole
                number from 1 to 2**63 - 1, or ``limit`` is out of range.
            NotFoundError: no such case or review.
            ConfigurationError: a case id was given but no cases area is wired.
        """
        if (case_id is None) == (review_id is None):
            raise ValidationError("give a case id or a review id", field="case_id")
        _checked_limit(limit, 50)
        if review_id is not None:
            if isinstance(review_id, bool) or not isinstance(review_id, int) \
                    or not 1 <= review_id < 2**63:  # past the database's integers
                raise ValidationError("a whole number from 1 to 2**63 - 1", field="review_id")
            with self._runtime.store.session() as session:
                subject = review_subject(session, review_id)
        elif self._case_facts is None:
            raise ConfigurationError("suggestions for cases need the cases area")
        else:
            # int() reads "١٢" as case 12, and a lone surrogate came back in the error
            if isinstance(case_id, bool) or not isinstance(case_id, (int, str)) \
                    or not str(case_id).isascii():
                raise ValidationError("a whole number from 1 to 2**63 - 1", field="case_id")
            subject = self._case_facts(str(case_id))
        return self.suggest_for(subject, limit=limit)

    def suggest_for(self, subject: Subject, *, limit: int = 5) -> builtins.list[Suggestion]:
        """Suggestions for a subject built by the caller (see :meth:`suggest`)."""
        where = entry_filter(store=subject.store, kind=None, at=self._runtime.now())
        with self._runtime.store.session() as session:
            labelled = label_matches(session, subject)
            text = subject.text[:MAX_QUERY]
            by_text = rank(session, query_terms(text), where, 20, query=text)
            valid = set(session.scalars(select(KbEntryRow.id).where(
                KbEntryRow.id.in_(list(labelled)), where))) if labelled else set()
            ids = [i for i in labelled if i in valid] + [i for i, _ in by_text]
            entries = load_entries(session, list(dict.fromkeys(ids)))
        top = max((s for _, s in by_text), default=0.0) or 1.0
        text_scores = {i: s / top for i, s in by_text}
        out = [suggestion(entries[i], subject, labelled.get(i, set()) if i in valid else set(),
                          text_scores.get(i, 0.0)) for i in entries]
        out.sort(key=lambda s: (-s.score, s.entry.kind != EntryKind.FAQ, s.entry.key))
        return out[:limit]
