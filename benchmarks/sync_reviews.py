"""Review sync: the library against raw ``executemany`` of the same facts, and memory.

    python benchmarks/sync_reviews.py                          # 10,000 sandbox reviews
    AFTERSALES_BENCH_REVIEWS=100000 python benchmarks/sync_reviews.py --source factory
    python benchmarks/sync_reviews.py --db postgresql          # starts its own PostgreSQL
    python benchmarks/sync_reviews.py --db postgresql --dsn postgresql://user@host:5432/postgres
    AFTERSALES_BENCH_MEMORY=100000,1000000 python benchmarks/sync_reviews.py --no-speed
    python benchmarks/sync_reviews.py --classifier stars       # the store's share alone
    python benchmarks/sync_reviews.py --check-prepare 3000 --db postgresql  # the fast orders

On SQLite the floor is ``sqlite3`` ``executemany``; on PostgreSQL it is
``psycopg`` ``executemany`` (pipelined by psycopg), one transaction per page,
in the same process. Without ``--dsn`` the PostgreSQL runs start a cluster of
their own from the machine's binaries (as the ``postgres`` user when run as
root) and remove it afterwards.

Figures, each measured in this process against a baseline run in this process:

* ``app.reviews.sync`` over N reviews listed in pages, generated before the
  clock starts and replayed by the marketplace, so generating them is not
  timed. Their orders are stored first (not timed either: every run starts
  from a copy of one prepared database), so reviews link to their orders
  and parcels as in a real shop. ``--source sandbox`` (the default) lists
  the reviews of :class:`~aftersales.sandbox.SandboxMarketplace`, which
  plans its whole world up front (about three orders per review);
  ``--source factory`` builds them with a small factory here (one order per
  review, made like ``benchmarks/sync.py``'s; review texts, 追评, edits and
  replies from the sandbox's tables), fast enough for 100,000 and more,
  and stores their orders without the library (``sqlite3`` ``executemany``
  on SQLite, one ``COPY`` per table on PostgreSQL: the rows
  ``app.sync_orders`` stores, which ``--check-prepare K`` compares, as in
  ``benchmarks/sync_returns.py``; through ``app.sync_orders`` 100,000 orders
  took longer on PostgreSQL than a session had, by ``COPY`` 88 s on a loaded
  machine, generating them included);
* the same pages written with the per-review path reviews sync used before
  (ORM rows, ``tests/reviews/per_row_reference.py``), for the before/after
  figure, when run from a checkout (SQLite only; ``--no-before`` skips it);
* the floor: the same facts with ``executemany``, one transaction per
  page: per page one SELECT of the orders named (ids, buyers), each review
  classified by the same classifier and judged by the same per-review alert
  rules (negative, counterfeit), then INSERTs of the reviews, their first
  versions, the alerts, their events (``ON CONFLICT (key) DO NOTHING``) and
  the cursor. Converting reviews to rows, classifying them included, is
  inside the timing, as it is for the library. Target: the library within
  5x of it.

The classifier runs inside both. ``--classifier stars`` swaps it, in both,
for one that reads the stars alone (no text), so the figure is the store's
work alone; the default run also prints how long classifying the pages
takes by itself.

Other areas' after-commit hooks (the cases area opens a case per negative
review) are detached unless ``--hooks``: they are that area's work, timed by
its own benchmark. The spike rule is switched off in both (its history query has no
counterpart in the floor); the library still runs everything else it runs
in production (the page lock, link lookups, alert de-duplication).

Then peak memory (unless ``--no-memory``): a fresh process syncs N and then
M factory reviews (``--memory N,M``, default 2,000 and 20,000) generated page
by page as they are listed (nothing kept) into an empty database (no orders
stored: generating and storing a million orders first would take longer
than the sync; the link lookups still run, and find nothing). ``--probe rss``
(the default) takes the process's peak resident size (``ru_maxrss``,
interpreter, libraries and the loaded classifier included); ``--probe
tracemalloc`` the peak of Python's own allocations during the sync. Target:
the larger run's peak at most 1.3x the smaller's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aftersales.app import AfterSales
from aftersales.models import Page, Review, Sentiment
from aftersales.reviews._record import review_key, review_text
from aftersales.reviews.alerts import AlertConfig, AlertRule, ReviewSnapshot, review_alerts
from aftersales.reviews.blended import default_classifier
from aftersales.reviews.classify import Classification, Classifier, Severity
from aftersales.sandbox import SandboxMarketplace
from aftersales.sandbox._data import APPENDED_TEXTS, EDIT_SUFFIX, REVIEW_TEXTS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync import make_order
from sync import pages as order_pages
from sync_pages import (
    check_prepare,
    database_server,
    detach_batch_hooks,
    detach_hooks,
    high_water_mark,
    page_sync_arguments,
    reset_high_water_mark,
    save_cursor,
    sqlite_time,
    store_orders_fast,
    timing_header,
)

STORE = "sandbox"
RULES = AlertConfig(rules=frozenset({AlertRule.NEGATIVE, AlertRule.COUNTERFEIT,
                                     AlertRule.RATING_DROP}))
#: Sandbox reviews per order (about 0.37): orders generated for N reviews.
ORDERS_PER_REVIEW = 3
#: The factory's ratings, cycled: mostly good, one in five negative.
RATINGS = (5, 5, 4, 5, 3, 5, 4, 1, 5, 2)
FACTORY_NOW = datetime(2027, 6, 1, tzinfo=UTC)


class StarsOnly:
    """A classifier that reads the stars alone: ``--classifier stars`` (the store's share)."""

    def classify(self, text: str, *, rating: int | None = None) -> Classification:
        if rating is None or rating == 3:
            return Classification(Sentiment.NEUTRAL)
        if rating >= 4:
            return Classification(Sentiment.POSITIVE, score=1.0)
        return Classification(Sentiment.NEGATIVE, severity=Severity.MEDIUM, score=-1.0)


def generate(n: int, size: int) -> tuple[SandboxMarketplace, list[Page[Review]]]:
    """N sandbox reviews in pages of ``size`` (each review listed once, in listing order)."""
    shop = SandboxMarketplace(seed=1, orders=n * ORDERS_PER_REVIEW, page_size=size)
    reviews: list[Review] = []
    for page in shop.list_reviews():
        reviews.extend(page.items)
        if len(reviews) >= n:
            break
    if len(reviews) < n:
        sys.exit(f"the sandbox listed only {len(reviews)} reviews; raise ORDERS_PER_REVIEW")
    reviews = reviews[:n]
    return shop, [Page[Review](items=reviews[i : i + size], cursor=f"c{i}")
                  for i in range(0, n, size)]


def make_review(i: int) -> Review:
    """Review number ``i``, of factory order ``i``: deterministic, shaped like a sandbox one."""
    order = make_order(i)
    first = RATINGS[i % len(RATINGS)]
    edited = first <= 2 and i % 3 == 0  # the shop helped; the buyer raised the stars
    tone = (Sentiment.POSITIVE if first >= 4 else
            Sentiment.NEUTRAL if first == 3 else Sentiment.NEGATIVE)
    pool = [t for t in REVIEW_TEXTS if t[0] is tone]
    _, _, zh, en = pool[(i * 7) % len(pool)]
    english = i % 4 == 0
    body = (en if english else zh) + (EDIT_SUFFIX[1 if english else 0] if edited else "")
    created = order.placed_at + timedelta(days=4)
    appended = APPENDED_TEXTS[i % len(APPENDED_TEXTS)][1 if english else 0] \
        if i % 6 == 0 else None
    return Review(
        marketplace=STORE, external_id=f"RV{i + 1:08d}", rating=4 if edited else first,
        body=body, title=body.split(",")[0] if english else None,
        sku=order.lines[0].sku, order_id=order.external_id,
        order_line_id=order.lines[0].external_id, author=f"buyer{i % 9973}",
        created_at=created,
        updated_at=created + timedelta(days=3 if appended or edited else 0),
        appended_body=appended,
        appended_at=created + timedelta(days=3) if appended else None,
        reply="Thank you!" if i % 9 == 0 else None,
    )


def factory_pages(n: int, size: int) -> Iterator[Page[Review]]:
    """N factory reviews in pages of ``size``, generated as they are listed."""
    for start in range(0, n, size):
        items = [make_review(i) for i in range(start, min(n, start + size))]
        yield Page[Review](items=items, cursor=f"c{start}")


def make_app(url: str, shop: SandboxMarketplace, classifier: Classifier | None = None,
             clock: datetime | None = None) -> AfterSales:
    now = clock or shop.now
    return AfterSales(url, marketplaces=[shop], carriers=[], channels=[], migrate=False,
                      review_alerts=RULES, review_classifier=classifier, clock=lambda: now)


class Source:
    """Where the reviews come from, and the shop (with its orders) they belong to."""

    def __init__(self, kind: str, n: int, size: int) -> None:
        self.kind, self.n, self.size = kind, n, size
        if kind == "sandbox":
            self.shop, self.listed = generate(n, size)
            self.clock = self.shop.now
        else:
            self.shop = SandboxMarketplace(seed=1, orders=30)
            self.listed = list(factory_pages(n, size))
            self.clock = FACTORY_NOW

    def app(self, url: str, classifier: Classifier | None = None) -> AfterSales:
        return make_app(url, self.shop, classifier, self.clock)

    def store_orders(self, url: str) -> None:
        """The orders the reviews belong to, synced into an empty database."""
        app = self.app(url)
        app.store.create_all()
        if self.kind == "factory":  # without the library: see --check-prepare
            app.close()
            store_orders_fast(url, order_pages(self.n, self.size), STORE)
            return
        app.sync_orders(STORE)
        app.close()


class Backend:
    """Where the runs write: SQLite files in a folder, or databases on one PostgreSQL server.

    Every speed run starts from a copy of one prepared database (a file copy,
    or ``CREATE DATABASE ... TEMPLATE``).
    """

    def __init__(self, tmp: Path, server: str | None) -> None:
        self.tmp, self.server = tmp, server
        self.name = "PostgreSQL" if server else "SQLite"
        self.floor = "psycopg executemany" if server else "raw sqlite3 executemany"

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(sql))
        admin.dispose()

    def url(self, name: str) -> str:
        return f"{self.server}/{name}" if self.server else f"sqlite:///{self.tmp / name}.db"

    def empty(self, name: str) -> str:
        """A new database with no tables; its SQLAlchemy URL."""
        self.drop(name)
        if self.server:
            self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy(self, template: str, name: str) -> str:
        """A copy of the database ``template``; its SQLAlchemy URL."""
        self.drop(name)
        if self.server:
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            shutil.copy(self.tmp / f"{template}.db", self.tmp / f"{name}.db")
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.server:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            for p in self.tmp.glob(f"{name}.db*"):
                p.unlink()

    def raw(self, url: str, listed: list[Page[Review]], classifier: Classifier) -> float:
        if self.server:
            return run_raw_pg(url, listed, classifier)
        return run_raw(Path(url.removeprefix("sqlite:///")), listed, classifier)


def run_library(url: str, source: Source, classifier: Classifier, before: bool = False,
                hooks: bool = False) -> tuple[float, int]:
    app = source.app(url, classifier)
    _ = app.reviews  # the classifier loads before the clock starts, as the floor's does
    if not hooks:  # after the services are built: building them attaches their hooks
        detach_hooks(app)
        detach_batch_hooks(app)
    listed = source.listed
    app.marketplace(STORE).list_reviews = lambda cursor=None: iter(listed)  # type: ignore[method-assign]
    patch: AbstractContextManager[Any] = nullcontext()
    if before:
        from unittest import mock

        import aftersales.reviews.service as service
        from tests.reviews import per_row_reference

        patch = mock.patch.object(service, "record_page", per_row_reference.record_page)
    with patch:
        t = time.perf_counter()
        changed = app.reviews.sync(STORE)[STORE]
        elapsed = time.perf_counter() - t
    app.close()
    return elapsed, changed


Rows = list[tuple[object, ...]]
Stamp = Callable[[datetime | None], object]


def _page_rows(page: Page[Review], orders: dict[str, tuple[int, str]], ids: list[int],
               classifier: Classifier, now: object, stamp: Stamp,
               ) -> tuple[Rows, Rows, Rows, Rows]:
    """The floor's rows for one page (``ids``: the last review and alert ids, moved on)."""
    rows: Rows = []
    versions: Rows = []
    alerts: Rows = []
    events: Rows = []
    for r in page.items:
        ids[0] += 1
        review_id = ids[0]
        verdict = classifier.classify(review_text(r.title, r.body, r.appended_body),
                                      rating=r.rating)
        order = orders.get(r.order_id or "")
        rows.append((review_id, STORE, r.external_id, r.sku, r.order_id,
                     r.order_line_id, order[0] if order else None, r.return_id,
                     r.tracking_number, r.rating, r.author, r.title, r.body,
                     r.appended_body, verdict.sentiment.value,
                     json.dumps(list(verdict.topics)),
                     json.dumps(list(verdict.complaints)), int(verdict.severity),
                     verdict.score, r.reply is not None, stamp(r.created_at),
                     stamp(r.updated_at), now, now))
        data = {**r.model_dump(mode="json"),
                "classification": {"topics": list(verdict.topics),
                                   "complaints": list(verdict.complaints),
                                   "severity": int(verdict.severity),
                                   "score": verdict.score}}
        content = json.dumps([r.rating, r.title, r.body, r.appended_body, r.reply],
                             ensure_ascii=False, separators=(",", ":"))
        fingerprint = hashlib.sha256(content.encode()).hexdigest()
        versions.append((review_id, fingerprint, r.rating, verdict.sentiment.value,
                         json.dumps(data), now))
        key = review_key(STORE, r.external_id)
        snap = ReviewSnapshot(key, r.sku, r.rating, Sentiment(verdict.sentiment),
                              tuple(verdict.complaints), verdict.severity, r.updated_at,
                              review_text(r.title, r.body, r.appended_body))
        for draft in review_alerts(snap, None, RULES):
            ids[1] += 1
            alerts.append((ids[1], draft.rule.value, draft.subject, review_id, STORE,
                           draft.sku, int(draft.severity), draft.message,
                           json.dumps(draft.data), stamp(r.updated_at), now))
            payload = {"marketplace": STORE, "review_id": review_id,
                       "external_id": r.external_id, "sku": r.sku,
                       "rating": r.rating, "sentiment": verdict.sentiment.value,
                       "topics": list(verdict.topics), "order_id": r.order_id,
                       "buyer_id": order[1] if order else None, "rma_id": None,
                       "alert_id": ids[1], "rule": draft.rule.value,
                       "severity": int(draft.severity), "message": draft.message}
            events.append((f"{draft.rule.event}:{draft.subject}", draft.rule.event,
                           json.dumps(payload), str(review_id), now))
    return rows, versions, alerts, events


_INSERT_REVIEWS = (
    "INSERT INTO reviews (id, marketplace, external_id, sku, order_external_id,"
    " order_line_external_id, order_id, return_external_id, tracking_number,"
    " rating, author, title, body, appended_body, sentiment, topics, complaints,"
    " severity, score, replied, remote_created_at, remote_updated_at,"
    " current_version, created_at, updated_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?)")
_INSERT_VERSIONS = (
    "INSERT INTO review_versions (review_id, version, fingerprint, rating,"
    " sentiment, data, seen_at) VALUES (?,1,?,?,?,?,?)")
_INSERT_ALERTS = (
    "INSERT INTO review_alerts (id, rule, subject, review_id, marketplace, sku,"
    " severity, message, data, occurred_at, created_at, delivered_to, attempts)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,'[]',0)")
_INSERT_EVENTS = (
    "INSERT INTO outbox (key, topic, event_type, aggregate_type, payload,"
    f" aggregate_id, store, created_at) VALUES (?,'event',?,'review',?,?,'{STORE}',?)"
    " ON CONFLICT (key) DO NOTHING")
_SELECT_ORDERS = ("SELECT id, external_id, buyer_id FROM orders WHERE marketplace = ?"
                  " AND external_id IN ({marks})")


def run_raw(db: Path, listed: list[Page[Review]], classifier: Classifier) -> float:
    """The floor: the same facts with sqlite3 executemany, one transaction per page."""
    t = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    ids = [con.execute("SELECT coalesce(max(id), 0) FROM reviews").fetchone()[0],
           con.execute("SELECT coalesce(max(id), 0) FROM review_alerts").fetchone()[0]]
    for page in listed:
        now = sqlite_time(datetime.now(UTC))
        with con:
            wanted = sorted({r.order_id for r in page.items if r.order_id})
            orders = {ext: (oid, buyer) for oid, ext, buyer in con.execute(
                _SELECT_ORDERS.format(marks=",".join("?" * len(wanted))), [STORE, *wanted])}
            rows, versions, alerts, events = _page_rows(page, orders, ids, classifier, now,
                                                        sqlite_time)
            con.executemany(_INSERT_REVIEWS, rows)
            con.executemany(_INSERT_VERSIONS, versions)
            con.executemany(_INSERT_ALERTS, alerts)
            con.executemany(_INSERT_EVENTS, events)
            save_cursor(con, STORE, "reviews", page.cursor, now)
    con.close()
    return time.perf_counter() - t


def run_raw_pg(url: str, listed: list[Page[Review]], classifier: Classifier) -> float:
    """The PostgreSQL floor: the same facts with psycopg executemany, one transaction per page."""
    import psycopg

    def pg(sql: str) -> str:
        return sql.replace("?", "%s")

    t = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        ids: list[int] = [
            con.execute("SELECT coalesce(max(id), 0) FROM reviews").fetchone()[0],  # type: ignore[index]
            con.execute("SELECT coalesce(max(id), 0) FROM review_alerts").fetchone()[0],  # type: ignore[index]
        ]
        con.commit()
        for page in listed:
            now = datetime.now(UTC)
            with con.transaction(), con.cursor() as cur:
                wanted = sorted({r.order_id for r in page.items if r.order_id})
                cur.execute("SELECT id, external_id, buyer_id FROM orders"
                            " WHERE marketplace = %s AND external_id = ANY(%s)", (STORE, wanted))
                orders = {ext: (oid, buyer) for oid, ext, buyer in cur.fetchall()}
                rows, versions, alerts, events = _page_rows(page, orders, ids, classifier, now,
                                                            lambda v: v)
                cur.executemany(pg(_INSERT_REVIEWS), rows)
                cur.executemany(pg(_INSERT_VERSIONS), versions)
                cur.executemany(pg(_INSERT_ALERTS), alerts)
                cur.executemany(pg(_INSERT_EVENTS), events)
                cur.execute(
                    "INSERT INTO sync_cursors (source, stream, cursor, updated_at)"
                    " VALUES (%s, 'reviews', %s, %s) ON CONFLICT (source, stream)"
                    " DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                    (STORE, page.cursor, now))
    return time.perf_counter() - t


def pick_classifier(name: str) -> Classifier:
    return StarsOnly() if name == "stars" else default_classifier()


def speed(args: argparse.Namespace, backend: Backend) -> None:
    """Time the library, the floor and (once) the per-review path on the same pages."""
    n = args.count
    t = time.perf_counter()
    source = Source(args.source, n, args.page)  # generated before any clock starts
    print(f"generated {n:,} {args.source} reviews in {time.perf_counter() - t:.1f} s"
          f" (not timed)")
    classifier = pick_classifier(args.classifier)
    t = time.perf_counter()
    for page in source.listed:
        for r in page.items:
            classifier.classify(review_text(r.title, r.body, r.appended_body), rating=r.rating)
    classify = time.perf_counter() - t
    t = time.perf_counter()
    template = "rv_template"
    source.store_orders(backend.empty(template))
    print(f"stored their orders in {time.perf_counter() - t:.1f} s (not timed)")
    runs: dict[str, list[tuple[float, int]]] = {"ours": [], "raw": [], "before": []}
    with_before = (not args.no_before and not backend.server
                   and Path("tests/reviews").is_dir())
    # Interleaved, best of --repeat: other work on the machine only ever slows a run down.
    for i in range(args.repeat):
        url = backend.copy(template, f"rv_ours{i}")
        runs["ours"].append(run_library(url, source, classifier, hooks=args.hooks))
        backend.drop(f"rv_ours{i}")
        url = backend.copy(template, f"rv_raw{i}")
        runs["raw"].append((backend.raw(url, source.listed, classifier), n))
        backend.drop(f"rv_raw{i}")
        if with_before and i == 0:
            url = backend.copy(template, f"rv_before{i}")
            runs["before"].append(run_library(url, source, classifier, before=True,
                                              hooks=args.hooks))
            backend.drop(f"rv_before{i}")
    backend.drop(template)
    for _, changed in runs["ours"] + runs["before"]:
        assert changed == n, changed
    ours = min(r[0] for r in runs["ours"])
    raw = min(r[0] for r in runs["raw"])
    print(timing_header("review", n, f"{args.source} reviews", args.page, args.repeat,
                        args.hooks, backend.name)
          + f"; classifier: {args.classifier}")
    print(f"  aftersales reviews.sync : {ours:7.2f} s  {n / ours:9,.0f} reviews/s"
          f"   -> {ours / raw:.2f}x the floor (target <= 5x)")
    if runs["before"]:
        before = runs["before"][0][0]
        print(f"  per-review path (before): {before:7.2f} s  {n / before:9,.0f} reviews/s"
              f"   -> {before / raw:.2f}x the floor (one run)")
    print(f"  floor, {backend.floor:<17}: {raw:7.2f} s  {n / raw:9,.0f} reviews/s")
    print(f"  of which classifying    : {classify:7.2f} s (the same classifier in both;"
          f" without it: {(ours - classify) / max(raw - classify, 1e-9):.2f}x)")


def child_memory(url: str, n: int, size: int, probe: str) -> None:
    """Inside a fresh process: sync N factory reviews generated page by page; print the peak."""
    import resource

    app = make_app(url, SandboxMarketplace(seed=1, orders=30), clock=FACTORY_NOW)
    _ = app.reviews  # the classifier loaded before the size is taken
    detach_hooks(app)
    detach_batch_hooks(app)
    app.marketplace(STORE).list_reviews = (  # type: ignore[method-assign]
        lambda cursor=None: factory_pages(n, size))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hwm = reset_high_water_mark()
    if probe == "tracemalloc":
        tracemalloc.start()
    t = time.perf_counter()
    changed = app.reviews.sync(STORE)[STORE]
    elapsed = time.perf_counter() - t
    if probe == "tracemalloc":
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_mib = peak / 2**20
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    during = high_water_mark() if hwm else None
    app.close()
    print(json.dumps({"peak_mib": peak_mib, "before_mib": before, "seconds": elapsed,
                      "changed": changed, "during_mib": during}))


def memory(backend: Backend, n: int, size: int, probe: str) -> dict[str, Any]:
    name = f"rv_mem{n}"
    url = backend.empty(name)
    app = make_app(url, SandboxMarketplace(seed=1, orders=30), clock=FACTORY_NOW)
    app.store.create_all()
    app.close()
    out = subprocess.run([sys.executable, __file__, "--child", "--url", url, "--reviews", str(n),
                          "--page", str(size), "--probe", probe],
                         capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["changed"] == n, data
    backend.drop(name)
    return data


def memory_runs(args: argparse.Namespace, backend: Backend) -> None:
    small, large = (int(x) for x in args.memory.split(","))
    a = memory(backend, small, args.page, args.probe)
    b = memory(backend, large, args.page, args.probe)
    what = ("tracemalloc peak during the sync" if args.probe == "tracemalloc"
            else "peak RSS (ru_maxrss) of the process")
    print(f"  memory on {backend.name}, {what}: {a['peak_mib']:.1f} MiB at {small:,} "
          f"(sync {a['seconds']:.0f} s), {b['peak_mib']:.1f} MiB at {large:,} "
          f"(sync {b['seconds']:.0f} s) -> {b['peak_mib'] / a['peak_mib']:.2f}x"
          f" (target <= 1.3x)")
    if args.probe == "rss":
        grow_a, grow_b = a["peak_mib"] - a["before_mib"], b["peak_mib"] - b["before_mib"]
        print(f"    growth over the size before the sync: {grow_a:.1f} MiB at {small:,}, "
              f"{grow_b:.1f} MiB at {large:,}")
        if a.get("during_mib") and b.get("during_mib"):
            # The process's peak may be the classifier's loading, before the sync began:
            # this one is the peak resident size during the sync alone.
            print(f"    peak RSS during the sync alone (VmHWM reset when it starts): "
                  f"{a['during_mib']:.1f} MiB at {small:,}, {b['during_mib']:.1f} MiB at "
                  f"{large:,} -> {b['during_mib'] / a['during_mib']:.2f}x (target <= 1.3x)")


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=["sandbox", "factory"],
                        default=os.environ.get("AFTERSALES_BENCH_REVIEW_SOURCE", "sandbox"),
                        help="where the timed reviews come from")
    parser.add_argument("--classifier", choices=["default", "stars"], default="default",
                        help="the packaged classifier, or the stars alone (in both)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--dsn", help="a PostgreSQL server to use instead of starting one"
                                      " (its databases are created and dropped here)")
    parser.add_argument("--memory", default=os.environ.get("AFTERSALES_BENCH_MEMORY",
                                                           "2000,20000"),
                        help="two review counts for the memory runs (comma-separated)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-speed", action="store_true", help="only the memory runs")
    parser.add_argument("--probe", choices=["rss", "tracemalloc"],
                        default=os.environ.get("AFTERSALES_BENCH_MEMORY_PROBE", "rss"),
                        help="how the memory runs measure their peak")
    parser.add_argument("--check-prepare", type=int, metavar="K",
                        help="compare K factory orders stored by the fast path and by"
                             " app.sync_orders, then exit")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)


def bench(args: argparse.Namespace, backend: Backend) -> None:
    if not args.no_speed:
        speed(args, backend)
    if not args.no_memory:
        memory_runs(args, backend)


def main() -> None:
    args = page_sync_arguments(__doc__, "reviews", "AFTERSALES_BENCH_REVIEWS", options)
    if args.child:
        child_memory(args.url, args.count, args.page, args.probe)
        return
    with database_server(args, "bench-sync-reviews-") as (tmp, server):
        if args.check_prepare:
            sys.exit(check_prepare(args.check_prepare, args.page, tmp, server))
        bench(args, Backend(tmp, server))


if __name__ == "__main__":
    main()
