"""Knowledge-base search: which approach finds the right answer, measured on buyers' questions.

    python benchmarks/kb_search.py                       # SQLite
    python benchmarks/kb_search.py --postgres URL        # and PostgreSQL (pg_trgm, FTS too)
    python benchmarks/kb_search.py --no-timing           # the quality figures only

On three sets of buyers' questions against the shipped sample knowledge base:
``tests/kb/questions.csv`` (100 questions written with the sample, partly
tuned on) and ``tests/kb/heldout_questions.csv`` (132 questions written from
the entries' ids and intents only, before their wording was read: the
independent figure) and ``tests/kb/fresh_questions.csv`` (50 more, written
after the folding rules were chosen from the held-out set's misses, measured
untuned), each approach's share of questions whose right entry
(any of the ``|``-separated ones a question names) is in its top 3 (and top 1):

* ``LIKE`` on the whole question, and ``LIKE`` per word, ranked by words matched;
* SQLite FTS5 with the trigram tokenizer (every 3-character piece of the
  query OR-ed, ranked by FTS5's bm25): nothing under 3 characters matches;
* PostgreSQL ``pg_trgm`` ``word_similarity`` and full-text search with the
  ``simple`` configuration (``--postgres``; pg_trgm only if the extension can
  be created there);
* the knowledge base's own index (``app.kb.search``), and the same without
  each of its parts (bigrams, single characters, word trigrams, synonyms).

Then the time per query of the knowledge base's search against ``LIKE`` per
word on the sample grown to about 5,000 entries, as a ratio.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import or_, select, text

import aftersales.kb.text as kbtext
from aftersales.config import AfterSalesSettings
from aftersales.kb import Entry, KnowledgeBase
from aftersales.kb.repository import upsert_entry
from aftersales.runtime import Runtime
from aftersales.store import Store
from aftersales.store.tables.kb import KbEntryRow

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TESTS = Path(__file__).resolve().parents[1] / "tests" / "kb"
#: Each set of questions, and the time it is asked at. The held-out set is
#: asked on 11 November, when every sample entry is valid (the Double Eleven
#: pre-sale entry only is, from 20 October to 20 November), as LIKE, FTS5 and
#: pg_trgm, which know no validity, search them all; the other set keeps the
#: date it was written for.
QUESTION_SETS = {
    "held-out": (TESTS / "heldout_questions.csv", datetime(2026, 11, 11, 4, tzinfo=UTC)),
    "fresh, held-out after the folding rules": (
        TESTS / "fresh_questions.csv", datetime(2026, 11, 11, 4, tzinfo=UTC)),
    "written with the sample": (TESTS / "questions.csv", NOW),
}
Search = Callable[[str], list[str]]
Questions = list[tuple[str, frozenset[str]]]


def _questions(path: Path) -> Questions:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(r["query"], frozenset(r["expected"].split("|"))) for r in csv.DictReader(fh)]


def _score(search: Search, questions: Questions) -> tuple[float, float]:
    top3 = top1 = 0
    for query, expected in questions:
        keys = search(query)[:3]
        top3 += bool(expected.intersection(keys))
        top1 += bool(keys) and keys[0] in expected
    return top3 / len(questions), top1 / len(questions)


def _doc(e: Entry) -> str:
    return " ".join([e.question, *e.also, e.answer_zh, e.answer_en])


def _like(store: Store, *, per_word: bool) -> Search:
    fields = (KbEntryRow.question, KbEntryRow.answer_zh, KbEntryRow.answer_en)

    def search(query: str) -> list[str]:
        words = [w for w in re.split(r"[\s,.!?，。！？]+", query) if w] if per_word else [query]
        counts: dict[str, int] = {}
        with store.session() as s:
            for w in words:
                for key in s.scalars(select(KbEntryRow.key).where(
                        KbEntryRow.kind == "faq", or_(*(f.ilike(f"%{w}%") for f in fields)))
                        .order_by(KbEntryRow.id)):
                    counts[key] = counts.get(key, 0) + 1
        return sorted(counts, key=lambda k: -counts[k])[:3]

    return search


def _fts5(store: Store, entries: list[Entry]) -> Search:
    with store.engine.begin() as c:
        c.exec_driver_sql("CREATE VIRTUAL TABLE kb_fts USING fts5(key UNINDEXED, body, "
                          "tokenize='trigram')")
        for e in entries:
            if e.kind.value == "faq":
                c.exec_driver_sql("INSERT INTO kb_fts(key, body) VALUES (?, ?)",
                                  (e.key, _doc(e)))

    def search(query: str) -> list[str]:
        q = kbtext.normalize(query)
        grams = {q[i:i + 3] for i in range(len(q) - 2) if not q[i:i + 3].isspace()}
        if not grams:
            return []
        match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
        with store.engine.connect() as c:
            rows = c.exec_driver_sql("SELECT key FROM kb_fts WHERE kb_fts MATCH ? "
                                     "ORDER BY bm25(kb_fts) LIMIT 3", (match,)).all()
        return [r[0] for r in rows]

    return search


def _postgres(store: Store, entries: list[Entry]) -> dict[str, Search]:
    out: dict[str, Search] = {}
    with store.engine.begin() as c:
        c.execute(text("CREATE TABLE kb_docs (key text, body text)"))
        for e in entries:
            if e.kind.value == "faq":
                c.execute(text("INSERT INTO kb_docs VALUES (:k, :b)"),
                          {"k": e.key, "b": kbtext.normalize(_doc(e))})
    try:
        with store.engine.begin() as c:
            c.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))

        def trgm(query: str) -> list[str]:
            with store.engine.connect() as c:
                rows = c.execute(text("SELECT key FROM kb_docs ORDER BY "
                                      "word_similarity(:q, body) DESC, key LIMIT 3"),
                                 {"q": kbtext.normalize(query)}).all()
            return [r[0] for r in rows]

        out["PostgreSQL pg_trgm word_similarity"] = trgm
    except Exception as exc:  # the extension may not be installable there
        print(f"pg_trgm not available: {type(exc).__name__}", file=sys.stderr)

    def fts(query: str) -> list[str]:
        words = [w for w in re.split(r"\W+", kbtext.normalize(query)) if w]
        if not words:
            return []
        tsq = " | ".join(f"'{w}'" for w in (w.replace("'", "") for w in words) if w)
        with store.engine.connect() as c:
            rows = c.execute(text(
                "SELECT key FROM kb_docs WHERE to_tsvector('simple', body) @@ "
                "to_tsquery('simple', :q) ORDER BY ts_rank(to_tsvector('simple', body), "
                "to_tsquery('simple', :q)) DESC, key LIMIT 3"), {"q": tsq}).all()
        return [r[0] for r in rows]

    out["PostgreSQL full-text search ('simple')"] = fts
    return out


def _ours(kb: KnowledgeBase, at: datetime = NOW) -> Search:
    return lambda q: [h.entry.key for h in kb.search(q, kind="faq", limit=3, at=at)]


def _ablations(kb: KnowledgeBase, at: datetime) -> dict[str, Search]:
    def without(**weights: float) -> Search:
        def search(query: str) -> list[str]:
            saved = dict(kbtext.KIND_WEIGHTS), kbtext.SYNONYM_WEIGHT
            kbtext.KIND_WEIGHTS = {**saved[0], **{k: v for k, v in weights.items() if k != "s"}}
            kbtext.SYNONYM_WEIGHT = weights.get("s", saved[1])
            try:
                return _ours(kb, at)(query)
            finally:
                kbtext.KIND_WEIGHTS, kbtext.SYNONYM_WEIGHT = saved
        return search

    return {"  without Chinese bigrams": without(b=0.0),
            "  without single Chinese characters": without(c=0.0),
            "  without word trigrams (typos)": without(g=0.0),
            "  without synonyms": without(s=0.0)}


def _per_query_ms(search: Search, questions: Questions) -> float:
    start = time.perf_counter()
    for query, _ in questions:
        search(query)
    return (time.perf_counter() - start) * 1000 / len(questions)


def run(url: str, *, timing: bool = True) -> None:
    """Measure every approach on the database at ``url`` (it is written to)."""
    store = Store(url)
    store.upgrade()
    runtime = Runtime(store, AfterSalesSettings.load(), clock=lambda: NOW)
    kb = KnowledgeBase(runtime)
    kb.load_sample()
    entries = kb.list()
    methods: dict[str, Search] = {
        "LIKE on the whole question": _like(store, per_word=False),
        "LIKE per word": _like(store, per_word=True),
    }
    if store.dialect == "sqlite":
        methods["SQLite FTS5 trigram"] = _fts5(store, entries)
    else:
        methods.update(_postgres(store, entries))
    ours = "knowledge base (BM25, own index)"
    for set_name, (path, at) in QUESTION_SETS.items():
        questions = _questions(path)
        print(f"\n{store.dialect}: top-3 / top-1 on {len(questions)} buyer questions "
              f"({set_name}, {path.name}, at {at:%Y-%m-%d})")
        for name, search in {**methods, ours: _ours(kb, at), **_ablations(kb, at)}.items():
            top3, top1 = _score(search, questions)
            print(f"  {name:<42} {top3:6.1%} {top1:6.1%}")
    methods[ours] = _ours(kb)
    if not timing:
        store.dispose()
        return
    questions = [q for path, _ in QUESTION_SETS.values() for q in _questions(path)]
    grown = [e.model_copy(update={"key": f"{e.key}-{i}"}) for i in range(100) for e in entries]
    with runtime.unit_of_work() as session:
        for e in grown:
            upsert_entry(session, e)
    like_ms = _per_query_ms(methods["LIKE per word"], questions)
    ours_ms = _per_query_ms(methods["knowledge base (BM25, own index)"], questions)
    print(f"  with {len(entries) + len(grown)} entries: knowledge base {ours_ms:.1f} ms/query, "
          f"LIKE per word {like_ms:.1f} ms/query (ratio {ours_ms / like_ms:.2f})")
    store.dispose()


def main() -> None:
    """Run on a fresh SQLite file, and on PostgreSQL when ``--postgres URL`` is given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="an empty PostgreSQL database's URL")
    parser.add_argument("--no-timing", action="store_true",
                        help="only the search quality, not the time on 5,000 entries")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/kb.db", timing=not args.no_timing)
    if args.postgres:
        run(args.postgres, timing=not args.no_timing)


if __name__ == "__main__":
    main()
